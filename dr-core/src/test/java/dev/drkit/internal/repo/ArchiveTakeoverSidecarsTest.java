package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.ForwardingStorage;
import dev.drkit.ToySignatures;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.spi.FileArchive.PutResult;
import dev.drkit.spi.StorageBackend;
import dev.drkit.storage.FileStorageBackend;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A writer that takes over an expired claim deletes the record's "leftover" sidecars (checksum
 * file and signature) while the previous holder, alive but slow, is between writing them and
 * writing its record. The holder's record landed; the taker then wrote its own checksum and
 * signature (of its own record, naming X.take1) beside it, and the good, recorded segment was
 * unreadable from then on. The taker now undoes its own sidecars when it loses the race, and
 * signs the winning record once its bytes compare equal.
 */
class ArchiveTakeoverSidecarsTest {
    private static final String PATH = "1/000000010000000000000005";
    private static final String INFO = "wal/" + PATH + ".info.json";
    private static final byte[] SEGMENT = "one WAL segment ".repeat(2000).getBytes(StandardCharsets.UTF_8);

    @TempDir
    Path dir;

    private final ExecutorService pool = Executors.newFixedThreadPool(2);

    @AfterEach
    void tearDown() {
        pool.shutdownNow();
    }

    @Test
    void aTakeoverWhileTheHolderWritesItsRecordLeavesTheRecordReadable() throws Exception {
        TwoPauses storage = new TwoPauses(new FileStorageBackend(dir.resolve("repo")), INFO);
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
        assertThat(storage.firstPaused.await(30, TimeUnit.SECONDS)).isTrue(); // checksum and signature written
        Future<PutResult> taker = pool.submit(() -> put(later));
        assertThat(storage.secondPaused.await(30, TimeUnit.SECONDS)).isTrue(); // took over, wrote its sidecars
        storage.firstGo.countDown();
        assertThat(holder.get(30, TimeUnit.SECONDS)).isEqualTo(PutResult.STORED);
        storage.secondGo.countDown();
        assertThat(taker.get(30, TimeUnit.SECONDS)).isEqualTo(PutResult.ALREADY_STORED);

        ArchiveArea reader = ArchiveArea.of(repo.trust(ToySignatures.TRUSTED), "wal", codecs);
        try (InputStream in = reader.open(PATH).orElseThrow()) {
            assertThat(in.readAllBytes()).isEqualTo(SEGMENT);
        }
    }

    private static PutResult put(ArchiveArea a) throws IOException {
        return a.put(PATH, new ByteArrayInputStream(SEGMENT), stored -> Arrays.equals(stored.readAllBytes(), SEGMENT));
    }

    /** Stops the first and the second writer of an object (the record, a signature) just before they create it. */
    static final class TwoPauses extends ForwardingStorage {
        private final String key;
        private final AtomicInteger calls = new AtomicInteger();
        final CountDownLatch firstPaused = new CountDownLatch(1);
        final CountDownLatch firstGo = new CountDownLatch(1);
        final CountDownLatch secondPaused = new CountDownLatch(1);
        final CountDownLatch secondGo = new CountDownLatch(1);

        TwoPauses(StorageBackend delegate, String key) {
            super(delegate);
            this.key = key;
        }

        @Override
        public boolean createIfAbsent(String created, byte[] content) throws IOException {
            if (created.equals(key)) {
                int n = calls.incrementAndGet();
                try {
                    if (n == 1) {
                        firstPaused.countDown();
                        firstGo.await(60, TimeUnit.SECONDS);
                    } else if (n == 2) {
                        secondPaused.countDown();
                        secondGo.await(60, TimeUnit.SECONDS);
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException(e);
                }
            }
            return super.createIfAbsent(created, content);
        }
    }
}
