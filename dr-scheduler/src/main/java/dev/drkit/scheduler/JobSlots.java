package dev.drkit.scheduler;

import dev.drkit.DrEvent;
import dev.drkit.RepositoryLockedException;
import dev.drkit.StorageException;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.support.BackupIds;
import dev.drkit.spi.support.Hosts;
import dev.drkit.spi.support.Json;
import dev.drkit.spi.support.RepositoryLock;
import dev.drkit.spi.support.StorageFailures;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a scheduled job at most once per slot, however many instances (threads, processes,
 * hosts) share a repository: under the repository lock {@code job-<job>} (renewed while the job
 * runs, taken over when its holder's process is gone or its lease expired), and only if no
 * completion marker {@code status/jobs/<job>/<slot>.json} exists; the marker is written when the
 * job returns. A job that throws leaves no marker, so a later call retries the slot. Every
 * instance of every drkit version that shares the repository must agree on the lock scope and
 * the marker's name. Thread-safe.
 */
final class JobSlots {
    private static final Logger LOG = LoggerFactory.getLogger(JobSlots.class);
    private static final DateTimeFormatter SLOT =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    /** What {@link #run} did. */
    enum Outcome {
        /** This instance ran the job for the slot. */
        RAN,
        /** The job had already run for this slot (here or on another instance). */
        ALREADY_DONE,
        /** Another live instance is running it now; ask again later. */
        BUSY
    }

    private final StorageBackend storage;
    private final Duration lease;
    private final Clock clock;
    private final Consumer<DrEvent> events;

    /**
     * @param storage the repository's storage
     * @param lease how long a job's lock lasts unless renewed (the kit's lock TTL)
     * @param events told when a stale lock of a job is taken over
     */
    JobSlots(StorageBackend storage, Duration lease, Clock clock, Consumer<DrEvent> events) {
        this.storage = storage;
        this.lease = lease;
        this.clock = clock;
        this.events = events;
    }

    /** How long a completion marker is kept: only the newest due slot is looked up, or one a clock step put back. */
    static final Duration MARKER_KEPT = Duration.ofDays(7);

    private final Map<String, Instant> swept = new ConcurrentHashMap<>();

    /** At most once a day per job: removes the job's markers of slots more than {@link #MARKER_KEPT} before this one. */
    private void removeOldMarkers(String job, Instant slot) {
        Instant last = swept.get(job);
        if (last != null && !slot.isAfter(last.plus(Duration.ofDays(1))) && !slot.isBefore(last)) {
            return;
        }
        swept.put(job, slot);
        String before = marker(job, slot.minus(MARKER_KEPT));
        try {
            List<String> old = new ArrayList<>();
            for (ObjectInfo o : storage.list("status/jobs/" + job + "/")) {
                if (o.key().endsWith(".json") && o.key().compareTo(before) < 0) {
                    old.add(o.key()); // yyyyMMddTHHmmssZ names sort as their times
                }
            }
            storage.deleteAll(old);
        } catch (IOException | RuntimeException e) {
            LOG.warn(
                    "removing old completion markers of job {} failed (tried again tomorrow): {}", job, e.getMessage());
        }
    }

    /** Where the completion marker of a job's slot is. */
    static String marker(String job, Instant slot) {
        return "status/jobs/" + BackupIds.checkTargetName(job) + "/" + SLOT.format(slot) + ".json";
    }

    /**
     * @param job a name for the job, e.g. {@code backup-config} (letters, digits, {@code . _ -})
     * @param slot the scheduled time this run stands for
     */
    Outcome run(String job, Instant slot, Runnable work) {
        String marker = marker(job, slot);
        RepositoryLock lock;
        try {
            lock = RepositoryLock.acquire(
                    storage,
                    "job-" + job,
                    "scheduled " + job,
                    lease,
                    Duration.ZERO,
                    clock,
                    holder -> events.accept(new DrEvent(
                            DrEvent.Type.STALE_LOCK_TAKEN_OVER,
                            null,
                            null,
                            clock.instant(),
                            "took over the lock of job " + job + " from " + holder,
                            Map.of("holder", holder))));
        } catch (RepositoryLockedException e) {
            return Outcome.BUSY;
        }
        try (lock) {
            if (storage.stat(marker).isPresent()) {
                return Outcome.ALREADY_DONE;
            }
            work.run();
            storage.createIfAbsent(
                    marker,
                    Json.write(Map.of(
                            "job",
                            job,
                            "slot",
                            slot.toString(),
                            "host",
                            Hosts.name(),
                            "pid",
                            ProcessHandle.current().pid(),
                            "finishedAt",
                            clock.instant().toString())));
            removeOldMarkers(job, slot);
            return Outcome.RAN;
        } catch (IOException e) {
            throw new StorageException(
                    "recording the run of job " + job + " for " + slot + " failed: " + e.getMessage(),
                    e,
                    StorageFailures.classify(e).retryable());
        }
    }
}
