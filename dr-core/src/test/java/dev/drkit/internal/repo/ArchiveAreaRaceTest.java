package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.MutableClock;
import dev.drkit.ObjectExistsException;
import dev.drkit.StorageException;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.spi.DecryptionStage;
import dev.drkit.spi.EncryptionStage;
import dev.drkit.spi.FileArchive.PutResult;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.support.Hosts;
import dev.drkit.spi.support.Json;
import dev.drkit.spi.support.PrivateScratch;
import dev.drkit.storage.FileStorageBackend;
import java.io.ByteArrayInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Writers racing to store one archived file, interleaved deterministically through latches. */
class ArchiveAreaRaceTest {
    private static final String PATH = "wal/1/000000010000000000000001";
    private static final String INFO = "wal/" + PATH + ".info.json";
    private static final byte[] SEGMENT =
            "the bytes of one WAL segment".repeat(1000).getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    private PausingStorage storage;
    private Repository repo;
    private final ExecutorService pool = Executors.newFixedThreadPool(2);

    @BeforeEach
    void setUp() throws IOException {
        storage = new PausingStorage(new FileStorageBackend(dir));
        repo = Repository.open(storage, Instant.now());
    }

    @AfterEach
    void tearDown() {
        pool.shutdownNow();
    }

    @Test
    void twoWritersOfTheSameBytesStoreOneObjectThatTheRecordDescribes() throws Exception {
        racingWriters(plain(), SEGMENT, SEGMENT, PutResult.ALREADY_STORED);
    }

    @Test
    void twoWritersWhoseStoredBytesDifferLeaveARecordOfTheStoredObject() throws Exception {
        racingWriters(randomlyEncrypted(), SEGMENT, SEGMENT, PutResult.ALREADY_STORED);
    }

