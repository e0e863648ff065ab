package dev.drkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.spi.StorageBackend;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The contract every {@link StorageBackend} must meet. Extend it with a short subclass
 * that says how to make a fresh, empty backend:
 *
 * <pre>{@code
 * class FileStorageBackendContractTest extends StorageBackendContract {
 *     @TempDir Path dir;
 *     protected StorageBackend newBackend() throws IOException { return new FileStorageBackend(dir); }
 * }
 * }</pre>
 *
 * <p>The big-object test writes {@link #bigObjectSize()} bytes, which should exceed the
 * test JVM's heap ({@code -Xmx}) so that a backend buffering whole objects fails it.
 */
public abstract class StorageBackendContract {
    protected StorageBackend backend;

    /** A fresh, empty backend; closed after each test. */
    protected abstract StorageBackend newBackend() throws IOException;

    /** Size of the big-object test; by default a bit more than the JVM's maximum heap. */
    protected long bigObjectSize() {
        return Math.min(Runtime.getRuntime().maxMemory() + (64L << 20), 2L << 30);
    }

    @BeforeEach
    void openBackend() throws IOException {
        backend = newBackend();
    }

    @AfterEach
    void closeBackend() throws IOException {
        backend.close();
    }

    private String key(String name) {
        return "contract/" + name;
    }

    private static byte[] random(int size, long seed) {
        byte[] b = new byte[size];
        new Random(seed).nextBytes(b);
        return b;
    }

    private void put(String key, byte[] content) throws IOException {
        try (ObjectUpload up = backend.create(key)) {
            up.stream().write(content);
            up.commit();
        }
    }

    private byte[] get(String key, long offset) throws IOException {
        try (InputStream in = backend.open(key, offset)) {
            return in.readAllBytes();
        }
    }

    @Test
    void roundTripReturnsTheBytesWritten() throws IOException {
        byte[] data = random(3 * 1024 * 1024 + 17, 1);
        put(key("a/b/object.bin"), data);

        assertThat(get(key("a/b/object.bin"), 0)).isEqualTo(data);
        assertThat(backend.stat(key("a/b/object.bin")))
                .get()
                .extracting(ObjectInfo::size)
                .isEqualTo((long) data.length);
    }

    @Test
    void emptyObjectsRoundTrip() throws IOException {
        put(key("empty"), new byte[0]);
        assertThat(get(key("empty"), 0)).isEmpty();
        assertThat(backend.stat(key("empty")))
                .get()
                .extracting(ObjectInfo::size)
                .isEqualTo(0L);
    }

    @Test
    void rangedReadStartsAtTheOffset() throws IOException {
        byte[] data = random(100_000, 2);
        put(key("ranged"), data);
        byte[] tail = get(key("ranged"), 99_000);
        assertThat(tail).hasSize(1000).isEqualTo(Arrays.copyOfRange(data, 99_000, 100_000));
    }

    @Test
    void aBoundedRangeReturnsJustThoseBytesAndStopsAtTheEnd() throws IOException {
        byte[] data = random(100_000, 3);
        put(key("bounded"), data);
        try (InputStream in = backend.open(key("bounded"), 40_000, 1234)) {
            assertThat(in.readAllBytes()).isEqualTo(Arrays.copyOfRange(data, 40_000, 41_234));
        }
        try (InputStream in = backend.open(key("bounded"), 0, 1)) {
            assertThat(in.readAllBytes()).containsExactly(data[0]);
        }
        try (InputStream in = backend.open(key("bounded"), 99_990, 50)) {
            assertThat(in.readAllBytes()).isEqualTo(Arrays.copyOfRange(data, 99_990, 100_000));
        }
    }

    /**
     * A range from the end of an object or past it holds nothing ("fewer when the object ends
     * first"): a chunk read from a pack shorter than its index says must find no bytes there,
     * not fail the storage, so that the reader goes on to another copy.
     */
    @Test
    void aRangeFromTheEndOfAnObjectOrPastItIsEmpty() throws IOException {
        put(key("short"), random(1000, 4));
        try (InputStream in = backend.open(key("short"), 1000, 10)) {
            assertThat(in.readAllBytes()).isEmpty();
        }
        try (InputStream in = backend.open(key("short"), 5000, 10)) {
            assertThat(in.readAllBytes()).isEmpty();
        }
        try (InputStream in = backend.open(key("short"), 5000)) {
            assertThat(in.readAllBytes()).isEmpty();
        }
    }

    @Test
    void objectIsInvisibleUntilCommitted() throws IOException {
        try (ObjectUpload up = backend.create(key("pending"))) {
            up.stream().write(random(10_000, 3));
            assertThat(backend.stat(key("pending"))).isEmpty();
            assertThat(backend.list("contract/")).extracting(ObjectInfo::key).doesNotContain(key("pending"));
            up.commit();
        }
        assertThat(backend.stat(key("pending"))).isPresent();
    }

    @Test
    void abortLeavesNothingBehind() throws IOException {
        try (ObjectUpload up = backend.create(key("aborted"))) {
            up.stream().write(random(1_000_000, 4));
            // no commit: close aborts
        }
        assertThat(backend.stat(key("aborted"))).isEmpty();
        assertThat(backend.list("")).extracting(ObjectInfo::key).noneMatch(k -> k.contains("aborted"));
    }

    @Test
    void objectsAreWriteOnce() throws IOException {
        byte[] first = "first".getBytes(StandardCharsets.UTF_8);
        put(key("once"), first);
        ObjectUpload second = backend.create(key("once"));
        second.stream().write("second".getBytes(StandardCharsets.UTF_8));
        assertThatThrownBy(second::commit).isInstanceOf(FileAlreadyExistsException.class);
        second.close();
        assertThat(get(key("once"), 0)).isEqualTo(first);
    }

    @Test
    void createIfAbsentCreatesOnlyOnce() throws IOException {
        assertThat(backend.createIfAbsent(key("lock"), "one".getBytes(StandardCharsets.UTF_8)))
                .isTrue();
        assertThat(backend.createIfAbsent(key("lock"), "two".getBytes(StandardCharsets.UTF_8)))
                .isFalse();
        assertThat(new String(get(key("lock"), 0), StandardCharsets.UTF_8)).isEqualTo("one");
    }

    @Test
    void concurrentWritersOfOneKeyHaveExactlyOneWinner() throws Exception {
        int writers = 8;
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        CountDownLatch start = new CountDownLatch(1);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < writers; i++) {
                byte[] content = ("writer-" + i).getBytes(StandardCharsets.UTF_8);
                Callable<Boolean> c = () -> {
                    start.await();
                    return backend.createIfAbsent(key("contended"), content);
                };
                results.add(pool.submit(c));
            }
            start.countDown();
            int winners = 0;
            for (Future<Boolean> f : results) {
                winners += f.get(60, TimeUnit.SECONDS) ? 1 : 0;
            }
            assertThat(winners).isEqualTo(1);
            assertThat(new String(get(key("contended"), 0), StandardCharsets.UTF_8))
                    .startsWith("writer-");
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void concurrentUploadsOfDistinctKeysAllLand() throws Exception {
        int writers = 6;
        ExecutorService pool = Executors.newFixedThreadPool(writers);
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (int i = 0; i < writers; i++) {
                int n = i;
                futures.add(pool.submit(() -> {
                    put(key("parallel/" + n), random(500_000, n));
                    return null;
                }));
            }
            for (Future<?> f : futures) {
                f.get(120, TimeUnit.SECONDS);
            }
            for (int i = 0; i < writers; i++) {
                assertThat(get(key("parallel/" + i), 0)).isEqualTo(random(500_000, i));
            }
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void listReturnsCommittedObjectsUnderThePrefixSorted() throws IOException {
        put(key("list/b"), new byte[] {1});
        put(key("list/a/deep"), new byte[] {1, 2});
        put(key("list/c"), new byte[] {1, 2, 3});
        put(key("listing-other"), new byte[] {1});

        assertThat(backend.list(key("list/")))
                .extracting(ObjectInfo::key)
                .containsExactly(key("list/a/deep"), key("list/b"), key("list/c"));
        assertThat(backend.list(key("list/"))).extracting(ObjectInfo::size).containsExactly(2L, 1L, 3L);
        assertThat(backend.list(key("nothing-here/"))).isEmpty();
    }

    /**
     * Keys with characters a listing must escape (S3 clients ask for URL-encoded keys) come back
     * from {@code list} as they were written, and open.
     */
    @Test
    void keysWithSpacesAndSymbolsListAsWritten() throws IOException {
        List<String> odd = List.of(key("odd/a b"), key("odd/plus+sign"), key("odd/per%20cent"), key("odd/été&<x>"));
        for (String k : odd) {
            put(k, k.getBytes(StandardCharsets.UTF_8));
        }
        assertThat(backend.list(key("odd/"))).extracting(ObjectInfo::key).containsExactlyInAnyOrderElementsOf(odd);
        for (String k : odd) {
            assertThat(get(k, 0)).isEqualTo(k.getBytes(StandardCharsets.UTF_8));
        }
    }

    @Test
    void deleteRemovesAndIsIdempotent() throws IOException {
        put(key("doomed"), new byte[] {1});
        backend.delete(key("doomed"));
        backend.delete(key("doomed"));
        assertThat(backend.stat(key("doomed"))).isEmpty();
        assertThat(backend.list(key("doomed"))).isEmpty();
    }

    @Test
    void deleteAllRemovesEveryKeyInBatchesAndIgnoresMissingOnes() throws IOException {
        List<String> keys = new ArrayList<>();
        for (int i = 0; i < 1005; i++) { // more than one S3 batch of 1000
            String k = key(String.format("bulk/%04d", i));
            backend.createIfAbsent(k, new byte[] {(byte) i});
            keys.add(k);
        }
        put(key("bulk-kept"), new byte[] {1});
        keys.add(key("bulk/never-written"));
        backend.deleteAll(keys);
        assertThat(backend.list(key("bulk/"))).isEmpty();
        assertThat(backend.stat(key("bulk-kept"))).isPresent();
        backend.deleteAll(List.of());
    }

    @Test
    void openingAMissingObjectFailsWithNoSuchFile() {
        assertThatThrownBy(() -> backend.open(key("missing-" + UUID.randomUUID()), 0))
                .isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void describeNeverShowsSecrets() {
        assertThat(backend.describe())
                .doesNotContainIgnoringCase("secret")
                .doesNotContain("@")
                .doesNotContain("?");
    }

    @Test
    void bigObjectsStreamWithBoundedMemory() throws Exception {
        long size = bigObjectSize();
        MessageDigest written = MessageDigest.getInstance("SHA-256");
        byte[] chunk = random(1 << 20, 7);
        try (ObjectUpload up = backend.create(key("big"))) {
            OutputStream out = up.stream();
            for (long left = size; left > 0; ) {
                int n = (int) Math.min(chunk.length, left);
                chunk[0]++;
                out.write(chunk, 0, n);
                written.update(chunk, 0, n);
                left -= n;
            }
            up.commit();
        }
        MessageDigest read = MessageDigest.getInstance("SHA-256");
        long count = 0;
        try (InputStream in = backend.open(key("big"), 0)) {
            byte[] buf = new byte[1 << 20];
            int n;
            while ((n = in.read(buf)) >= 0) {
                read.update(buf, 0, n);
                count += n;
            }
        }
        assertThat(count).isEqualTo(size);
        assertThat(read.digest()).isEqualTo(written.digest());
        backend.delete(key("big"));
    }
}
