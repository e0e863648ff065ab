package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.Capability;
import dev.drkit.CheckOptions;
import dev.drkit.CheckReport;
import dev.drkit.ChunkCollection;
import dev.drkit.DrKit;
import dev.drkit.ForwardingStorage;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.support.BackupIds;
import dev.drkit.spi.support.Hosts;
import dev.drkit.spi.support.Json;
import dev.drkit.spi.support.PrivateScratch;
import dev.drkit.spi.support.RepositoryLock;
import dev.drkit.storage.FileStorageBackend;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A chunk garbage collection must not take a running backup's lock for gone on the strength of
 * a clock: neither the collector's wall clock (another host's, ahead) nor a process start time
 * derived from it (this host, after a step of the system clock).
 */
class ChunkGcLockLivenessTest {
    @TempDir
    Path dir;

    private Path repoDir() {
        return dir.resolve("repo");
    }

    private Set<String> packs() throws IOException {
        try (Stream<Path> s = Files.list(repoDir().resolve("chunks/packs"))) {
            return s.map(f -> f.getFileName().toString())
                    .filter(n -> n.endsWith(".pack"))
                    .collect(Collectors.toSet());
        }
    }

    /** A target whose one artifact holds fixed bytes. */
    private static final class Bytes implements BackupTarget {
        private final byte[] content;

        Bytes(byte[] content) {
            this.content = content;
        }

        @Override
        public String type() {
            return "bytes";
        }

        @Override
        public Set<Capability> capabilities() {
            return EnumSet.of(Capability.FULL);
        }

        @Override
        public void backup(BackupContext context) throws IOException {
            try (OutputStream out = context.newArtifact("data.bin")) {
                out.write(content);
            }
        }

        @Override
        public void restore(RestoreContext context) {
            throw new UnsupportedOperationException();
        }
    }

    /**
     * A target with two artifacts: the first made only of chunks the store holds already (a
     * dedup hit on every chunk), the second written once the test says so.
     */
    private static final class TwoArtifacts implements BackupTarget {
        private final byte[] first;
        final CountDownLatch firstDone = new CountDownLatch(1);
        final CountDownLatch go = new CountDownLatch(1);

        TwoArtifacts(byte[] first) {
            this.first = first;
        }

        @Override
        public String type() {
            return "two";
        }

        @Override
        public Set<Capability> capabilities() {
            return EnumSet.of(Capability.FULL);
        }

        @Override
        public void backup(BackupContext context) throws IOException {
            try (OutputStream out = context.newArtifact("first.bin")) {
                out.write(first);
            }
            firstDone.countDown();
            try {
                assertThat(go.await(60, TimeUnit.SECONDS)).isTrue();
            } catch (InterruptedException e) {
                throw new IOException(e);
            }
            try (OutputStream out = context.newArtifact("second.bin")) {
                out.write("written after the first artifact was committed".getBytes());
            }
        }

        @Override
        public void restore(RestoreContext context) {
            throw new UnsupportedOperationException();
        }
    }

    /**
     * Backup "late" (host W) has committed its first artifact, which refers only to chunks that
     * expired backup app/old stored, and is writing its second one; its lock is live and renewed.
     * A prune on host G, whose clock is 10 minutes ahead (more than the 5-minute lock-ttl; any
     * skew above about 5/6 of it does), deleted app/old and collects. It judged W's lock stale by
     * its own clock, did not wait, and removed the packs; W, whose own clock is right, never
     * noticed (its reused packs were checked when the first artifact closed) and wrote its
     * manifest: a listed backup whose chunks are gone.
     */
    @Test
    void aCollectorWhoseClockIsAheadStillWaitsForALiveBackup() throws Exception {
        byte[] old = ChunkedArtifactTest.data(11, 3 << 20);
        byte[] kept = ChunkedArtifactTest.data(12, 1 << 20);
        TwoArtifacts late = new TwoArtifacts(old);
        BackupResult oldBackup;
        try (DrKit w = DrKit.builder()
                .repository(repoDir().toString())
                .dedup(true)
                .target("app-old", new Bytes(old))
                .target("app", new Bytes(kept))
                .target("late", late)
                .build()) {
            oldBackup = w.backup("app-old");
            w.backup("app");
            Set<String> oldPacks = packs();

            CompletableFuture<BackupResult> running = CompletableFuture.supplyAsync(() -> w.backup("late"));
            assertThat(late.firstDone.await(60, TimeUnit.SECONDS)).isTrue();

            // host G: the prune deleted the only listed backup that needed the old chunks, then collects
            FileStorageBackend storage = new FileStorageBackend(repoDir());
            Repository repo = Repository.open(storage, Instant.now());
            repo.deleteBackup("app-old", oldBackup.id());
            Clock ahead = Clock.offset(Clock.systemUTC(), Duration.ofMinutes(10));
            ChunkCollection gc = new ChunkGc(repo, ahead, Duration.ofMinutes(5), Duration.ofSeconds(2)).collect(false);

            late.go.countDown();
            BackupResult lateBackup = running.get(60, TimeUnit.SECONDS);
            assertThat(lateBackup.manifest().artifacts()).hasSize(2);
            assertThat(w.check(CheckOptions.readAllData()).findings())
                    .as("every chunk of every listed backup is there")
                    .isEmpty();
            assertThat(gc.skipped())
                    .as("the collection waited for the running backup")
                    .contains("locks/late/");
            assertThat(packs()).containsAll(oldPacks);
        }
    }

