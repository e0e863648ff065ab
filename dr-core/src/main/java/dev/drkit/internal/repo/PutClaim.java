package dev.drkit.internal.repo;

import dev.drkit.StorageException;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.support.Hosts;
import dev.drkit.spi.support.Json;
import dev.drkit.spi.support.PrivateScratch;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.NoSuchFileException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The right to store one archived file: objects {@code <info key>.claim.<generation>}, each
 * created if absent, so that of writers racing for a file exactly one writes its objects and
 * record while the others wait for the record and compare. A claim older than the TTL, or held
 * by a dead process on this host, is taken over by creating the next generation: only one
 * writer can create it, and the old holder sees it before writing its record and gives up.
 */
final class PutClaim {
    private static final Logger LOG = LoggerFactory.getLogger(PutClaim.class);
    private static final String CLAIM = ".claim.";

    /** Whether {@code key} is a claim on the record {@code infoKey}. */
    static boolean isClaim(String infoKey, String key) {
        return key.startsWith(infoKey + CLAIM);
    }

    private static final long MAX_POLL_MILLIS = 1000;

    /** Whether a file's record exists yet. */
    @FunctionalInterface
    interface Recorded {
        boolean exists() throws IOException;
    }

    private final StorageBackend storage;
    private final String infoKey;
    private final long generation;
    private final boolean holderAlive;

    private PutClaim(StorageBackend storage, String infoKey, long generation, boolean holderAlive) {
        this.storage = storage;
        this.infoKey = infoKey;
        this.generation = generation;
        this.holderAlive = holderAlive;
    }

    /**
     * Claims the file recorded at {@code infoKey}, waiting while another writer holds it.
     *
     * @return empty once the file is recorded (by another writer) before this one got the claim
     * @throws StorageException (retryable) when a holder neither finishes nor goes stale in time
     */
    static Optional<PutClaim> acquire(
            StorageBackend storage, String infoKey, Duration ttl, Clock clock, Recorded recorded, String what)
            throws IOException {
        long deadline = System.nanoTime() + ttl.multipliedBy(2).toNanos();
        long pause = 20;
        while (true) {
            List<ObjectInfo> claims = storage.list(infoKey + CLAIM);
            long top = -1;
            ObjectInfo topInfo = null;
            for (ObjectInfo o : claims) {
                long g = generationOf(infoKey, o.key());
                if (g > top) {
                    top = g;
                    topInfo = o;
                }
            }
            if (topInfo == null) {
                if (storage.createIfAbsent(key(infoKey, 0), Json.write(Holder.mine(clock.instant())))) {
                    return claimed(new PutClaim(storage, infoKey, 0, false), recorded);
                }
                continue;
            }
            Staleness stale = staleness(storage, topInfo, ttl, clock);
            if (stale != Staleness.FRESH) {
                if (storage.createIfAbsent(key(infoKey, top + 1), Json.write(Holder.mine(clock.instant())))) {
                    LOG.warn(
                            "took over the stale claim {} of a writer that did not finish storing {}",
                            topInfo.key(),
                            what);
                    for (ObjectInfo o : claims) {
                        storage.delete(o.key());
                    }
                    return claimed(new PutClaim(storage, infoKey, top + 1, stale == Staleness.EXPIRED), recorded);
                }
                continue;
            }
            if (recorded.exists()) {
                return Optional.empty();
            }
            if (System.nanoTime() > deadline) {
                throw new StorageException(
                        what + " is being stored by another writer (claim " + topInfo.key() + ") that has not "
                                + "finished within twice the repository lock lease (setting lock-ttl); retry later",
                        null,
                        true);
            }
            sleep(pause, what);
            pause = Math.min(MAX_POLL_MILLIS, pause * 2);
        }
    }

    /** A writer that finished between its look at the record and its claim leaves a record. */
    private static Optional<PutClaim> claimed(PutClaim claim, Recorded recorded) throws IOException {
        if (recorded.exists()) {
            claim.release();
            return Optional.empty();
        }
        return Optional.of(claim);
    }

    /** The claim's generation: 0 for the first writer, higher after take-overs. */
    long generation() {
        return generation;
    }

    /**
     * Whether the previous holder may still be alive (its claim only expired): its objects may
     * still appear, so this holder stores under a name of its own.
     */
    boolean previousHolderMayWrite() {
        return holderAlive;
    }

    /** Whether no other writer took this claim over; checked before the record is written. */
    boolean stillHeld() throws IOException {
        return storage.stat(key(infoKey, generation + 1)).isEmpty()
                && storage.stat(key(infoKey, generation)).isPresent();
    }

    /** Gives the claim up; a failure only leaves a claim the next writer takes over. */
    void release() {
        try {
            storage.delete(key(infoKey, generation));
        } catch (IOException | RuntimeException e) {
            LOG.warn("releasing claim {} failed; it expires by itself: {}", key(infoKey, generation), e.getMessage());
        }
    }

    private static String key(String infoKey, long generation) {
        return infoKey + CLAIM + generation;
    }

    private static long generationOf(String infoKey, String key) {
        String g = key.substring(infoKey.length() + CLAIM.length());
        if (g.isEmpty() || g.length() > 18 || !g.chars().allMatch(Character::isDigit)) {
            return -1; // not a claim of this file (another file's name continues this one's)
        }
        return Long.parseLong(g);
    }

    private enum Staleness {
        FRESH,
        /** Held by a process on this host that is gone: nothing of it can still appear. */
        DEAD,
        /** Older than the TTL: its holder is presumed gone. */
        EXPIRED
    }

    private static Staleness staleness(StorageBackend storage, ObjectInfo claim, Duration ttl, Clock clock)
            throws IOException {
        Instant now = clock.instant();
        Holder h;
        try (InputStream in = storage.open(claim.key(), 0)) {
            h = Json.read(in.readNBytes(64 * 1024), Holder.class);
        } catch (NoSuchFileException e) {
            return Staleness.FRESH; // released meanwhile: the next round sees the record or no claim
        } catch (IOException | RuntimeException e) {
            h = null; // torn by a crashed writer: judged by its age alone
        }
        if (h == null || h.createdAt() == null) {
            Instant written = claim.lastModified();
            return written == null || written.plus(ttl).isBefore(now) ? Staleness.EXPIRED : Staleness.FRESH;
        }
        if (h.createdAt().plus(ttl).isBefore(now)) {
            return Staleness.EXPIRED;
        }
        return h.isDeadHere() ? Staleness.DEAD : Staleness.FRESH;
    }

    private static void sleep(long millis, String what) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new StorageException("interrupted while waiting for another writer to store " + what, e, false);
        }
    }

    /**
     * Who holds a claim, to tell a crashed holder from a slow one. {@code processStart} is the
     * holder's start as {@link PrivateScratch#processStart()} gives it (boot id and clock ticks,
     * which a step of the system clock does not move, unlike {@code pidStartedAt}); null in claims
     * written before it was recorded.
     */
    record Holder(String token, String host, long pid, Instant pidStartedAt, Instant createdAt, String processStart) {
        static Holder mine(Instant now) {
            ProcessHandle self = ProcessHandle.current();
            return new Holder(
                    UUID.randomUUID().toString(),
                    Hosts.name(),
                    self.pid(),
                    self.info().startInstant().orElse(null),
                    now,
                    PrivateScratch.processStart());
        }

        boolean isDeadHere() {
            return PrivateScratch.holderGoneHere(host, pid, pidStartedAt, processStart);
        }
    }
}
