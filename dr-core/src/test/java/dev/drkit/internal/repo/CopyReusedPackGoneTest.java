package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.StorageException;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.spi.StorageBackend;
import dev.drkit.storage.FileStorageBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A copy moves only the chunks the destination lacks and refers to the rest where they are; a
 * chunk garbage collection in the destination that did not see the copy's lock (its lease
 * lapsed while storage failed, or the hosts' clocks disagree) may remove such a pack while the
 * copy runs. As a backup does, the copy then fails instead of writing a manifest for a backup
 * that cannot be restored there.
 */
class CopyReusedPackGoneTest {
    private static final StreamCodecs ZSTD = new StreamCodecs(Compression.ZSTD, 3, 2);

    @TempDir
    Path dir;

    private static List<Path> packs(Path root) throws IOException {
        try (Stream<Path> s = Files.list(root.resolve(ChunkStore.PACKS))) {
            return s.filter(p -> p.toString().endsWith(ChunkStore.PACK_SUFFIX)).toList();
        }
    }

    @Test
    void aCopyWhoseReusedPackInTheDestinationWentWhileItRanWritesNoManifest() throws IOException {
        Path sourceRoot = dir.resolve("source");
        Path destRoot = dir.resolve("dest");
        Repository source = Repository.open(new FileStorageBackend(sourceRoot), Instant.now());
        source.initialise();
        Instant at = Instant.parse("2026-12-01T00:00:00Z");
        byte[] first = ChunkedArtifactTest.data(51, 3 << 20);
        byte[] more = ChunkedArtifactTest.data(52, 3 << 20);
        byte[] both = new byte[first.length + more.length];
        System.arraycopy(first, 0, both, 0, first.length);
        System.arraycopy(more, 0, both, first.length, more.length);
        ChunkedArtifactTest.Stored a = ChunkedArtifactTest.store(source, at, ZSTD, first);
        source.writeManifest(a.manifest(), null);
        Repository dest = Repository.open(new FileStorageBackend(destRoot), Instant.now());
        dest.initialise();
        dest.copyFrom(source, a.manifest());
        ChunkedArtifactTest.Stored b = ChunkedArtifactTest.store(source, at.plusSeconds(60), ZSTD, both);
        source.writeManifest(b.manifest(), null);

        // the destination's packs (a's chunks, which b shares) go once the copy reads b's new chunks
        AtomicBoolean collected = new AtomicBoolean();
        StorageBackend racing = RacingStorage.beforeFirstPackRead(new FileStorageBackend(sourceRoot), packKey -> {
            for (Path p : packs(destRoot)) {
                Files.delete(p);
            }
            collected.set(true);
        });
        Repository racingSource = Repository.open(racing, Instant.now());

        assertThatThrownBy(() -> dest.copyFrom(racingSource, b.manifest()))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("was removed while the copy ran")
                .hasMessageContaining("copy it again");
        assertThat(collected).isTrue();
        assertThat(dest.hasManifest(b.manifest().target(), b.manifest().id())).isFalse();
    }
}