    /** One deduplicated backup of 1 MiB into the repository. */
    private void backUpOnce() {
        try (DrKit kit = DrKit.builder()
                .repository(repoDir().toString())
                .dedup(true)
                .target("app", new Bytes(ChunkedArtifactTest.data(13, 1 << 20)))
                .build()) {
            kit.backup("app");
        }
    }

    /**
     * A lock object that is JSON but no lock (a forged {@code {}}): the collection failed on it
     * with a NullPointerException, and with it every prune of a deduplicating repository; it is
     * judged as a torn object is.
     */
    @Test
    void aLockObjectThatIsJsonButNoLockDoesNotStopTheCollection() throws Exception {
        backUpOnce();
        FileStorageBackend storage = new FileStorageBackend(repoDir());
        storage.createIfAbsent("locks/forged/1-x.json", "{}".getBytes(StandardCharsets.UTF_8));
        Repository repo = Repository.open(storage, Instant.now());

        ChunkCollection gc =
                new ChunkGc(repo, Clock.systemUTC(), Duration.ofMinutes(5), Duration.ofSeconds(2)).collect(false);

        assertThat(gc.skipped()).as("the collection ran, not skipped").isNull();
        try (DrKit kit = DrKit.builder().repository(repoDir().toString()).build()) {
            // every chunk is there; the forged object is only reported as a lock nobody holds
            assertThat(kit.check(CheckOptions.readAllData()).findings())
                    .allSatisfy(f -> assertThat(f.kind()).isEqualTo(CheckReport.Kind.STALE_LOCK));
        }
    }

    /**
     * A huge lock object (a forged one of 20 MiB): the collection read up to 16 MiB of each, the
     * limit of a manifest, where every other reader of locks stops at 64 KiB; many such objects
     * cost that much memory each. It now reads no more than a lock can be, and judges the object
     * as a torn lock, as before.
     */
    @Test
    void aHugeLockObjectIsReadNoFurtherThanALockCanBe() throws Exception {
        backUpOnce();
        FileStorageBackend files = new FileStorageBackend(repoDir());
        byte[] huge = new byte[20 << 20];
        Arrays.fill(huge, (byte) ' ');
        huge[0] = '{';
        files.createIfAbsent("locks/forged/1-x.json", huge);
        AtomicLong lockBytesRead = new AtomicLong();
        ForwardingStorage counting = new ForwardingStorage(files) {
            @Override
            public InputStream open(String key, long offset) throws IOException {
                InputStream in = super.open(key, offset);
                if (!key.startsWith("locks/")) {
                    return in;
                }
                return new FilterInputStream(in) {
                    @Override
                    public int read(byte[] b, int off, int len) throws IOException {
                        int n = super.read(b, off, len);
                        lockBytesRead.addAndGet(Math.max(n, 0));
                        return n;
                    }
                };
            }
        };
        Repository repo = Repository.open(counting, Instant.now());

        ChunkCollection gc =
                new ChunkGc(repo, Clock.systemUTC(), Duration.ofMinutes(5), Duration.ofSeconds(2)).collect(false);

        assertThat(gc.skipped()).as("the collection ran, not skipped").isNull();
        assertThat(lockBytesRead.get())
                .as("bytes of lock objects read")
                .isGreaterThan(0)
                .isLessThanOrEqualTo(4L * RepositoryLock.MAX_LOCK_BYTES);
    }

