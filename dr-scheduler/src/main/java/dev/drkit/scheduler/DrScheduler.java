package dev.drkit.scheduler;

import com.cronutils.model.CronType;
import com.cronutils.model.definition.CronDefinitionBuilder;
import com.cronutils.model.time.ExecutionTime;
import com.cronutils.parser.CronParser;
import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.DrEvent;
import dev.drkit.DrKit;
import dev.drkit.DrListener;
import dev.drkit.DrStatus;
import dev.drkit.Objectives;
import dev.drkit.RepositoryNotFoundException;
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
import java.util.Collection;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
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
 * <pre>{@code
 * try (DrScheduler scheduler = DrScheduler.builder(kit, SetupFile.load(path)).listener(alerts).start()) {
 *     ...
 * }
 * }</pre>
 *
 * <ul>
 *   <li>Each job runs once per scheduled time however many instances run the same setup on
 *       the same repository: a repository lock renewed while the job runs, taken over when its
 *       holder died, and a completion marker per slot in the repository.</li>
 *   <li>Misfires: after downtime only the newest missed time runs, once (no burst); a backup
 *       job whose target already has a backup started at or after that time counts as done.</li>
 *   <li>Each instance tries a time once: a failed job waits for its next time (the failure is
 *       an event for the listeners) instead of retrying in a loop.</li>
 *   <li>Once a minute the targets' RPOs are checked; a target whose newest backup (or, for a
 *       point-in-time-recovery target, the data archived since) is older than its RPO gets one {@link DrEvent.Type#RPO_AT_RISK} event until it recovers.</li>
 *   <li>The scheduler's events (RPO at risk, a job's stale lock taken over) go to the listeners
 *       given to its builder; give it those the kit has, so that one place hears of both.</li>
 *   <li>{@link #close()} stops taking new work and waits for running jobs up to the grace
 *       period, then interrupts them; an interrupted backup leaves no listed backup.</li>
 * </ul>
 *
 * <p>Thread-safe. The scheduler does not close the kit; it closes the repository storage it
 * opened itself.
 */
public final class DrScheduler implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(DrScheduler.class);
    private static final CronParser CRON = new CronParser(CronDefinitionBuilder.instanceDefinitionFor(CronType.UNIX));

    private final DrKit kit;
    private final Setup setup;
    private final Clock clock;
    private final Duration grace;
    private final List<DrListener> listeners;
    private final StorageBackend storage;
    private final boolean ownsStorage;
    private final JobSlots slots;
    private final List<Job> jobs = new ArrayList<>();
    private final Map<String, Instant> tried = new ConcurrentHashMap<>();
    private final Set<String> running = ConcurrentHashMap.newKeySet();
    private final Set<String> atRisk = new HashSet<>();
    private final ScheduledExecutorService ticker;
    private final ExecutorService workers;
    private volatile boolean stopping;
    private Instant lastRpoCheck = Instant.EPOCH;

    private DrScheduler(Builder b) {
        this.kit = b.kit;
        this.setup = b.setup;
        this.clock = b.clock;
        this.grace = b.grace;
        this.listeners = List.copyOf(b.listeners);
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
        // the jobs' locks and markers live beside the backups: in the storage a host gave the kit
        // (its repository URI may name another place), else on a handle of its own on the kit's repository
        StorageBackend given =
                b.storage != null ? b.storage : kit.givenStorage().orElse(null);
        this.ownsStorage = given == null;
        this.storage = given != null ? given : kit.openStorage(kit.config().repository());
        this.slots = new JobSlots(storage, kit.config().lockTtl(), clock, this::publish);
        this.ticker = Executors.newSingleThreadScheduledExecutor(r -> daemon(r, "drkit-scheduler"));
        this.workers = Executors.newFixedThreadPool(Math.max(1, Math.min(4, jobs.size())), r -> daemon(r, "drkit-job"));
    }

    /**
     * A builder of a scheduler that runs a setup's schedules with a kit on the setup's repository.
     *
     * @param kit the kit the jobs run with; the scheduler does not close it
     */
    public static Builder builder(DrKit kit, Setup setup) {
        return new Builder(kit, setup);
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

    /** A tick of the ticker: whatever it throws would cancel every later tick, silently. */
    private void tickSafely() {
        try {
            tick();
        } catch (Throwable e) {
            LOG.error("looking for due drkit jobs failed; trying again at the next tick", e);
        }
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
        if (now.isBefore(lastRpoCheck) || Duration.between(lastRpoCheck, now).toSeconds() >= 60) { // a step back too
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
            if (!job.backup && !kit.verifications(job.target.name(), slot).isEmpty()) {
                // verified at or after that time (here before the clock stepped back, or by hand): done
                tried.put(job.name, slot);
                return;
            }
            JobSlots.Outcome outcome = slots.run(job.name, slot, () -> job.run(this));
            if (outcome != JobSlots.Outcome.BUSY) {
                tried.put(job.name, slot);
            }
            LOG.info("{} for {}: {}", job.name, slot, outcome);
        } catch (RuntimeException e) {
            tried.put(job.name, slot); // the next scheduled time tries again
            LOG.error("{} for {} failed: {}", job.name, slot, e.getMessage());
        } catch (Error e) {
            // a NoClassDefFoundError of a conflicting dependency, an OutOfMemoryError: tried, or each tick runs it
            // again
            tried.put(job.name, slot);
            LOG.error("{} for {} failed", job.name, slot, e);
            throw e;
        }
    }

    private boolean backupSince(String target, Instant slot) {
        return kit.list(target).stream().map(BackupManifest::startedAt).anyMatch(t -> !t.isBefore(slot));
    }

    private void backup(Setup.Target t) {
        // a target the host configured on the kit (around its own DataSource or client) is backed up as such
        BackupResult r = kit.configuredTargets().contains(t.name()) ? kit.backup(t.name()) : kit.backup(t.spec());
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
        if (kit.list(t.name()).isEmpty()) {
            // nothing to verify yet (a first start runs both jobs' missed slots); the RPO check reports a missing
            // backup
            LOG.info("verify-{}: no backup to verify yet", t.name());
            return;
        }
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
        Map<String, Objectives> objectives = setup.targetObjectives();
        if (objectives.isEmpty()) {
            return;
        }
        try {
            for (DrStatus.Target t : kit.status(objectives).targets()) {
                if (!objectives.containsKey(t.name())) {
                    continue;
                }
                if (!t.rpoMet() && atRisk.add(t.name())) {
                    publish(new DrEvent(
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
        } catch (RepositoryNotFoundException e) {
            if (tried.isEmpty()) {
                // a new location before the first job has run: that job creates the repository
                LOG.debug("objectives not checked yet: {}", e.getMessage());
            } else {
                LOG.warn("checking the objectives failed: {}", e.getMessage());
            }
        } catch (RuntimeException e) {
            LOG.warn("checking the objectives failed: {}", e.getMessage());
        }
    }

    private void publish(DrEvent event) {
        for (DrListener l : listeners) {
            try {
                l.onEvent(event);
            } catch (RuntimeException e) {
                LOG.warn("drkit listener {} failed on event {}: {}", l, event.type(), e.toString());
            }
        }
    }

    /**
     * Stops scheduling; waits up to the grace period for running jobs, then interrupts them;
     * closes the repository storage the scheduler opened.
     */
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
        } finally {
            closeStorage();
        }
    }

    private void closeStorage() {
        if (ownsStorage) {
            try {
                storage.close();
            } catch (IOException e) {
                LOG.warn("closing the scheduler's handle on the repository failed: {}", e.getMessage());
            }
        }
    }

    private static Thread daemon(Runnable r, String name) {
        Thread t = new Thread(r, name);
        t.setDaemon(true);
        return t;
    }

    /** Builds a {@link DrScheduler}. Not thread-safe. */
    public static final class Builder {
        private final DrKit kit;
        private final Setup setup;
        private final List<DrListener> listeners = new ArrayList<>();
        private Clock clock;
        private Duration tick = Duration.ofSeconds(1);
        private Duration grace = Duration.ofMinutes(5);
        private StorageBackend storage;

        private Builder(DrKit kit, Setup setup) {
            this.kit = Objects.requireNonNull(kit, "kit");
            this.setup = Objects.requireNonNull(setup, "setup");
            this.clock = kit.clock();
        }

        /** Where the time comes from (default: the kit's clock, so that schedules and backups' ages agree). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /** How often to look for due jobs (default a second, which suits minute schedules). */
        public Builder tick(Duration tick) {
            if (tick == null || tick.isNegative() || tick.isZero()) {
                throw new IllegalArgumentException("the tick must be a positive duration, not " + tick);
            }
            this.tick = tick;
            return this;
        }

        /** How long {@link DrScheduler#close()} waits for running jobs before interrupting them (default 5 min). */
        public Builder grace(Duration grace) {
            if (grace == null || grace.isNegative()) {
                throw new IllegalArgumentException("the grace period must not be negative, not " + grace);
            }
            this.grace = grace;
            return this;
        }

        /**
         * Adds a listener for the scheduler's events ({@link DrEvent.Type#RPO_AT_RISK}, a job's
         * {@link DrEvent.Type#STALE_LOCK_TAKEN_OVER}); the jobs' own events go to the kit's
         * listeners, so a host usually gives both the same ones.
         */
        public Builder listener(DrListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /** Adds listeners, as {@link #listener} does for each. */
        public Builder listeners(Collection<? extends DrListener> more) {
            more.forEach(this::listener);
            return this;
        }

        /**
         * The storage of the kit's repository, where the jobs' locks and completion markers
         * live; not closed by the scheduler. By default the scheduler uses the storage the kit
         * was given ({@link DrKit#givenStorage()}), else opens the kit's repository again and
         * closes it on {@link DrScheduler#close()}.
         */
        public Builder storage(StorageBackend storage) {
            this.storage = Objects.requireNonNull(storage, "storage");
            return this;
        }

        /**
         * Starts running the setup's schedules.
         *
         * @throws StorageException when the repository's storage cannot be opened
         */
        public DrScheduler start() {
            DrScheduler s = new DrScheduler(this);
            s.ticker.scheduleWithFixedDelay(s::tickSafely, 0, tick.toMillis(), TimeUnit.MILLISECONDS);
            return s;
        }

        /** A scheduler that only looks for due jobs when {@link DrScheduler#runDue()} is called (for tests). */
        DrScheduler manual() {
            return new DrScheduler(this);
        }
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
