package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.RestoreContext;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restore with stage-wal copies the backup's WAL (the cluster's data in plain text) to
 * DEST.drkit-wal beside the data directory, which stays until someone removes it. It must be as
 * private as the data directory (0700 / 0600), not made with the umask's modes (0755 / 0644).
 */
class StagedWalPermissionsTest {
    @TempDir
    Path dir;

    @Test
    void stagedWalIsPrivate() throws Exception {
        long size = WalPrefetchTest.SIZE;
        long systemId = WalPrefetchTest.SYSTEM_ID;
        Path dataDir = Files.createDirectories(dir.resolve("data/global")).getParent();
        Files.write(
                dataDir.resolve("global/pg_control"),
                ByteBuffer.allocate(16)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(systemId)
                        .array());
        String segment = new WalSegment(1, 3, size).name();
        try (DrKit kit =
                DrKit.builder().repository(dir.resolve("repo").toString()).build()) {
            FileArchive archive = kit.archive(WalArchive.AREA);
            Path pgWal = Files.createDirectories(dir.resolve("pg_wal")).resolve(segment);
            Files.write(pgWal, WalPrefetchTest.segmentBytes(1, 3, systemId, 0));
            new WalArchive(archive).push(pgWal, dataDir);

            BackupManifest manifest = new BackupManifest(
                    2,
                    "b1",
                    "pg",
                    "postgres-physical",
                    "full",
                    null,
                    List.of(),
                    Instant.EPOCH,
                    Instant.EPOCH,
                    "test",
                    "host",
                    List.<ArtifactInfo>of(),
                    Map.of("systemIdentifier", String.valueOf(systemId), "walStart", segment));
            RestoreContext context = new RestoreContext() {
                @Override
                public BackupManifest manifest() {
                    return manifest;
                }

                @Override
                public InputStream openArtifact(String name) {
                    throw new UnsupportedOperationException();
                }

                @Override
                public InputStream openArtifact(String backupId, String name) {
                    throw new UnsupportedOperationException();
                }

                @Override
                public FileArchive archive(String area) {
                    return archive;
                }

                @Override
                public Settings options() {
                    return Settings.empty();
                }

                @Override
                public boolean force() {
                    return false;
                }
            };
            Path stage = dir.resolve("restored.drkit-wal");
            PhysicalRestore.stageWal(context, dataDir, stage, WalArchive.LATEST);

            assertThat(stage.resolve(segment)).as("the staged segment").exists();
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(stage, LinkOption.NOFOLLOW_LINKS)))
                    .as("mode of the staged WAL's directory")
                    .isEqualTo("rwx------");
            assertThat(PosixFilePermissions.toString(
                            Files.getPosixFilePermissions(stage.resolve(segment), LinkOption.NOFOLLOW_LINKS)))
                    .as("mode of a staged segment")
                    .isEqualTo("rw-------");
        }
    }
}
