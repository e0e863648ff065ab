package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ForwardingStorage;
import dev.drkit.MutableClock;
import dev.drkit.RepositoryLockedException;
import dev.drkit.StorageException;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.StorageBackend;
import dev.drkit.storage.FileStorageBackend;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class RepositoryLockTest {
    @TempDir
    Path dir;

    private static final Duration TTL = Duration.ofMinutes(5);

    @Test
    void secondHolderIsRefusedWithTheFirstHoldersDetails() throws Exception {
        FileStorageBackend storage = new FileStorageBackend(dir);
        try (RepositoryLock first =
                RepositoryLock.acquire(storage, "config", "backup", TTL, Duration.ZERO, Clock.systemUTC(), s -> {})) {
            assertThatThrownBy(() -> RepositoryLock.acquire(
                            storage, "config", "prune", TTL, Duration.ZERO, Clock.systemUTC(), s -> {}))
                    .isInstanceOf(RepositoryLockedException.class)
                    .hasMessageContaining(
                            "backup of pid " + ProcessHandle.current().pid())
                    .satisfies(e -> assertThat(((RepositoryLockedException) e).retryable())
                            .isTrue());
            // other scopes are independent
            RepositoryLock.acquire(storage, "db", "backup", TTL, Duration.ZERO, Clock.systemUTC(), s -> {})
                    .close();
        }
        RepositoryLock.acquire(storage, "config", "prune", TTL, Duration.ZERO, Clock.systemUTC(), s -> {})
                .close();
        assertThat(storage.list("locks/")).isEmpty();
    }

    @Test
    void lockOfADeadProcessIsTakenOver() throws Exception {
        FileStorageBackend storage = new FileStorageBackend(dir);
        Process dead = new ProcessBuilder("true").start();
        dead.waitFor();
        Instant now = Instant.now();
        var info = new RepositoryLock.LockInfo(
                "someone-else", Hosts.name(), dead.pid(), null, "backup", now, now.plus(TTL));
        storage.createIfAbsent("locks/config/1-dead.json", Json.write(info));

        List<String> takenOver = new ArrayList<>();
        try (RepositoryLock lock = RepositoryLock.acquire(
                storage, "config", "backup", TTL, Duration.ZERO, Clock.systemUTC(), takenOver::add)) {
            assertThat(takenOver).singleElement().asString().contains("pid " + dead.pid());
        }
    }

    @Test
    void expiredLockOfAnotherHostIsTakenOverButALiveOneIsNot() throws Exception {
        FileStorageBackend storage = new FileStorageBackend(dir);
        Instant now = Instant.now();
        var live = new RepositoryLock.LockInfo("other", "elsewhere", 1, null, "backup", now, now.plus(TTL));
        storage.createIfAbsent("locks/live/1-x.json", Json.write(live));
        List<String> takenOver = new ArrayList<>();
        assertThatThrownBy(() -> RepositoryLock.acquire(
                        storage, "live", "backup", TTL, Duration.ZERO, Clock.systemUTC(), takenOver::add))
                .isInstanceOf(RepositoryLockedException.class)
                .hasMessageContaining("elsewhere");
        assertThat(takenOver).isEmpty();
        assertThat(holders(storage, "live")).containsExactly(live);

        var expired = new RepositoryLock.LockInfo(
                "other", "elsewhere", 1, null, "backup", now.minus(TTL), now.minusSeconds(1));
        storage.createIfAbsent("locks/old/1-x.json", Json.write(expired));
        try (RepositoryLock lock = RepositoryLock.acquire(
                storage, "old", "prune", TTL, Duration.ZERO, Clock.systemUTC(), takenOver::add)) {
            assertThat(takenOver).singleElement().asString().contains("elsewhere");
            assertThat(holders(storage, "old"))
                    .singleElement()
                    .satisfies(this::isMine)
                    .satisfies(h -> assertThat(h.operation()).isEqualTo("prune"));
        }
        assertThat(storage.list("locks/old/")).isEmpty();
    }

    @Test
    void anOldObjectALiveHolderCouldNotDeleteIsNoTakeover() throws Exception {
        // a holder renewed (a new object) but could not delete the old one, whose lease has passed
        FileStorageBackend storage = new FileStorageBackend(dir);
        Instant now = Instant.now();
        var old = new RepositoryLock.LockInfo(
                "other", "elsewhere", 1, null, "backup", now.minus(TTL), now.minusSeconds(1));
        var renewed = new RepositoryLock.LockInfo("other", "elsewhere", 1, null, "backup", now, now.plus(TTL));
        storage.createIfAbsent("locks/db/1-a.json", Json.write(old));
        storage.createIfAbsent("locks/db/2-b.json", Json.write(renewed));
        List<String> takenOver = new ArrayList<>();
        assertThatThrownBy(() -> RepositoryLock.acquire(
                        storage, "db", "prune", TTL, Duration.ZERO, Clock.systemUTC(), takenOver::add))
                .isInstanceOf(RepositoryLockedException.class)
                .hasMessageContaining("elsewhere");
        assertThat(takenOver).as("nothing was taken over: its holder is alive").isEmpty();
        assertThat(holders(storage, "db")).containsExactlyInAnyOrder(old, renewed);
    }

    @Test
    void aFailedAttemptLeavesNoLockObjectOfItsOwnAndAStaleOneThatWillNotGoIsNoObstacle() throws Exception {
        FileStorageBackend files = new FileStorageBackend(dir);
        boolean[] listFails = {true};
        StorageBackend storage = new ForwardingStorage(files) {
            @Override
            public List<ObjectInfo> list(String prefix) throws IOException {
                if (listFails[0] && prefix.startsWith("locks/")) {
                    throw new IOException("connection reset");
                }
                return super.list(prefix);
            }

            @Override
            public void delete(String key) throws IOException {
                if (key.endsWith("1-stale.json")) {
                    throw new IOException("access denied");
                }
                super.delete(key);
            }
        };
        // the listing fails after this process wrote its object: it must not stay behind as a live lock
        assertThatThrownBy(() ->
                        RepositoryLock.acquire(storage, "db", "backup", TTL, Duration.ZERO, Clock.systemUTC(), s -> {}))
                .isInstanceOf(StorageException.class)
                .hasMessageContaining("connection reset");
        assertThat(files.list("locks/db/")).isEmpty();

        listFails[0] = false;
        Instant now = Instant.now();
        var stale = new RepositoryLock.LockInfo(
                "other", "elsewhere", 1, null, "backup", now.minus(TTL), now.minusSeconds(1));
        files.createIfAbsent("locks/db/1-stale.json", Json.write(stale));
        List<String> takenOver = new ArrayList<>();
        try (RepositoryLock lock =
                RepositoryLock.acquire(storage, "db", "prune", TTL, Duration.ZERO, Clock.systemUTC(), takenOver::add)) {
            lock.ensureHeld("deleting backup X");
            assertThat(takenOver).singleElement().asString().contains("elsewhere");
        }
        assertThat(files.list("locks/db/")).extracting(ObjectInfo::key).containsExactly("locks/db/1-stale.json");
    }

    @Test
    void unreadableLockObjectBlocksNobody() throws Exception {
        FileStorageBackend storage = new FileStorageBackend(dir);
        storage.createIfAbsent("locks/torn/1-x.json", "{\"owner\":".getBytes(StandardCharsets.UTF_8));
        List<String> takenOver = new ArrayList<>();
        try (RepositoryLock lock = RepositoryLock.acquire(
                storage, "torn", "backup", TTL, Duration.ZERO, Clock.systemUTC(), takenOver::add)) {
            assertThat(holders(storage, "torn")).singleElement().satisfies(this::isMine);
            // held for real: the next one is refused by this holder, not by the torn object
            assertThatThrownBy(() -> RepositoryLock.acquire(
                            storage, "torn", "prune", TTL, Duration.ZERO, Clock.systemUTC(), s -> {}))
                    .isInstanceOf(RepositoryLockedException.class)
                    .hasMessageContaining(
                            "backup of pid " + ProcessHandle.current().pid());
        }
        assertThat(takenOver).isEmpty();
        assertThat(storage.list("locks/torn/")).extracting(o -> o.key()).containsExactly("locks/torn/1-x.json");
    }

    @Test
    void aLockObjectThatIsJsonButNoLockBlocksNobody() throws Exception {
        // valid JSON without a lock's fields: every taker failed on a missing field before
        FileStorageBackend storage = new FileStorageBackend(dir);
        storage.createIfAbsent("locks/odd/1-x.json", "{}".getBytes(StandardCharsets.UTF_8));
        storage.createIfAbsent("locks/odd/2-y.json", "{\"owner\":\"z\",\"pid\":1}".getBytes(StandardCharsets.UTF_8));
        try (RepositoryLock lock =
                RepositoryLock.acquire(storage, "odd", "backup", TTL, Duration.ZERO, Clock.systemUTC(), s -> {})) {
            assertThat(holders(storage, "odd"))
                    .filteredOn(h -> Long.valueOf(ProcessHandle.current().pid()).equals(h.pid()) && h.owner() != null)
                    .singleElement()
                    .satisfies(this::isMine);
        }
        assertThat(RepositoryLock.staleLocks(storage, Clock.systemUTC()))
                .containsExactlyInAnyOrder("locks/odd/1-x.json", "locks/odd/2-y.json");
        assertThat(RepositoryLock.goneHolders(storage))
                .containsExactlyInAnyOrder("locks/odd/1-x.json", "locks/odd/2-y.json");
    }

    @Test
    void aLockObjectThatIsTheJsonNullBlocksNobody() throws Exception {
        // 'null' is JSON that reads as no object at all: every taker failed with a NullPointerException
        FileStorageBackend storage = new FileStorageBackend(dir);
        storage.createIfAbsent("locks/nil/1-x.json", "null".getBytes(StandardCharsets.UTF_8));
        try (RepositoryLock lock =
                RepositoryLock.acquire(storage, "nil", "backup", TTL, Duration.ZERO, Clock.systemUTC(), s -> {})) {
            assertThat(holders(storage, "nil"))
                    .filteredOn(h -> h != null
                            && Long.valueOf(ProcessHandle.current().pid()).equals(h.pid()))
                    .singleElement()
                    .satisfies(this::isMine);
        }
        assertThat(RepositoryLock.staleLocks(storage, Clock.systemUTC())).containsExactly("locks/nil/1-x.json");
    }

    @Test
    void aHolderWhoseLeaseRanOutChangesNothingMore() throws Exception {
        FileStorageBackend storage = new FileStorageBackend(dir);
        MutableClock clock = new MutableClock(Instant.parse("2026-12-04T10:00:00Z"));
        try (RepositoryLock lock =
                RepositoryLock.acquire(storage, "db", "backup", TTL, Duration.ZERO, clock, s -> {})) {
            lock.ensureHeld("writing a manifest"); // just taken
            clock.advance(TTL.minus(TTL.dividedBy(4)).minusSeconds(1));
            lock.ensureHeld("writing a manifest"); // within the margin's bounds
            clock.advance(Duration.ofSeconds(1)); // renewals (on their own schedule) have not landed
            assertThatThrownBy(() -> lock.ensureHeld("writing the manifest of backup X"))
                    .isInstanceOf(RepositoryLockedException.class)
                    .hasMessageContaining("lock 'db'")
                    .hasMessageContaining("no longer held")
                    .hasMessageContaining("by this host's clock its lease ends at 2026-12-04T10:05:00Z")
                    .hasMessageContaining("stopped before writing the manifest of backup X")
                    .hasMessageContaining("setting lock-ttl");
            clock.advance(TTL.negated()); // the clock stepped back: a lapse, once seen, still stands
            assertThatThrownBy(() -> lock.ensureHeld("deleting backup Y"))
                    .isInstanceOf(RepositoryLockedException.class);
        }
    }

    /**
     * A storage whose lock writes fail once {@code failAfter} of them landed; counts the lock writes tried and those that landed.
     */
    private static final class FlakyLocks extends ForwardingStorage {
        volatile int failAfter = Integer.MAX_VALUE;
        final AtomicInteger tries = new AtomicInteger();
        final AtomicInteger landed = new AtomicInteger();

        FlakyLocks(StorageBackend delegate) {
            super(delegate);
        }

        @Override
        public boolean createIfAbsent(String key, byte[] content) throws IOException {
            if (key.startsWith("locks/")) {
                tries.incrementAndGet();
                if (landed.get() >= failAfter) {
                    throw new IOException("connection refused");
                }
                boolean created = super.createIfAbsent(key, content);
                landed.incrementAndGet();
                return created;
            }
            return super.createIfAbsent(key, content);
        }
    }

    @Test
    void aLeaseThatRanOutWhileRenewalsFailedStaysLostWhenTheStorageComesBack() throws Exception {
        FlakyLocks storage = new FlakyLocks(new FileStorageBackend(dir));
        storage.failAfter = 1; // the acquiring write lands, every renewal fails, however late this thread runs
        Duration ttl = Duration.ofSeconds(2); // renewed every second; a quarter of it is the margin
        RepositoryLock lock =
                RepositoryLock.acquire(storage, "db", "backup", ttl, Duration.ZERO, Clock.systemUTC(), s -> {});
        long acquired = System.nanoTime();
        // past the lease on the monotonic clock, with at least one renewal tried and failed
        while (System.nanoTime() - acquired < ttl.toNanos() || storage.tries.get() < 2) {
            Thread.sleep(20);
        }
        storage.failAfter = Integer.MAX_VALUE;
        // the next renewal lands its write (the second landed, after the acquiring one): it must not
        // revive the lock. Counted once the object is there, so the listing below cannot run before it
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        while (storage.landed.get() < 2 && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(storage.landed.get())
                .as("a renewal landed once the storage came back")
                .isEqualTo(2);
        while (storage.list("locks/db/").size() > 1 && System.nanoTime() < deadline) {
            Thread.sleep(20); // the renewal removes the object it wrote once it sees the lapse
        }
        assertThat(storage.list("locks/db/")).hasSize(1); // the old one, expired
        assertThatThrownBy(() -> lock.ensureHeld("writing the manifest of backup X"))
                .isInstanceOf(RepositoryLockedException.class)
                .hasMessageContaining("no renewal landed within its lease of 2 s")
                .hasMessageContaining("connection refused");
        int afterLapse = storage.tries.get();
        Thread.sleep(2500); // two renewal periods: none writes again
        assertThat(storage.tries.get()).isEqualTo(afterLapse);
        lock.close();
        assertThat(storage.list("locks/db/")).isEmpty();
    }

    @Test
    void aHolderWhoseLockWasTakenOverNoticesAtItsNextRenewal() throws Exception {
        FileStorageBackend storage = new FileStorageBackend(dir);
        // renewed every second; a long lease, so that the renewal that finds the object gone
        // comes before the lease lapses however late a loaded machine runs it
        Duration ttl = Duration.ofSeconds(12);
        try (RepositoryLock lock =
                RepositoryLock.acquire(storage, "db", "backup", ttl, Duration.ZERO, Clock.systemUTC(), s -> {})) {
            for (var o : storage.list("locks/db/")) {
                storage.delete(o.key()); // as another process that judged it stale does
            }
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            RepositoryLockedException lost = null;
            while (lost == null && System.nanoTime() < deadline) {
                try {
                    lock.ensureHeld("deleting backup Y");
                    Thread.sleep(50);
                } catch (RepositoryLockedException e) {
                    lost = e;
                }
            }
            assertThat(lost).isNotNull();
            assertThat(lost.getMessage())
                    .contains("was removed by another process")
                    .contains("stopped before deleting backup Y");
            assertThat(storage.list("locks/db/"))
                    .as("a lost lock is not written again")
                    .isEmpty();
        }
    }

    /** The readable lock objects of a scope. */
    private static List<RepositoryLock.LockInfo> holders(FileStorageBackend storage, String scope) throws Exception {
        List<RepositoryLock.LockInfo> out = new ArrayList<>();
        for (var o : storage.list("locks/" + scope + "/")) {
            byte[] bytes;
            try (var in = storage.open(o.key(), 0)) {
                bytes = in.readAllBytes();
            }
            try {
                out.add(Json.read(bytes, RepositoryLock.LockInfo.class));
            } catch (IOException | RuntimeException torn) {
                // not a holder
            }
        }
        return out;
    }

    private void isMine(RepositoryLock.LockInfo h) {
        assertThat(h.host()).isEqualTo(Hosts.name());
        assertThat(h.pid()).isEqualTo(ProcessHandle.current().pid());
        assertThat(h.expiresAt()).isAfter(Instant.now());
    }
}
