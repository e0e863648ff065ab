package dev.drkit.examples.drill;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.DrKit;
import dev.drkit.VerifyLevel;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;

/** Corrupting a backup on purpose, and finding the good one to fall back to: the drill's corrupted-backup scenarios. */
final class Sabotage {
    private Sabotage() {}

    /** Flips a byte in the middle of the backup's largest stored artifact, in the drill's own local repository. */
    static void flipByte(Path repository, BackupManifest m) throws IOException {
        ArtifactInfo a = m.artifacts().stream()
                .max(Comparator.comparingLong(ArtifactInfo::storedSize))
                .orElseThrow();
        Path object = repository
                .resolve("backups")
                .resolve(m.target())
                .resolve(m.id())
                .resolve(a.storedName());
        if (!Files.exists(object)) {
            throw new IllegalStateException("the drill corrupts backups in its own local repository only: " + object);
        }
        try (RandomAccessFile f = new RandomAccessFile(object.toFile(), "rw")) {
            long at = f.length() / 2;
            f.seek(at);
            int b = f.read();
            f.seek(at);
            f.write(b ^ 0xff);
        }
    }

    /** The newest backup of {@code target} other than {@code corruptId} that passes verification at level decode. */
    static BackupManifest previousGood(DrKit kit, String target, String corruptId) {
        List<BackupManifest> all = new ArrayList<>(kit.list(target));
        all.sort(Comparator.comparing(BackupManifest::startedAt).reversed());
        for (BackupManifest m : all) {
            if (!m.id().equals(corruptId)
                    && kit.verify(target, m.id(), VerifyLevel.DECODE).passed()) {
                return m;
            }
        }
        throw new IllegalStateException("no good backup of " + target + " left to fall back to");
    }
}
