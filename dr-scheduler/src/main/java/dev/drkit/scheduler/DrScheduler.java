package dev.drkit.scheduler;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.DrEvent;
import dev.drkit.DrKit;
import dev.drkit.DrStatus;
import dev.drkit.Objectives;
import dev.drkit.StorageException;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.setup.Setup;
import dev.drkit.spi.StorageBackend;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs a {@link Setup}'s schedules inside a host service or the {@code drkit run} daemon: per
 * target a backup job (backup, then the target's retention, then a copy to each of the setup's
 * copies) and a verification job, at the times of their cron expressions (UTC).
 *
 * <ul>
 *   <li>Each job runs once per scheduled time however many instances run the same setup on
 *       the same repository ({@link DrKit#runOncePerSlot}: a repository lock renewed while the
 *       job runs, taken over when its holder died, and a completion marker per slot).</li>
 *   <li>Misfires: after downtime only the newest missed time runs, once (no burst); a backup
 *       job whose target already has a backup started at or after that time counts as done.</li>
 *   <li>Each instance tries a time once: a failed job waits for its next time (the failure is
 *       an event for the listeners) instead of retrying in a loop.</li>
 *   <li>Once a minute the targets' RPOs are checked; a target whose newest backup is older
 *       than its RPO gets one {@link DrEvent.Type#RPO_AT_RISK} event until it recovers.</li>
 *   <li>{@link #close()} stops taking new work and waits for running jobs up to the grace
 *       period, then interrupts them; an interrupted backup leaves no listed backup.</li>
 * </ul>
 *
 * <p>Thread-safe. The scheduler does not close the kit.
 */
public final class DrScheduler implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DrScheduler.class);
    private static final CronParser CRON = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));

    private final DrKit kit;
    private final Setup setup;
    private final Clock clock;
    private final Duration grace;
    private final List<Job> jobs = new ArrayList<>();
    private final Map<String, Instant> tried = new ConcurrentHashMap<>();
    private final Set<String> running = ConcurrentHashMap.newKeySet();
    private final Set<String> atRisk = new HashSet<>();
    private final ScheduledExecutorService ticker;
    private final ExecutorService workers;
    private volatile boolean stopping;
    private Instant lastRpoCheck = Instant.EPOCH;

    private DrScheduler(DrKit kit, Setup setup, Clock clock, Duration grace) {
        this.kit = kit;
        this.setup = setup;
        this.clock = clock;
        this.grace = grace;
        for (Setup.Target t : setup.targets().values()) {
            if (t.schedule() != null) {
                jobs.add(new Job("backup-" + t.name(), t, ExecutionTime.forCron(CRON.parse(t.schedule())), true));
            }
            if (t.verify().schedule() != null) {
                jobs.add(new Job(
                        "verify-" + t.name(),
                        t,
                        ExecutionTime.forCron(CRON.parse(t.verify().schedule())),
                        false));
            }
        }
        this.ticker = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "drkit-scheduler"));
        this.workers = Executors.newFixedThreadPool(Math.max(1, Math.min(4, jobs.size())), r -> daemon(r, "drkit-job"));
    }

    /**
     * Starts running the setup's schedules.
     *
     * @param tick how often to look for due jobs (a second suits minute schedules)
     * @param grace how long {@link #close()} waits for running jobs before interrupting them
     */
    public static DrScheduler start(DrKit kit, Setup setup, Clock clock, Duration tick, Duration grace) {
        DrScheduler s = new DrScheduler(kit, setup, clock, grace);
        s.ticker.scheduleWithFixedDelay(s::tick, 0, tick.toMillis(), TimeUnit.MILLISECONDS);
        return s;
    }

    /** A scheduler that only looks for due jobs when {@link #runDue()} is called (for tests). */
    static DrScheduler manual(DrKit kit, Setup setup, Clock clock, Duration grace) {
        return new DrScheduler(kit, setup, clock, grace);
    }

    /** Looks for due jobs once, as a tick does, and waits until the jobs it started have ended. */
    void runDue() throws InterruptedException, ExecutionException {
        for (Future<?> job : tick()) {
            job.get();
        }
    }

    /** The scheduled jobs: name and cron expression. */
    public Map<String, String> jobs() {
        Map<String, String> out = new LinkedHashMap<>();
        for (Job j : jobs) {
            out.put(j.name, j.backup ? j.target.schedule() : j.target.verify().schedule());
        }
        return out;
    }

    private List<Future<?>> tick() {
        List<Future<?>> started = new ArrayList<>();
        if (stopping) {
            return started;
        }
        Instant now = clock.instant();
        for (Job job : jobs) {
            Optional<Instant> due =
                    job.times.lastExecution(now.atZone(ZoneOffset.UTC)).map(t -> t.toInstant());
            if (due.isEmpty() || due.get().equals(tried.get(job.name)) || running.contains(job.name)) {
                continue;
            }
            Instant slot = due.get();
            running.add(job.name);
            started.add(workers.submit(() -> {
                try {
                    runSlot(job, slot);
                } finally {
                    running.remove(job.name);
                }
            }));
        }
        if (Duration.between(lastRpoCheck, now).toSeconds() >= 60) {
            lastRpoCheck = now;
            checkObjectives();
        }
        return started;
    }

    private void runSlot(Job job, Instant slot) {
        try {
            kit.initRepository(); // the scheduler writes: a new location becomes a repository
            if (job.backup && backupSince(job.target.name(), slot)) {
                tried.put(job.name, slot);
                return;
            }
            DrKit.SlotOutcome outcome = kit.runOncePerSlot(job.name, slot, () -> job.run(this));
            if (outcome != DrKit.SlotOutcome.BUSY) {
                tried.put(job.name, slot);
            }
            LOG.info("{} for {}: {}", job.name, slot, outcome);
        } catch (RuntimeException e) {
            tried.put(job.name, slot); // the next scheduled time tries again
            LOG.error("{} for {} failed: {}", job.name, slot, e.getMessage());
        }
    }

    private boolean backupSince(String target, Instant slot) {
        return kit.list(target).stream().map(BackupManifest::startedAt).anyMatch(t -> !t.isBefore(slot));
    }

    private void backup(Setup.Target t) {
        BackupResult r = kit.backup(t.spec());
        if (!t.retentionPolicy().isEmpty()) {
            kit.prune(t.name(), t.retentionPolicy(), false);
        }
        for (String uri : setup.copies()) {
            try (StorageBackend to = kit.openStorage(uri)) {
                kit.copy(t.name(), r.id(), false, to);
            } catch (IOException e) {
                throw new StorageException(
                        "closing " + uri + " after copying " + r.id() + ": " + e.getMessage(), e, true);
            }
        }
    }

    private void verify(Setup.Target t) {
        VerifyReport report = kit.verify(
                t.name(),
                null,
                VerifyLevel.parse(t.verify().level()),
                t.settings().overlaidBy(t.verify().options()));
        if (!report.passed()) {
            LOG.error("verification of {} {} failed: {}", t.name(), report.backupId(), report.problems());
        }
    }

    private void checkObjectives() {
        Map<String, Objectives> objectives = new LinkedHashMap<>();
        setup.targets().values().stream()
                .filter(t -> t.objectives() != null)
                .forEach(t -> objectives.put(t.name(), t.objectives()));
        if (objectives.isEmpty()) {
            return;
        }
        try {
            for (DrStatus.Target t : kit.status(objectives).targets()) {
                if (!objectives.containsKey(t.name())) {
                    continue;
                }
                if (!t.rpoMet() && atRisk.add(t.name())) {
                    kit.publish(new DrEvent(
                            DrEvent.Type.RPO_AT_RISK,
                            t.name(),
                            t.newestBackupId(),
                            clock.instant(),
                            "RPO at risk for " + t.name() + ": " + String.join("; ", t.problems()),
                            Map.of("rpoSeconds", t.rpoSeconds() == null ? -1 : t.rpoSeconds())));
                } else if (t.rpoMet()) {
                    atRisk.remove(t.name());
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("checking the objectives failed: {}", e.getMessage());
        }
    }

    /** Stops scheduling; waits up to the grace period for running jobs, then interrupts them. */
    @Override
    public void close() {
        stopping = true;
        ticker.shutdownNow();
        workers.shutdown();
        try {
            if (!workers.awaitTermination(grace.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("jobs still running after {} s: interrupting them ({})", grace.toSeconds(), running);
                workers.shutdownNow();
                workers.awaitTermination(30, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            workers.shutdownNow();
            Thread.currentThread().interrupt();
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    private record Job(String name, Setup.Target target, ExecutionTime times, boolean backup) {
        void run(DrScheduler s) {
            if (backup) {
                s.backup(target);
            } else {
                s.verify(target);
            }
        }
    }
}
