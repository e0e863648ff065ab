package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.DrException;
import dev.drkit.ForwardingStorage;
import dev.drkit.ToySignatures;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.spi.DecryptionStage;
import dev.drkit.spi.EncryptionStage;
import dev.drkit.spi.FileArchive.PutResult;
import dev.drkit.spi.StorageBackend;
import dev.drkit.storage.FileStorageBackend;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Bad luck between storage calls must not leave a good record unreadable or unsigned: a create
 * retried after its response was lost, a failure right after it, a taker that loses the race for
 * the signature; and a pusher with trusted keys does not take for stored a record they refuse.
 */
class SignedArchiveRacesTest {
    private static final String PATH = "1/000000010000000000000005";
    private static final String INFO = "wal/" + PATH + ".info.json";
    private static final String SIG = INFO + ".sig";
    private static final byte[] SEGMENT = "one WAL segment ".repeat(2000).getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    private final ExecutorService pool = Executors.newFixedThreadPool(2);

    @AfterEach
    void tearDown() {
        pool.shutdownNow();
    }

    private static PutResult put(ArchiveArea a) throws IOException {
        return a.put(PATH, new ByteArrayInputStream(SEGMENT), stored -> Arrays.equals(stored.readAllBytes(), SEGMENT));
    }

    private static byte[] read(ArchiveArea a) throws IOException {
        try (InputStream in = a.open(PATH).orElseThrow()) {
            return in.readAllBytes();
        }
    }

    /**
     * S3: the PUT of the record (If-None-Match: *) succeeds but its response is lost; the SDK
     * retries, gets 412, and createIfAbsent says false. The writer takes its own record for a
     * taken-over holder's, undoOwnSidecars deletes its own (valid) signature, and alreadyStored
     * cannot sign again on a host that holds only the public key (the recommended setup): the
     * record stays unsigned for good, every later push says ALREADY_STORED, PostgreSQL recycles
     * the segment, and a trusted recovery refuses it.
     */
    @Test
    void aLostResponseToTheRecordsCreateLeavesItSignedOnAPublicKeyOnlyHost() throws Exception {
        LostRecordResponse storage = new LostRecordResponse(new FileStorageBackend(dir.resolve("repo")));
        Repository repo = Repository.open(storage, Instant.now());
        ArchiveArea pusher = ArchiveArea.of(
                repo, "wal", publicKeyOnly(), Duration.ofMinutes(5), Clock.systemUTC(), ToySignatures.SIGNER);

        PutResult first = put(pusher);
        assertThat(first).isIn(PutResult.STORED, PutResult.ALREADY_STORED);
        put(pusher); // archive_command retried: no harm either way

        assertThat(storage.stat(SIG)).as("the record's signature").isPresent();
        ArchiveArea restore = ArchiveArea.of(repo.trust(ToySignatures.TRUSTED), "wal", withSecretKey());
        assertThat(read(restore)).isEqualTo(SEGMENT);
    }

    /**
     * Same lost response, then one failed read (the network still flaky) inside undoOwnSidecars:
     * the finally of putClaimed removes the object the writer's own, already written record names.
     * The push fails, PostgreSQL retries, and the retry finds a record whose object is gone.
     */
    @Test
    void aFailureAfterALostResponseDoesNotRemoveTheObjectOfTheWritersOwnRecord() throws Exception {
        LostRecordResponse storage = new LostRecordResponse(new FileStorageBackend(dir.resolve("repo")));
        storage.failNextRecordRead.set(true);
        Repository repo = Repository.open(storage, Instant.now());
        StreamCodecs codecs = new StreamCodecs(Compression.ZSTD, 3, 1);
        ArchiveArea pusher =
                ArchiveArea.of(repo, "wal", codecs, Duration.ofMinutes(5), Clock.systemUTC(), ToySignatures.SIGNER);

        try {
            put(pusher);
        } catch (IOException expected) {
            // the flaky read: archive_command fails and is retried
        }
        assertThat(put(pusher)).isEqualTo(PutResult.ALREADY_STORED);
        assertThat(read(ArchiveArea.of(repo.trust(ToySignatures.TRUSTED), "wal", codecs)))
                .isEqualTo(SEGMENT);
    }

