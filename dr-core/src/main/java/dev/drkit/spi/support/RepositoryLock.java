package dev.drkit.spi.support;

import dev.drkit.DrException;
import dev.drkit.RepositoryLockedException;
import dev.drkit.StorageException;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.StorageBackend;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.NoSuchFileException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An advisory lease lock in a repository's own storage, so that it works the same on a local
 * disk and on S3 and needs no coordination service. drkit locks a target while it backs it up
 * or prunes it, and the scheduler locks a job while it runs it; whatever else coordinates
 * writers of one repository takes the same locks.
 *
 * <p>Each holder writes its own write-once lock object under {@code locks/<scope>/} (owner
 * id, host, pid, expiry), then lists the scope: if another live lock is there, it removes
 * its own and backs off, so two writers never both hold the lock. A lock whose expiry has
 * passed, or whose process is gone on this host, is stale and is taken over. While held,
 * the lock is renewed by writing a fresh object and deleting the old one.
 *
 * <p>Thread-safe; a held lock is released by {@link #close()} (or lapses when its holder dies).
 */
public final class RepositoryLock implements AutoCloseable {
    /** Where lock objects live in a repository: {@code locks/<scope>/<object>.json}. */
    public static final String LOCKS = "locks/";

    private static final Logger LOG = LoggerFactory.getLogger(RepositoryLock.class);

    private final StorageBackend storage;
    private final String scope;
    private final Duration ttl;
    private final Clock clock;
    private final String owner = UUID.randomUUID().toString();
    private final ScheduledExecutorService renewer;
    private volatile String key;
    private volatile boolean released;
    /** The expiry of the newest lock object that landed: others take the lock over after it, by their clocks. */
    private volatile Instant heldUntil;
    /** The same lease on this process's monotonic clock: from the start of that object's write. */
    private volatile long heldUntilNanos;
    /** Why the lock was lost, once it was; null while held. Once set it stays: a lapse is never undone. */
    private volatile String lost;
    /** The last renewal's failure, for the message when the lock lapses; null after a success. */
    private volatile String renewalFailure;

    private RepositoryLock(StorageBackend storage, String scope, Duration ttl, Clock clock) {
        this.storage = storage;
        this.scope = scope;
        this.ttl = ttl;
        this.clock = clock;
        this.renewer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "drkit-lock-renewer-" + scope);
            t.setDaemon(true);
            return t;
        });
    }

    private static String prefix(String scope) {
        return LOCKS + scope + "/";
    }

    /**
     * Takes the lock of a scope, waiting up to {@code wait} for a live holder to finish, and
     * renews it every sixth of {@code ttl} until it is closed.
     *
     * @param scope what is locked, e.g. a target name (letters, digits, {@code . _ -})
     * @param operation what the holder does, told to those who find the lock taken
     * @param ttl how long the lock lasts unless renewed
     * @param onTakeover told of each stale lock removed, with a description of its holder
     * @throws RepositoryLockedException when a live holder still has it after {@code wait}
     * @throws StorageException when the storage fails
     */
    public static RepositoryLock acquire(
            StorageBackend storage,
            String scope,
            String operation,
            Duration ttl,
            Duration wait,
            Clock clock,
            Consumer<String> onTakeover) {
        RepositoryLock lock = new RepositoryLock(storage, scope, ttl, clock);
        long deadline = System.nanoTime() + wait.toNanos();
        while (true) {
            Optional<LockInfo> holder = lock.tryAcquire(operation, onTakeover);
            if (holder.isEmpty()) {
                // a sixth of the lease: several tries before a quarter of it is left, when one fails
                long period = Math.max(1000, ttl.toMillis() / 6);
                lock.renewer.scheduleWithFixedDelay(() -> lock.renew(operation), period, period, TimeUnit.MILLISECONDS);
                return lock;
            }
            if (System.nanoTime() > deadline) {
                lock.renewer.shutdownNow();
                LockInfo h = holder.get();
                throw new RepositoryLockedException("'" + scope + "' in " + storage.describe() + " is locked by "
                        + h.operation() + " of pid " + h.pid() + " on " + h.host() + " since " + h.createdAt()
                        + " (lock expires " + h.expiresAt() + " unless renewed); wait for it to finish and retry");
            }
            sleepQuietly(200 + ThreadLocalRandom.current().nextInt(300));
        }
    }

    private Optional<LockInfo> tryAcquire(String operation, Consumer<String> onTakeover) {
        Written mine = null;
        boolean taken = false;
        try {
            mine = write(operation);
            Map<String, LockInfo> others = new LinkedHashMap<>();
            for (ObjectInfo o : storage.list(prefix(scope))) {
                if (!o.key().equals(mine.key())) {
                    read(o.key()).filter(i -> !i.owner().equals(owner)).ifPresent(i -> others.put(o.key(), i));
                }
            }
            for (LockInfo info : others.values()) {
                if (!isStale(info)) {
                    return Optional.of(info);
                }
            }
            // every other holder's lease is over; an object its live holder could not delete when it
            // renewed would have stopped us above, so each one here is a takeover
            for (Map.Entry<String, LockInfo> e : others.entrySet()) {
                deleteQuietly(e.getKey()); // one left behind is stale, so harmless: the next taker removes it
                onTakeover.accept(e.getValue().describe());
                LOG.warn(
                        "took over stale drkit lock '{}' held by {}",
                        scope,
                        e.getValue().describe());
            }
            hold(mine);
            taken = true;
            return Optional.empty();
        } catch (IOException e) {
            throw new StorageException(
                    "taking lock '" + scope + "' in " + storage.describe() + " failed: " + e.getMessage(),
                    e,
                    StorageFailures.classify(e).retryable());
        } finally {
            if (mine != null && !taken) {
                deleteQuietly(mine.key()); // a lock object nobody holds would block everyone for a whole lease
            }
        }
    }

    /** A lock object written: its key, its expiry, and when its write began on the monotonic clock. */
    private record Written(String key, Instant expiresAt, long startedNanos) {}

    private Written write(String operation) throws IOException {
        long started = System.nanoTime();
        Instant now = clock.instant();
        LockInfo info = new LockInfo(
                owner,
                Hosts.name(),
                ProcessHandle.current().pid(),
                ProcessHandle.current().info().startInstant().orElse(null),
                operation,
                now,
                now.plus(ttl),
                PrivateScratch.processStart());
        String k = prefix(scope) + now.toEpochMilli() + "-" + UUID.randomUUID() + ".json";
        storage.createIfAbsent(k, Json.write(info));
        return new Written(k, info.expiresAt(), started);
    }

    /** Makes {@code w} the object that holds the lock, with the lease it gives. */
    private void hold(Written w) {
        key = w.key();
        heldUntil = w.expiresAt();
        heldUntilNanos = w.startedNanos() + ttl.toNanos();
    }

    /** The most of a lock object read: a lock is tiny, and more is not one (it reads as a torn lock). */
    public static final int MAX_LOCK_BYTES = 64 * 1024;

    /**
     * The first {@link #MAX_LOCK_BYTES} of the lock object {@code key}: a forged object of any
     * size costs no more memory than that.
     *
     * @throws java.nio.file.NoSuchFileException when it went (a release or a renewal)
     */
    public static byte[] readLockObject(StorageBackend storage, String key) throws IOException {
        try (InputStream in = storage.open(key, 0)) {
            return in.readNBytes(MAX_LOCK_BYTES);
        }
    }

    private Optional<LockInfo> read(String k) {
        try {
            LockInfo info = Json.read(readLockObject(storage, k), LockInfo.class);
            if (info == null || !info.complete()) { // the JSON null reads as no object at all
                throw new IOException("it is JSON but no drkit lock (its owner, host, operation or lease is missing)");
            }
            return Optional.of(info);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        } catch (IOException e) {
            // an unreadable lock object (torn write by a crashed holder) blocks nobody for ever
            LOG.warn("ignoring unreadable lock object {}: {}", k, e.getMessage());
            return Optional.empty();
        }
    }

    private boolean isStale(LockInfo info) {
        return info.expiresAt().isBefore(clock.instant())
                || PrivateScratch.holderGoneHere(info.host(), info.pid(), info.pidStartedAt(), info.processStart());
    }

    private void renew(String operation) {
        if (released || lost != null) {
            return;
        }
        try {
            String old = key;
            if (storage.stat(old).isEmpty()) {
                // removed by another process (one that judged it stale by a clock far ahead of ours) or by hand
                lost = "its lock object " + old + " was removed by another process";
                LOG.warn("drkit lock '{}' was lost: {}", scope, lost);
                return;
            }
            Written fresh = write(operation);
            // judged by the lease this renewal extends: if that (nearly) ran out before the new object
            // landed, another process may have taken the lock over meanwhile, so the lapse stands
            String lapsed = lapse();
            if (lapsed != null) {
                lost = lapsed;
                deleteQuietly(fresh.key());
                LOG.warn("drkit lock '{}' was lost: {}", scope, lapsed);
                return;
            }
            hold(fresh);
            renewalFailure = null;
            try {
                storage.delete(old);
            } catch (IOException e) {
                // the old object expires by itself; the lock is held by the new one
                LOG.warn("removing the previous object of drkit lock '{}' failed: {}", scope, e.getMessage());
            }
        } catch (IOException | RuntimeException e) {
            renewalFailure = e.getMessage();
            LOG.warn("renewing drkit lock '{}' failed (will retry): {}", scope, e.getMessage());
        }
    }

    /**
     * Why the lock can no longer be relied on, or null while it can: lost before, or its lease
     * (nearly) over, on this process's monotonic clock (renewals failed that long) or by the
     * clock others judge lock objects by (stepped forward). The margin, a quarter of the lease,
     * covers clocks that differ between hosts.
     */
    private String lapse() {
        String why = lost;
        if (why != null) {
            return why;
        }
        long margin = ttl.toNanos() / 4;
        String failure = renewalFailure == null ? "" : " (the last renewal failed: " + renewalFailure + ")";
        if (System.nanoTime() - (heldUntilNanos - margin) >= 0) {
            return "no renewal landed within its lease of " + ttl.toSeconds() + " s" + failure;
        }
        Instant until = heldUntil;
        if (!clock.instant().isBefore(until.minus(ttl.dividedBy(4)))) {
            return "by this host's clock its lease ends at " + until + ", too soon to go on" + failure;
        }
        return null;
    }

    private void deleteQuietly(String k) {
        try {
            storage.delete(k);
        } catch (IOException e) {
            LOG.warn("removing drkit lock object {} failed; it expires by itself: {}", k, e.getMessage());
        }
    }

    /**
     * Throws unless this holder still holds the lock with a safe margin: called before a step
     * that others rely on the lock for (writing a manifest, deleting objects), so that a holder
     * whose renewals failed until its lease (nearly) passed, and whom another process may have
     * taken over from, changes nothing more. Once it throws it always does (the lock is not
     * renewed again).
     *
     * @param step what the holder is about to do, for the message
     * @throws RepositoryLockedException when the lock was lost or its lease (nearly) passed
     */
    public void ensureHeld(String step) {
        if (released) {
            throw new IllegalStateException("lock '" + scope + "' was released before " + step);
        }
        String why = lapse();
        if (why != null) {
            lost = why;
            throw new RepositoryLockedException("lock '" + scope + "' in " + storage.describe() + " is no longer held: "
                    + why + "; stopped before " + step
                    + ", so nothing another holder relies on was changed; check the storage and run the operation "
                    + "again (setting lock-ttl gives a longer lease where the storage is slow)");
        }
    }

    /**
     * The lock objects in a storage whose holders are gone or whose leases have passed, and
     * those that cannot be read: what a new holder would take over.
     */
    public static List<String> staleLocks(StorageBackend storage, Clock clock) throws IOException {
        RepositoryLock probe = new RepositoryLock(storage, "check", Duration.ZERO, clock);
        try {
            List<String> stale = new ArrayList<>();
            for (ObjectInfo o : storage.list(LOCKS)) {
                Optional<LockInfo> info = probe.read(o.key());
                if (info.isEmpty() ? storage.stat(o.key()).isPresent() : probe.isStale(info.get())) {
                    stale.add(o.key());
                }
            }
            return stale;
        } finally {
            probe.renewer.shutdownNow();
        }
    }

    /**
     * The lock objects in a storage whose holders are provably gone without trusting any clock:
     * a process of this host that no longer runs (told by boot id and clock ticks where the lock
     * records them), and objects that cannot be read. A lock whose lease merely passed by this
     * host's clock is not among them: that clock may be ahead of the holder's.
     */
    public static List<String> goneHolders(StorageBackend storage) throws IOException {
        List<String> gone = new ArrayList<>();
        for (ObjectInfo o : storage.list(LOCKS)) {
            byte[] content;
            try {
                content = readLockObject(storage, o.key());
            } catch (NoSuchFileException e) {
                continue; // released
            } catch (IOException e) {
                continue; // a read that failed now (a 503, a network blip) proves nothing of its holder
            }
            LockInfo info;
            try {
                info = Json.read(content, LockInfo.class);
            } catch (IOException | RuntimeException e) {
                info = null;
            }
            if (info == null || !info.complete()) {
                gone.add(o.key()); // its content is no lock (a torn write): it blocks nobody for ever
                continue;
            }
            if (PrivateScratch.goneHere(info.host(), info.pid(), info.processStart())) {
                gone.add(o.key());
            }
        }
        return gone;
    }

    /** Releases the lock; safe to call more than once. */
    @Override
    public void close() {
        if (released) {
            return;
        }
        released = true;
        renewer.shutdownNow();
        // a holder interrupted (Ctrl-C, a scheduler's close) releases its lock too: the mark is set
        // aside while the renewer is awaited and the lock deleted, and kept for the caller
        try (InterruptAside aside = InterruptAside.setAside()) {
            try {
                renewer.awaitTermination(5, TimeUnit.SECONDS);
                storage.delete(key);
            } catch (IOException e) {
                LOG.warn("releasing drkit lock '{}' failed; it expires by itself: {}", scope, e.getMessage());
            } catch (InterruptedException e) {
                aside.keep();
            }
        }
    }

    private static void sleepQuietly(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DrException(DrException.ErrorCode.INTERRUPTED, "interrupted while waiting for a lock");
        }
    }

    /**
     * The content of a lock object.
     *
     * @param owner random id of the holder
     * @param host host name of the holder
     * @param pid process id of the holder
     * @param pidStartedAt when that process started, to tell a reused pid apart
     * @param operation what the holder does (backup, prune, ...)
     * @param createdAt when this object was written
     * @param expiresAt when it becomes stale unless renewed
     * @param processStart the holder's start as {@link PrivateScratch#processStart()} gives it
     *     (boot id and clock ticks, which a step of the system clock does not move); null in
     *     locks written before it was recorded
     */
    public record LockInfo(
            String owner,
            String host,
            long pid,
            Instant pidStartedAt,
            String operation,
            Instant createdAt,
            Instant expiresAt,
            String processStart) {
        /** A lock's content without {@code processStart}, as earlier versions wrote it. */
        public LockInfo(
                String owner,
                String host,
                long pid,
                Instant pidStartedAt,
                String operation,
                Instant createdAt,
                Instant expiresAt) {
            this(owner, host, pid, pidStartedAt, operation, createdAt, expiresAt, null);
        }

        String describe() {
            return operation + " (pid " + pid + " on " + host + ", lease until " + expiresAt + ")";
        }

        /**
         * Whether it has what every drkit lock has; JSON without them (a forged {@code {}}) is read
         * as a torn object is, rather than fail every taker of the lock on a missing field.
         */
        public boolean complete() {
            return owner != null && host != null && operation != null && expiresAt != null;
        }
    }
}
