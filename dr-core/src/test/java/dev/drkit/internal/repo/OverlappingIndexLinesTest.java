package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.CheckOptions;
import dev.drkit.spi.StorageBackend;
import dev.drkit.storage.FileStorageBackend;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A forged chunk index whose lines all point at the same bytes of their pack: a 4 MB pack with
 * an index of N lines each covering all of it made a check that reads the data read N x 4 MB (each copy of a pack that fails its hash is read on its own): 64 MiB of index,
 * about 600,000 lines, is 2.4 TB of reads (or of CRC32C work when the pack hashes right). The
 * same overlap lets a few small forged packs make a restore read every chunk's size again per
 * forged pack before it reaches the good copy. drkit never writes overlapping lines (their
 * lengths add up to the pack's size), so such an index is refused as a whole.
 */
class OverlappingIndexLinesTest {
    @TempDir
    Path dir;

    @Test
    void aCheckThatReadsTheDataReadsAboutWhatTheRepositoryHolds() throws Exception {
        FileStorageBackend files = new FileStorageBackend(dir.resolve("repo"));
        AtomicLong read = new AtomicLong();
        StorageBackend counting = (StorageBackend) Proxy.newProxyInstance(
                getClass().getClassLoader(), new Class<?>[] {StorageBackend.class}, (proxy, method, args) -> {
                    Object r;
                    try {
                        r = method.invoke(files, args);
                    } catch (InvocationTargetException e) {
                        throw e.getCause();
                    }
                    if (r instanceof InputStream in) {
                        return new FilterInputStream(in) {
                            @Override
                            public int read(byte[] b, int off, int len) throws IOException {
                                int n = super.read(b, off, len);
                                read.addAndGet(Math.max(n, 0));
                                return n;
                            }
                        };
                    }
                    return r;
                });
        Repository repo = Repository.open(counting, Instant.now());
        repo.initialise();

        int size = 4_000_000;
        byte[] pack = new byte[size];
        new Random(1).nextBytes(pack);
        String id = "0".repeat(32);
        Files.createDirectories(dir.resolve("repo/chunks/packs"));
        Files.write(dir.resolve("repo/chunks/packs/" + id + ".pack"), pack);
        StringBuilder index = new StringBuilder(ChunkStore.INDEX_HEADER + " " + id + " " + size + " " + "0".repeat(64)
                + "\n"); // a SHA-256 the pack does not have: each copy is then read on its own
        byte[] chunk = new byte[32];
        Random r = new Random(2);
        int lines = 500;
        for (int i = 0; i < lines; i++) {
            r.nextBytes(chunk);
            index.append(HexFormat.of().formatHex(chunk))
                    .append(' ')
                    .append(id)
                    .append(" 0 ")
                    .append(size)
                    .append(' ')
                    .append(size)
                    .append(" 00000000\n");
        }
        Files.createDirectories(dir.resolve("repo/chunks/index"));
        Files.writeString(dir.resolve("repo/chunks/index/" + id + ".idx"), index, StandardCharsets.US_ASCII);
        long stored = size + index.length();

        read.set(0);
        new RepositoryCheck(repo, Clock.systemUTC(), Duration.ofMinutes(5), null, found -> Set.of())
                .run(CheckOptions.readAllData());
        assertThat(read.get()).as("bytes read for %d bytes stored", stored).isLessThan(4 * stored);
    }
}