    /**
     * A writer takes over the expired claim of a live, slow holder that has written its checksum
     * file and is about to write its signature. The taker deletes the holder's checksum as a
     * "leftover", writes its own, and pauses before its signature; the holder writes its
     * signature and record (nothing re-checks the checksum file); the taker then finds a
     * signature it did not write and throws, without undoing its checksum file. The holder's
     * record has the taker's checksum beside it: damaged for good, and every later push of the
     * segment fails, so archiving stops.
     */
    @Test
    void aTakeoverThatLosesTheRaceForTheSignatureLeavesTheRecordReadable() throws Exception {
        ArchiveTakeoverSidecarsTest.TwoPauses storage =
                new ArchiveTakeoverSidecarsTest.TwoPauses(new FileStorageBackend(dir.resolve("repo")), SIG);
        Repository repo = Repository.open(storage, Instant.now());
        StreamCodecs codecs = new StreamCodecs(Compression.ZSTD, 3, 1);
        ArchiveArea slow =
                ArchiveArea.of(repo, "wal", codecs, Duration.ofMinutes(5), Clock.systemUTC(), ToySignatures.SIGNER);
        ArchiveArea later = ArchiveArea.of(
                repo,
                "wal",
                codecs,
                Duration.ofMinutes(5),
                Clock.offset(Clock.systemUTC(), Duration.ofMinutes(6)),
                ToySignatures.SIGNER);

        Future<PutResult> holder = pool.submit(() -> put(slow));
        assertThat(storage.firstPaused.await(30, TimeUnit.SECONDS)).isTrue(); // checksum written
        Future<PutResult> taker = pool.submit(() -> put(later));
        assertThat(storage.secondPaused.await(30, TimeUnit.SECONDS)).isTrue(); // took over, own checksum written
        storage.firstGo.countDown();
        assertThat(holder.get(30, TimeUnit.SECONDS)).isEqualTo(PutResult.STORED);
        storage.secondGo.countDown();
        try {
            taker.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException lost) {
            // losing is fine; damaging the winner is not
        }

        assertThat(read(ArchiveArea.of(repo.trust(ToySignatures.TRUSTED), "wal", codecs)))
                .isEqualTo(SEGMENT);
        assertThat(put(slow)).isEqualTo(PutResult.ALREADY_STORED); // archive_command of the next round
    }

    /**
     * With trusted keys, c104dfd's push of a stored file read its record signed: a record the
     * kit's own trust refuses failed the push, and PostgreSQL kept the segment. 1a7727f reads it
     * unsigned (record(path, false)); a host that cannot decode it compares raw size and CRC32C
     * only, cannot sign, and reports ALREADY_STORED: PostgreSQL recycles the segment while every
     * trusted recovery refuses the stored copy.
     */
    @Test
    void aTrustedPushDoesNotTakeForStoredARecordItsTrustRefuses() throws Exception {
        Repository repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());
        ArchiveArea beforeSigning = ArchiveArea.of(repo, "wal", publicKeyOnly());
        assertThat(put(beforeSigning)).isEqualTo(PutResult.STORED); // unsigned

        ArchiveArea trustedPusher = ArchiveArea.of(
                repo.trust(ToySignatures.TRUSTED),
                "wal",
                publicKeyOnly(),
                Duration.ofMinutes(5),
                Clock.systemUTC(),
                ToySignatures.SIGNER);
        assertThatThrownBy(() -> put(trustedPusher))
                .as("a push that leaves the file unrecoverable under the kit's trusted keys must fail")
                .isInstanceOf(DrException.class);
    }

    /** The record's create-if-absent stores it but answers false once, as a retried PUT after a lost response does. */
    private static final class LostRecordResponse extends ForwardingStorage {
        private final AtomicBoolean lost = new AtomicBoolean();
        final AtomicBoolean failNextRecordRead = new AtomicBoolean();
        private final AtomicBoolean armed = new AtomicBoolean();

        LostRecordResponse(StorageBackend delegate) {
            super(delegate);
        }

        @Override
        public boolean createIfAbsent(String key, byte[] content) throws IOException {
            boolean created = super.createIfAbsent(key, content);
            if (key.equals(INFO) && created && lost.compareAndSet(false, true)) {
                armed.set(true);
                return false;
            }
            return created;
        }

        @Override
        public InputStream open(String key, long offset) throws IOException {
            if (key.equals(INFO) && armed.getAndSet(false) && failNextRecordRead.get()) {
                throw new IOException("connection reset");
            }
            return super.open(key, offset);
        }
    }

    private static final EncryptionStage TOY_ENCRYPTION = new EncryptionStage() {
        @Override
        public String codecName() {
            return "toy";
        }

        @Override
        public String extension() {
            return ".toy";
        }

        @Override
        public List<String> recipients() {
            return List.of("toy-recipient");
        }

        @Override
        public OutputStream encrypt(OutputStream stored, String name) {
            return new FilterOutputStream(stored) {
                @Override
                public void write(int b) throws IOException {
                    out.write(b ^ 0x5a);
                }
            };
        }
    };

    /** An archiving host with the public key only, as recommended: it cannot read what it stored. */
    private static StreamCodecs publicKeyOnly() {
        return new StreamCodecs(Compression.ZSTD, 3, 1, TOY_ENCRYPTION, null);
    }

    private static StreamCodecs withSecretKey() {
        DecryptionStage dec = new DecryptionStage() {
            @Override
            public String codecName() {
                return "toy";
            }

            @Override
            public InputStream decrypt(InputStream stored, String what) {
                return new FilterInputStream(stored) {
                    @Override
                    public int read() throws IOException {
                        int b = in.read();
                        return b < 0 ? b : (b ^ 0x5a);
                    }

                    @Override
                    public int read(byte[] b, int off, int len) throws IOException {
                        int n = in.read(b, off, len);
                        for (int i = 0; i < n; i++) {
                            b[off + i] ^= 0x5a;
                        }
                        return n;
                    }
                };
            }
        };
        return new StreamCodecs(Compression.ZSTD, 3, 1, TOY_ENCRYPTION, dec);
    }
}
