package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.ForwardingStorage;
import dev.drkit.spi.support.RepositoryLock;
import dev.drkit.storage.FileStorageBackend;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backup asks whether a chunk collection runs before it refers to stored chunks. A read of
 * the collection's lock object that fails for a moment (an S3 503 Slow Down, a network blip)
 * proves nothing about its holder: taken for "provably gone", the backup deduplicated against
 * the very packs the running collection was removing (it does not wait for writers that began
 * after it), and a listed backup lost chunks.
 */
class ChunkCollectionVisibleTest {
    @TempDir
    Path dir;

    @Test
    void aCollectionWhoseLockCannotBeReadForAMomentStillCounts() throws Exception {
        FileStorageBackend real = new FileStorageBackend(dir);
        Repository.open(real, Instant.now()).initialise();
        try (RepositoryLock gc = RepositoryLock.acquire(
                real,
                ChunkGc.SCOPE,
                "chunk garbage collection",
                Duration.ofMinutes(5),
                Duration.ZERO,
                Clock.systemUTC(),
                s -> {})) {
            ForwardingStorage flaky = new ForwardingStorage(real) {
                @Override
                public InputStream open(String key, long offset) throws IOException {
                    if (key.startsWith(RepositoryLock.LOCKS + ChunkGc.SCOPE + "/")) {
                        throw new IOException("503 Slow Down");
                    }
                    return super.open(key, offset);
                }
            };
            assertThat(RepositoryLock.goneHolders(flaky))
                    .as("an object that could not be read now is no proof")
                    .isEmpty();
            assertThat(Repository.open(flaky, Instant.now()).chunkCollectionRunning())
                    .as("the collection holds its lock")
                    .isTrue();
        }
    }
}