    @Test
    void aWriterOfOtherBytesIsRefusedAndTheStoredFileStaysIntact() throws Exception {
        byte[] other = "other bytes".getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> racingWriters(randomlyEncrypted(), SEGMENT, other, null))
                .hasCauseInstanceOf(ObjectExistsException.class);
        assertStored(ArchiveArea.of(repo, "wal", randomlyEncrypted()), SEGMENT);
    }

    @Test
    void aClaimOfACrashedWriterElsewhereIsTakenOverOnceExpired() throws Exception {
        plantClaim("elsewhere", 1, Instant.now().minus(Duration.ofMinutes(10)));
        ArchiveArea area =
                ArchiveArea.of(repo, "wal", randomlyEncrypted(), Duration.ofMinutes(5), Clock.systemUTC(), null);

        assertThat(put(area, SEGMENT)).isEqualTo(PutResult.STORED);

        assertStored(area, SEGMENT);
        assertThat(area.info(PATH).orElseThrow().storedName())
                .as("a holder elsewhere may still commit the canonical object: the taker keeps clear of it")
                .isEqualTo("000000010000000000000001.take1.zst.rnd");
        assertThat(storage.list(INFO + ".claim.")).isEmpty();
    }

    @Test
    void aClaimOfADeadProcessOnThisHostIsTakenOverAtOnceUnderTheCanonicalName() throws Exception {
        Process dead = new ProcessBuilder("true").start();
        dead.waitFor();
        plantClaim(Hosts.name(), dead.pid(), Instant.now());
        storage.upload("wal/" + PATH + ".zst", "half of a segment"); // what the dead writer left
        ArchiveArea area = ArchiveArea.of(repo, "wal", plain(), Duration.ofMinutes(5), Clock.systemUTC(), null);

        assertThat(put(area, SEGMENT)).isEqualTo(PutResult.STORED);

        assertStored(area, SEGMENT);
        assertThat(area.info(PATH).orElseThrow().storedName()).isEqualTo("000000010000000000000001.zst");
    }

    /**
     * A live writer of this host, read after a step of the system clock: the JDK derives a
     * process's start instant from the boot time, which the step moved, so that instant no longer
     * matches the claim's. Its boot id and clock ticks still do, and the claim is not taken over.
     */
    @Test
    void aLiveClaimOfThisHostIsNotTakenForDeadAfterAStepOfTheSystemClock() throws Exception {
        ProcessHandle self = ProcessHandle.current();
        Instant startAfterStep = self.info().startInstant().orElseThrow().plusSeconds(5);
        plantClaim(new PutClaim.Holder(
                "someone-else",
                Hosts.name(),
                self.pid(),
                startAfterStep,
                Instant.now(),
                PrivateScratch.processStart()));
        aWriterWaitsUntilTheClaimExpires();
    }

    @Test
    void aFreshClaimMakesAWriterWaitUntilItExpires() throws Exception {
        plantClaim("elsewhere", 1, Instant.now());
        aWriterWaitsUntilTheClaimExpires();
    }

    /** A writer waits while the planted claim is fresh, then takes it over once it expired. */
    private void aWriterWaitsUntilTheClaimExpires() throws Exception {
        MutableClock clock = new MutableClock(Instant.now());
        ArchiveArea area = ArchiveArea.of(repo, "wal", plain(), Duration.ofMinutes(5), clock, null);
        storage.watchClaimLooks(3);

        Future<PutResult> writer = pool.submit(() -> put(area, SEGMENT));
        assertThat(storage.claimLooks.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(writer.isDone())
                .as("a writer waits while another holds a fresh claim")
                .isFalse();
        assertThat(storage.stat("wal/" + PATH + ".info.json")).isEmpty();
        clock.advance(Duration.ofMinutes(6));

        assertThat(writer.get(30, TimeUnit.SECONDS)).isEqualTo(PutResult.STORED);
        assertStored(area, SEGMENT);
    }

    @Test
    void aWriterTakenOverWhileStillAliveGivesUpAndLeavesTheTakersRecordIntact() throws Exception {
        StreamCodecs codecs = randomlyEncrypted();
        ArchiveArea slow = ArchiveArea.of(repo, "wal", codecs);
        ArchiveArea later = ArchiveArea.of(
                repo,
                "wal",
                codecs,
                Duration.ofMinutes(5),
                Clock.offset(Clock.systemUTC(), Duration.ofMinutes(6)),
                null);
        storage.pauseBefore("wal/" + PATH + codecs.extension() + RepositoryLayout.SHA256_SUFFIX);

        Future<PutResult> first = pool.submit(() -> put(slow, SEGMENT));
        assertThat(storage.paused.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(put(later, SEGMENT)).isEqualTo(PutResult.STORED);
        storage.resume.countDown();

        assertThatThrownBy(() -> first.get(30, TimeUnit.SECONDS))
                .cause()
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("another writer took it over")
                .matches(e -> ((StorageException) e).retryable());
        assertStored(slow, SEGMENT);
        assertThat(slow.info(PATH).orElseThrow().storedName()).isEqualTo("000000010000000000000001.take1.zst.rnd");
        assertThat(storage.list("wal/wal/1/"))
                .extracting(ObjectInfo::key)
                .as("the slow writer's object, referenced by no record, is gone")
                .noneMatch(k -> k.equals("wal/" + PATH + codecs.extension()))
                .noneMatch(k -> k.contains(".claim."));
    }

    /**
     * Writer A stops after committing its object, before its record; writer B starts then and
     * must neither delete nor overwrite A's object. A finishes once B has seen its claim.
     */
    private void racingWriters(StreamCodecs codecs, byte[] a, byte[] b, PutResult expectedOfB) throws Exception {
        ArchiveArea area = ArchiveArea.of(repo, "wal", codecs);
        storage.pauseBefore(INFO + ManifestCodec.CHECKSUM_SUFFIX);

        Future<PutResult> first = pool.submit(() -> put(area, a));
        assertThat(storage.paused.await(30, TimeUnit.SECONDS)).isTrue();
        byte[] objectOfA = readObject(codecs);
        storage.watchClaimLooks(2);
        Future<PutResult> second = pool.submit(() -> put(area, b));
        assertThat(storage.claimLooks.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(readObject(codecs))
                .as("the first writer's object is untouched")
                .isEqualTo(objectOfA);
        storage.resume.countDown();

        assertThat(first.get(30, TimeUnit.SECONDS)).isEqualTo(PutResult.STORED);
        try {
            assertThat(second.get(30, TimeUnit.SECONDS)).isEqualTo(expectedOfB);
        } finally {
            assertStored(area, a);
            assertThat(readObject(codecs)).isEqualTo(objectOfA);
            assertThat(storage.list("wal/wal/1/"))
                    .extracting(ObjectInfo::key)
                    .containsExactlyInAnyOrder(
                            "wal/" + PATH + ".info.json",
                            "wal/" + PATH + ".info.json" + ManifestCodec.CHECKSUM_SUFFIX,
                            "wal/" + PATH + codecs.extension(),
                            "wal/" + PATH + codecs.extension() + RepositoryLayout.SHA256_SUFFIX);
        }
    }

    private static PutResult put(ArchiveArea area, byte[] bytes) throws IOException {
        return area.put(PATH, new ByteArrayInputStream(bytes), stored -> Arrays.equals(stored.readAllBytes(), bytes));
    }

    private static void assertStored(ArchiveArea area, byte[] expected) throws IOException {
        try (InputStream in = area.open(PATH).orElseThrow()) {
            assertThat(in.readAllBytes())
                    .as("read back against the record's checksums")
                    .isEqualTo(expected);
        }
    }

    private byte[] readObject(StreamCodecs codecs) throws IOException {
        try (InputStream in = storage.open("wal/" + PATH + codecs.extension(), 0)) {
            return in.readAllBytes();
        }
    }

    private void plantClaim(String host, long pid, Instant createdAt) throws IOException {
        plantClaim(new PutClaim.Holder("someone-else", host, pid, null, createdAt, null));
    }

    private void plantClaim(PutClaim.Holder h) throws IOException {
        assertThat(storage.createIfAbsent(INFO + ".claim.0", Json.write(h))).isTrue();
    }

    private static StreamCodecs plain() {
        return new StreamCodecs(Compression.ZSTD, 3, 1);
    }

    /** Stores a random nonce before the bytes, as encryption's random session keys do. */
    private static StreamCodecs randomlyEncrypted() {
        EncryptionStage enc = new EncryptionStage() {
            @Override
            public String codecName() {
                return "rnd";
            }

            @Override
            public String extension() {
                return ".rnd";
            }

            @Override
            public List<String> recipients() {
                return List.of();
            }

            @Override
            public OutputStream encrypt(OutputStream stored, String name) throws IOException {
                byte[] nonce = new byte[16];
                new SecureRandom().nextBytes(nonce);
                stored.write(nonce);
                return new FilterOutputStream(stored);
            }
        };
        DecryptionStage dec = new DecryptionStage() {
            @Override
            public String codecName() {
                return "rnd";
            }

            @Override
            public InputStream decrypt(InputStream stored, String what) throws IOException {
                stored.readNBytes(16);
                return stored;
            }
        };
        return new StreamCodecs(Compression.ZSTD, 3, 1, enc, dec);
    }

    /** A local storage that can stop one writer before a chosen object and count looks at claims. */
    private static final class PausingStorage implements StorageBackend {
        private final StorageBackend delegate;
        private volatile String pauseKey;
        private volatile Thread pausedThread;
        final CountDownLatch paused = new CountDownLatch(1);
        final CountDownLatch resume = new CountDownLatch(1);
        volatile CountDownLatch claimLooks = new CountDownLatch(0);
        private volatile Thread watched;

        PausingStorage(StorageBackend delegate) {
            this.delegate = delegate;
        }

        void pauseBefore(String key) {
            pauseKey = key;
        }

        /** Counts the next thread's looks at claims (other than the paused writer's). */
        void watchClaimLooks(int looks) {
            watched = null;
            claimLooks = new CountDownLatch(looks);
        }

        void upload(String key, String content) throws IOException {
            ObjectUpload u = delegate.create(key);
            u.stream().write(content.getBytes(StandardCharsets.UTF_8));
            u.commit();
        }

        @Override
        public String describe() {
            return delegate.describe();
        }

        @Override
        public ObjectUpload create(String key) throws IOException {
            return delegate.create(key);
        }

        @Override
        public boolean createIfAbsent(String key, byte[] content) throws IOException {
            if (key.equals(pauseKey) && pausedThread == null) {
                pausedThread = Thread.currentThread();
                paused.countDown();
                try {
                    if (!resume.await(60, TimeUnit.SECONDS)) {
                        throw new IOException("the test never resumed the paused writer");
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException(e);
                }
            }
            return delegate.createIfAbsent(key, content);
        }

        @Override
        public InputStream open(String key, long offset) throws IOException {
            return delegate.open(key, offset);
        }

        @Override
        public Optional<ObjectInfo> stat(String key) throws IOException {
            return delegate.stat(key);
        }

        @Override
        public List<ObjectInfo> list(String prefix) throws IOException {
            List<ObjectInfo> found = new ArrayList<>(delegate.list(prefix));
            Thread me = Thread.currentThread();
            if (prefix.endsWith(".claim.") && me != pausedThread) {
                if (watched == null) {
                    watched = me;
                }
                if (watched == me) {
                    claimLooks.countDown();
                }
            }
            return found;
        }

        @Override
        public void delete(String key) throws IOException {
            delegate.delete(key);
        }
    }
}