    /**
     * The same on one host, with no clock skew at all: two drkit processes (the CLI's backup and
     * prune) share a local repository. A lock records its holder's start as
     * {@code ProcessHandle.Info.startInstant()}, which the JDK derives from the boot time, and a
     * step of the system clock moves the boot time: a JVM that reads the start of the running
     * backup after a step (NTP's first sync, a VM resumed, a leap second) gets another instant,
     * and the exact comparison takes the live backup for a dead process whose pid was reused.
     * Here the lock is the one backup "late" wrote, as the collecting process reads it after a
     * step of 5 s: its start differs by 5 s from what that process computes now.
     */
    @Test
    void aCollectorOnTheSameHostWaitsForALiveBackupAfterAStepOfTheSystemClock() throws Exception {
        FileStorageBackend storage = new FileStorageBackend(repoDir());
        Repository repo = Repository.open(storage, Instant.now());
        repo.initialise();
        StreamCodecs zstd = new StreamCodecs(Compression.ZSTD, 3, 1);
        byte[] bytes = ChunkedArtifactTest.data(13, 3 << 20);
        ChunkedArtifactTest.Stored old =
                ChunkedArtifactTest.store(repo, Instant.now().minusSeconds(60), zstd, bytes);
        repo.writeManifest(old.manifest(), null);
        Set<String> oldPacks = packs();

        // the live backup's lock: this process, unexpired, but its start as moved by the step
        Instant now = Instant.now();
        ProcessHandle self = ProcessHandle.current();
        Instant startSeenAfterStep = self.info().startInstant().orElseThrow().plusSeconds(5);
        Map<String, Object> lock = new LinkedHashMap<>(Json.read(
                Json.write(new RepositoryLock.LockInfo(
                        UUID.randomUUID().toString(),
                        Hosts.name(),
                        self.pid(),
                        startSeenAfterStep,
                        "backup",
                        now,
                        now.plus(Duration.ofMinutes(5)))),
                Map.class));
        lock.put("processStart", PrivateScratch.processStart()); // what a fixed lock records as well
        storage.createIfAbsent(
                "locks/late/" + now.toEpochMilli() + "-" + UUID.randomUUID() + ".json", Json.write(lock));

        // the backup refers to the old backup's chunks only
        String id = BackupIds.next(now);
        ChunkedArtifactWriter w = (ChunkedArtifactWriter) repo.newArtifact("late", id, "data.bin", zstd, true, null);
        w.write(bytes);
        w.close();
        assertThat(w.newChunks()).isZero();
        repo.deleteBackup("db", old.manifest().id()); // the prune deleted the only listed backup that needed them

        ChunkCollection gc =
                new ChunkGc(repo, Clock.systemUTC(), Duration.ofMinutes(5), Duration.ofSeconds(1)).collect(false);
        assertThat(gc.skipped()).as("the collection waited for the live backup").contains("locks/late/");
        assertThat(packs()).as("the packs holding the running backup's chunks").containsAll(oldPacks);
    }

    /**
     * The other side of the same clock trust: a backup on a host whose clock is 10 minutes ahead
     * begins while a collection runs (so the collection does not wait for it). It judges the
     * collection's live lock stale by its own clock and refers to stored chunks, which that
     * collection may be removing: it must store its chunks anew, as when it sees the lock live.
     */
    @Test
    void aBackupWhoseClockIsAheadStillSeesARunningCollection() throws Exception {
        byte[] bytes = ChunkedArtifactTest.data(14, 2 << 20);
        try (DrKit first = DrKit.builder()
                .repository(repoDir().toString())
                .dedup(true)
                .target("app", new Bytes(bytes))
                .build()) {
            first.backup("app");
        }
        FileStorageBackend storage = new FileStorageBackend(repoDir());
        try (RepositoryLock gc = RepositoryLock.acquire(
                        storage,
                        ChunkGc.SCOPE,
                        "chunk garbage collection",
                        Duration.ofMinutes(5),
                        Duration.ZERO,
                        Clock.systemUTC(),
                        s -> {});
                DrKit ahead = DrKit.builder()
                        .repository(repoDir().toString())
                        .dedup(true)
                        .clock(Clock.offset(Clock.systemUTC(), Duration.ofMinutes(10)))
                        .target("other", new Bytes(bytes))
                        .build()) {
            BackupResult during = ahead.backup("other");
            Map<?, ?> dedup = (Map<?, ?>) during.manifest().metadata().get(BackupManifest.DEDUP);
            assertThat(((Number) dedup.get("new-chunks")).longValue())
                    .as("chunks stored anew while a collection runs")
                    .isEqualTo(((Number) dedup.get("chunks")).longValue());
        }
    }
}
