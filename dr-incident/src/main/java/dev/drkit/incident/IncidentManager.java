package dev.drkit.incident;

import dev.drkit.DrEvent;
import dev.drkit.DrListener;
import dev.drkit.DrStatus;
import dev.drkit.Settings;
import dev.drkit.failover.FailoverRun;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Declares and resolves {@link Incident}s from drkit's events and status, and sends a notice
 * about each to every channel: an initial notice when it is declared, an update each
 * {@linkplain Builder#updateEvery update interval} while it stays open, and a resolution notice.
 *
 * <table>
 *   <caption>What declares and what resolves an incident (one open incident per target and kind)</caption>
 *   <tr><th>kind</th><th>declared by</th><th>resolved by</th></tr>
 *   <tr><td>{@code RPO_AT_RISK}</td><td>{@link #evaluate}: the newest backup (or the WAL archived
 *       since, {@link DrStatus.Target#recoveryPointAt()}) older than the
 *       {@linkplain Builder#rpoAtRisk share} of the target's RPO objective (default 100%), or
 *       no backup at all; without a watched status, a {@link DrEvent.Type#RPO_AT_RISK} event</td>
 *       <td>a {@link DrEvent.Type#BACKUP_SUCCEEDED} of the target, or an evaluation that finds
 *       its newest backup young enough</td></tr>
 *   <tr><td>{@code BACKUP_FAILURES}</td><td>the {@linkplain Builder#failedBackups N-th}
 *       {@link DrEvent.Type#BACKUP_FAILED} in a row (default 2)</td>
 *       <td>a {@link DrEvent.Type#BACKUP_SUCCEEDED}</td></tr>
 *   <tr><td>{@code VERIFICATION_FAILED}</td><td>a {@link DrEvent.Type#VERIFY_FAILED}</td>
 *       <td>a {@link DrEvent.Type#VERIFY_SUCCEEDED} of the target</td></tr>
 *   <tr><td>{@code FAILOVER}</td><td>a {@link DrEvent.Type#FAILOVER_STARTED} (not of a dry run)</td>
 *       <td>a {@link DrEvent.Type#FAILOVER_COMPLETED} ({@link DrEvent.Type#FAILOVER_FAILED}, refused or
 *       failed, keeps it open and sends an update at once)</td></tr>
 * </table>
 *
 * <p>The root cause is the message of the event that declared the incident. Open incidents and
 * the failure counts are kept in a {@linkplain Builder#stateFile state file}, so that a restart
 * neither pages again nor forgets. Event handling only changes memory, writes that small file
 * and queues notices: delivery runs on a thread per channel, with retries and backoff, and a
 * notice that cannot be delivered is logged and reported as a {@link DrEvent.Type#NOTICE_FAILED}
 * event to the {@linkplain Builder#listener listeners} (as are {@link DrEvent.Type#INCIDENT_OPENED}
 * and {@link DrEvent.Type#INCIDENT_RESOLVED}). Time comes from the builder's {@link Clock}.
 *
 * <pre>{@code
 * IncidentManager incidents = IncidentManager.builder()
 *         .stateFile(Path.of("/var/lib/drkit/incidents.json"))
 *         .channel(new SlackWebhookChannel(slackUrl, false))
 *         .build();
 * DrKit kit = DrKit.builder()...listener(incidents).build();
 * incidents.watch(() -> kit.status(objectives), Duration.ofMinutes(1));
 * }</pre>
 *
 * <p>Thread-safe.
 */
public final class IncidentManager implements DrListener, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(IncidentManager.class);
    /** How long after its incident ended a resolution notice no channel took is still sent again. */
    private static final Duration RESOLUTION_GIVEN_UP = Duration.ofDays(7);

    private static final DateTimeFormatter ID_TIME =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);

    private final Clock clock;
    private final Path stateFile;
    /** Holds the state file's lock until {@link #close()}; null without a state file. */
    private final FileChannel stateLock;
    /** Set once the lock is released: the state file is no longer this manager's to write. */
    private volatile boolean released;

    private final double rpoAtRisk;
    private final int failedBackups;
    private final Duration updateEvery;
    private final NoticeTemplates templates;
    private final List<IncidentChannel> channels;
    private final List<Courier> couriers = new ArrayList<>();
    /** Notices rendered under the lock, sent once the state is saved (guarded by this). */
    private final List<Notice> outbox = new ArrayList<>();

    private final List<DrListener> listeners;
    private final Map<String, Incident> open = new LinkedHashMap<>();
    private final Map<String, Integer> failedInARow = new LinkedHashMap<>();
    /** When each target's latest backup succeeded, as its event said: a status may be older. */
    private final Map<String, Instant> succeededAt = new LinkedHashMap<>();
    /**
     * Resolved incidents whose resolution notice some channel has not taken yet, by id: sent again
     * every update interval (a page left open would escalate for good), kept in the state file.
     */
    private final Map<String, Resolving> resolving = new LinkedHashMap<>();

    /** A resolution notice on its way: the channels that have not taken it, and when it was last sent. */
    private static final class Resolving {
        final Incident incident;
        final Set<Courier> pending;
        Instant sentAt;

        Resolving(Incident incident, Set<Courier> pending, Instant sentAt) {
            this.incident = incident;
            this.pending = pending;
            this.sentAt = sentAt;
        }
    }

    private ScheduledExecutorService watcher;
    private volatile boolean statusWatched;

    private IncidentManager(Builder b) {
        this.clock = b.clock;
        this.stateFile = b.stateFile;
        this.stateLock = stateFile == null ? null : IncidentState.lock(stateFile); // before any thread starts
        this.rpoAtRisk = b.rpoAtRisk;
        this.failedBackups = b.failedBackups;
        this.updateEvery = b.updateEvery;
        this.templates = b.templates;
        this.channels = List.copyOf(b.channels);
        this.listeners = List.copyOf(b.listeners);
        for (IncidentChannel c : channels) {
            couriers.add(new Courier(c, b.attempts, b.backoff, this::deliveryFailed, this::delivered));
        }
        if (stateFile != null) {
            IncidentState.Doc doc;
            try {
                doc = IncidentState.load(stateFile);
            } catch (RuntimeException e) {
                releaseState();
                throw e;
            }
            doc.open().forEach(i -> open.put(key(i.target(), i.kind()), i));
            failedInARow.putAll(doc.failedInARow());
            // which channels took them before the restart is not known: all get them at the next evaluation
            doc.resolving().forEach(i -> resolving.put(i.id(), new Resolving(i, new HashSet<>(couriers), null)));
        }
    }

    /** A builder with the defaults: no state file, no channel, RPO at risk at 100%, 2 failed backups, updates hourly. */
    public static Builder builder() {
        return new Builder();
    }

    /** The open incidents, oldest first. */
    public synchronized List<Incident> openIncidents() {
        return List.copyOf(open.values());
    }

    /** The channels notices go to, in the order given. */
    public List<IncidentChannel> channels() {
        return channels;
    }

    @Override
    public void onEvent(DrEvent event) {
        List<DrEvent> reports = new ArrayList<>();
        synchronized (this) {
            if (handle(event, reports)) {
                persist();
            }
            send();
        }
        report(reports);
    }

    /**
     * Judges the status: declares an RPO incident for each target whose newest backup is older
     * than the configured share of its RPO objective (or that has none), counting for a
     * point-in-time-recovery target the data archived since ({@link DrStatus.Target#recoveryPointAt()}),
     * resolves those that
     * recovered, and sends the updates that are due. Targets without an RPO objective are left
     * alone. Called by {@link #watch}; a host that drives its own schedule calls it directly.
     *
     * @param status the kit's status, or null to send the due updates only
     */
    public void evaluate(DrStatus status) {
        List<DrEvent> reports = new ArrayList<>();
        synchronized (this) {
            Instant now = clock.instant();
            boolean changed = false;
            if (status != null) {
                for (DrStatus.Target t : status.targets()) {
                    changed |= judgeRpo(t, now, reports);
                }
            }
            for (Map.Entry<String, Incident> e : open.entrySet()) {
                Incident i = e.getValue();
                if (i.lastNoticeAt() == null || !now.isBefore(i.lastNoticeAt().plus(updateEvery))) {
                    e.setValue(notify(Notice.Type.UPDATE, i, now));
                    changed = true;
                }
            }
            changed |= resendResolutions(now);
            if (changed) {
                persist();
            }
            send();
        }
        report(reports);
    }

    /**
     * Evaluates every {@code every} on a thread of its own until {@link #close()}: the status
     * from {@code status} (failures are logged and the due updates sent all the same). While
     * a status is watched, RPO incidents come from it alone and {@link DrEvent.Type#RPO_AT_RISK}
     * events are ignored.
     *
     * @param status the kit's status with the targets' objectives, e.g. {@code () -> kit.status(objectives)};
     *     null to send the due updates only
     * @throws IllegalStateException when already watching
     */
    public synchronized void watch(Supplier<DrStatus> status, Duration every) {
        if (every == null || every.isNegative() || every.isZero()) {
            throw new IllegalArgumentException("the evaluation interval must be positive, not " + every);
        }
        if (watcher != null) {
            throw new IllegalStateException("the incident manager is already watching");
        }
        statusWatched = status != null;
        watcher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "drkit-incidents");
            t.setDaemon(true);
            return t;
        });
        watcher.scheduleWithFixedDelay(
                () -> {
                    DrStatus s = null;
                    try {
                        s = status == null ? null : status.get();
                    } catch (RuntimeException e) {
                        LOG.warn("incidents: the status could not be taken: {}", e.getMessage());
                    }
                    try {
                        evaluate(s);
                    } catch (RuntimeException e) {
                        LOG.warn("incidents: the evaluation failed: {}", e.getMessage());
                    }
                },
                0,
                every.toMillis(),
                TimeUnit.MILLISECONDS);
    }

    // ------------------------------------------------------------ the rules

    private boolean handle(DrEvent raw, List<DrEvent> reports) {
        if (Boolean.TRUE.equals(raw.details().get(FailoverRun.DRY_RUN))) {
            return false; // a failover rehearsal changes nothing and pages no one
        }
        // event messages should hold no secret; a notice leaves the house, so it is made sure of
        DrEvent event =
                new DrEvent(raw.type(), raw.target(), raw.backupId(), raw.at(), clean(raw.message()), raw.details());
        String target = event.target() == null ? "repository" : event.target();
        Instant now = clock.instant();
        switch (event.type()) {
            case BACKUP_SUCCEEDED -> {
                succeededAt.merge(target, event.at(), (a, b) -> a.isAfter(b) ? a : b);
                boolean counted = failedInARow.remove(target) != null;
                String how = "backup " + event.backupId() + " succeeded at " + event.at();
                boolean a = resolve(target, Incident.Kind.BACKUP_FAILURES, how, now, reports);
                boolean b = resolve(target, Incident.Kind.RPO_AT_RISK, how, now, reports);
                return counted || a || b;
            }
            case BACKUP_FAILED -> {
                int n = failedInARow.merge(target, 1, Integer::sum);
                if (n < failedBackups) {
                    return true;
                }
                Incident existing = open.get(key(target, Incident.Kind.BACKUP_FAILURES));
                if (existing != null) {
                    open.put(
                            key(target, Incident.Kind.BACKUP_FAILURES),
                            existing.withStatus(
                                    "failing: " + n + " backups in a row",
                                    "backup failed at " + event.at() + ": " + event.message()));
                    return true;
                }
                declare(
                        target,
                        Incident.Kind.BACKUP_FAILURES,
                        Incident.Severity.ERROR,
                        n + " backups of " + target + " failed in a row; the newest usable backup grows older with "
                                + "each failure, and so does the data a restore would lose.",
                        event.message(),
                        now,
                        reports);
                return true;
            }
            case VERIFY_FAILED -> {
                return declare(
                        target,
                        Incident.Kind.VERIFICATION_FAILED,
                        Incident.Severity.ERROR,
                        "Backup " + event.backupId() + " of " + target + " failed verification: a restore from it "
                                + "may fail or be incomplete.",
                        event.message(),
                        now,
                        reports);
            }
            case VERIFY_SUCCEEDED -> {
                return resolve(
                        target,
                        Incident.Kind.VERIFICATION_FAILED,
                        "backup " + event.backupId() + " verified at " + event.at(),
                        now,
                        reports);
            }
            case RPO_AT_RISK -> {
                return !statusWatched
                        && declare(
                                target,
                                Incident.Kind.RPO_AT_RISK,
                                Incident.Severity.ERROR,
                                "The newest backup of " + target
                                        + " is older than its RPO objective: a restore now would "
                                        + "lose more data than the plan allows.",
                                event.message(),
                                now,
                                reports);
            }
            case FAILOVER_STARTED -> {
                return declare(
                        target,
                        Incident.Kind.FAILOVER,
                        Incident.Severity.CRITICAL,
                        target + " is failing over: writes fail until a standby is promoted and traffic is "
                                + "switched to it.",
                        event.message(),
                        now,
                        reports);
            }
            case FAILOVER_COMPLETED -> {
                return resolve(target, Incident.Kind.FAILOVER, "failover succeeded: " + event.message(), now, reports);
            }
            case FAILOVER_FAILED -> {
                String k = key(target, Incident.Kind.FAILOVER);
                Incident i = open.get(k);
                if (i == null) {
                    return false;
                }
                open.put(
                        k,
                        notify(
                                Notice.Type.UPDATE,
                                i.withStatus("failover failed: " + event.message(), "failover failed at " + event.at()),
                                now));
                return true;
            }
            default -> {
                return false;
            }
        }
    }

    private boolean judgeRpo(DrStatus.Target t, Instant now, List<DrEvent> reports) {
        if (t.rpoSeconds() == null) {
            // the objective was removed (perhaps in answer to the page): an incident against it ends
            return resolve(
                    t.name(), Incident.Kind.RPO_AT_RISK, t.name() + " no longer has an RPO objective", now, reports);
        }
        double limit = rpoAtRisk * t.rpoSeconds();
        Duration rpo = Duration.ofSeconds(t.rpoSeconds());
        Instant seen = succeededAt.get(t.name());
        if (seen != null && (t.newestBackupAt() == null || seen.isAfter(t.newestBackupAt()))) {
            // the status was taken before a backup this manager has since heard of
            Duration sinceSeen = Duration.between(seen, now);
            if (sinceSeen.toMillis() <= limit * 1000) {
                return false;
            }
        }
        if (t.newestBackupAt() == null) {
            return declare(
                    t.name(),
                    Incident.Kind.RPO_AT_RISK,
                    Incident.Severity.ERROR,
                    t.name() + " has no backup: there is nothing to restore from.",
                    t.name() + " has no complete backup (RPO objective " + NoticeTemplates.human(rpo) + ")",
                    now,
                    reports);
        }
        // a point-in-time-recovery target's data goes on being archived after its newest backup
        // (PostgreSQL's WAL): a restore reaches the later of the two
        boolean archived = t.recoveryPointAt() != null && t.recoveryPointAt().isAfter(t.newestBackupAt());
        Instant reaches = archived ? t.recoveryPointAt() : t.newestBackupAt();
        Duration age = Duration.between(reaches, now);
        if (age.toMillis() <= limit * 1000) {
            return resolve(
                    t.name(),
                    Incident.Kind.RPO_AT_RISK,
                    archived
                            ? "the WAL archived since backup " + t.newestBackupId() + " reaches " + reaches + ", "
                                    + NoticeTemplates.human(age) + " ago, within the RPO"
                            : "newest backup " + t.newestBackupId() + " is " + NoticeTemplates.human(age)
                                    + " old, within the RPO",
                    now,
                    reports);
        }
        boolean breached = age.compareTo(rpo) > 0;
        return declare(
                t.name(),
                Incident.Kind.RPO_AT_RISK,
                breached ? Incident.Severity.ERROR : Incident.Severity.WARNING,
                (archived
                                ? "The newest data of " + t.name() + " a restore reaches (the WAL archived since its "
                                        + "newest backup) is "
                                : "The newest backup of " + t.name() + " is ")
                        + NoticeTemplates.human(age) + " old against an RPO "
                        + "objective of " + NoticeTemplates.human(rpo) + ": a restore now would lose up to "
                        + NoticeTemplates.human(age) + " of data.",
                archived
                        ? "no WAL of " + t.name() + " archived since " + reaches + " (newest backup "
                                + t.newestBackupId() + " of " + t.newestBackupAt() + ")"
                        : "no backup of " + t.name() + " since " + t.newestBackupAt() + " (" + t.newestBackupId() + ")",
                now,
                reports);
    }

    private boolean declare(
            String target,
            Incident.Kind kind,
            Incident.Severity severity,
            String impact,
            String rootCause,
            Instant now,
            List<DrEvent> reports) {
        String k = key(target, kind);
        if (open.containsKey(k)) {
            return false;
        }
        Incident i = new Incident(
                id(target, kind, now),
                kind,
                target,
                severity,
                now,
                null,
                impact,
                rootCause,
                "investigating",
                List.of(),
                null);
        open.put(k, notify(Notice.Type.INITIAL, i, now));
        LOG.warn("incident {} declared: {}: {}", i.id(), i.title(), rootCause);
        reports.add(event(
                DrEvent.Type.INCIDENT_OPENED,
                i,
                now,
                "incident " + i.id() + " declared: " + i.title(),
                Map.of("kind", kind.slug(), "severity", severity.wire())));
        return true;
    }

    private boolean resolve(String target, Incident.Kind kind, String how, Instant now, List<DrEvent> reports) {
        Incident i = open.remove(key(target, kind));
        if (i == null) {
            return false;
        }
        Incident done = i.resolved(now, how);
        notify(Notice.Type.RESOLUTION, done, now);
        if (!couriers.isEmpty()) {
            resolving.put(done.id(), new Resolving(done, new HashSet<>(couriers), now));
        }
        LOG.info("incident {} resolved after {}: {}", i.id(), NoticeTemplates.human(done.duration(now)), how);
        reports.add(event(
                DrEvent.Type.INCIDENT_RESOLVED,
                done,
                now,
                "incident " + i.id() + " resolved: " + how,
                Map.of(DrEvent.SECONDS, (double) done.duration(now).toMillis() / 1000)));
        return true;
    }

    /**
     * Renders a notice for {@link #send}, once the state file holds the incident as noticed:
     * whoever reads a page can rely on a restarted daemon knowing the incident. Returns the
     * incident as noticed.
     */
    private Incident notify(Notice.Type type, Incident i, Instant now) {
        Instant next = type == Notice.Type.RESOLUTION ? null : now.plus(updateEvery);
        outbox.add(templates.render(type, i, now, next));
        return i.noticed(now);
    }

    /** Queues the rendered notices to every channel. */
    private void send() {
        for (Notice notice : outbox) {
            couriers.forEach(c -> c.deliver(notice));
        }
        outbox.clear();
    }

    /**
     * Sends again the resolutions some channel has not taken, to those channels, once per update
     * interval; gives up on one a week after its incident ended. Returns whether the set changed.
     */
    private boolean resendResolutions(Instant now) {
        boolean changed = false;
        for (Iterator<Resolving> it = resolving.values().iterator(); it.hasNext(); ) {
            Resolving r = it.next();
            if (r.sentAt != null && now.isBefore(r.sentAt.plus(updateEvery))) {
                continue;
            }
            if (r.pending.isEmpty() || now.isAfter(r.incident.endedAt().plus(RESOLUTION_GIVEN_UP))) {
                LOG.warn(
                        "incidents: gave up on the resolution notice of incident {}, which {} did not take in {} "
                                + "days; close it there by hand",
                        r.incident.id(),
                        r.pending.isEmpty() ? "a channel" : r.pending.size() + " channel(s)",
                        RESOLUTION_GIVEN_UP.toDays());
                it.remove();
                changed = true;
                continue;
            }
            Notice notice = templates.render(Notice.Type.RESOLUTION, r.incident, now, null);
            r.pending.forEach(c -> c.deliver(notice));
            r.sentAt = now;
        }
        return changed;
    }

    /** A channel took a notice: a resolution it took is no longer sent to it again. */
    private void delivered(Notice notice, Courier courier) {
        if (notice.type() != Notice.Type.RESOLUTION) {
            return;
        }
        synchronized (this) {
            Resolving r = resolving.get(notice.incident().id());
            if (r != null && r.pending.remove(courier) && r.pending.isEmpty()) {
                resolving.remove(notice.incident().id());
                persist();
            }
        }
    }

    private void deliveryFailed(Notice notice, String why) {
        report(List.of(event(
                DrEvent.Type.NOTICE_FAILED,
                notice.incident(),
                clock.instant(),
                "the " + notice.type().name().toLowerCase(Locale.ROOT) + " notice of incident "
                        + notice.incident().id() + " was not delivered: " + why,
                Map.of())));
    }

    private static DrEvent event(DrEvent.Type type, Incident i, Instant at, String message, Map<String, Object> more) {
        Map<String, Object> details = new LinkedHashMap<>(more);
        details.put(DrEvent.INCIDENT_ID, i.id());
        return new DrEvent(type, i.target(), null, at, message, details);
    }

    private void report(List<DrEvent> events) {
        for (DrEvent e : events) {
            for (DrListener l : listeners) {
                try {
                    l.onEvent(e);
                } catch (RuntimeException ex) {
                    LOG.warn("drkit listener {} failed on event {}: {}", l, e.type(), ex.getMessage());
                }
            }
        }
    }

    private void persist() {
        if (stateFile == null) {
            return;
        }
        if (released) {
            // closed: the file may be another manager's now, whose state this would overwrite
            LOG.debug("incidents: closed, the state file {} is no longer written", stateFile);
            return;
        }
        try {
            IncidentState.save(
                    stateFile,
                    new ArrayList<>(open.values()),
                    failedInARow,
                    resolving.values().stream().map(r -> r.incident).toList());
        } catch (IOException | RuntimeException e) {
            // never thrown into the backup that caused the event; the next change tries again
            LOG.warn("incidents: could not write the state file {}: {}", stateFile, e.getMessage());
        }
    }

    /** A message with any password or token in it masked, at most 2000 characters. */
    static String clean(String message) {
        if (message == null) {
            return "";
        }
        String s = Settings.redact(message);
        return s.length() <= 2000 ? s : s.substring(0, 1999) + "…";
    }

    private static String key(String target, Incident.Kind kind) {
        return target + "\u0000" + kind;
    }

    private static String id(String target, Incident.Kind kind, Instant at) {
        String safe = target.replaceAll("[^A-Za-z0-9._-]", "-");
        if (safe.length() > 100) {
            safe = safe.substring(0, 100);
        }
        return "drkit-" + safe + "-" + kind.slug() + "-" + ID_TIME.format(at);
    }

    /** Stops watching, then delivers the queued notices (up to 30 s per channel). */
    @Override
    public void close() {
        synchronized (this) {
            if (watcher != null) {
                watcher.shutdownNow();
            }
        }
        couriers.forEach(c -> c.close(Duration.ofSeconds(30)));
        releaseState();
    }

    /** Lets another manager take the state file, as the end of this process would. */
    void releaseState() {
        released = true;
        if (stateLock != null) {
            try {
                IncidentState.unlock(stateLock);
            } catch (IOException e) {
                LOG.debug("incidents: closing the state file's lock: {}", e.getMessage());
            }
        }
    }

    @Override
    public String toString() {
        return "IncidentManager[" + channels + "]";
    }

    /** Builds an {@link IncidentManager}; each setter rejects a bad value at once. Not thread-safe. */
    public static final class Builder {
        private Clock clock = Clock.systemUTC();
        private Path stateFile;
        private double rpoAtRisk = 1.0;
        private int failedBackups = 2;
        private Duration updateEvery = Duration.ofHours(1);
        private NoticeTemplates templates = NoticeTemplates.defaults();
        private final List<IncidentChannel> channels = new ArrayList<>();
        private final List<DrListener> listeners = new ArrayList<>();
        private int attempts = 5;
        private Duration backoff = Duration.ofSeconds(2);

        private Builder() {}

        /** Where the time comes from (default: the system clock in UTC). */
        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * The file the open incidents and failure counts are kept in (written with mode 0600);
         * default none, so a restart forgets them and declares again what still holds.
         */
        public Builder stateFile(Path stateFile) {
            this.stateFile = Objects.requireNonNull(stateFile, "stateFile");
            return this;
        }

        /**
         * The share of a target's RPO objective its newest backup may reach before an RPO
         * incident is declared (default 1.0: when the objective is missed). A smaller share warns
         * before the breach; it suits targets backed up much more often than their RPO.
         *
         * @throws IllegalArgumentException unless 0.1 to 10
         */
        public Builder rpoAtRisk(double share) {
            if (!(share >= 0.1 && share <= 10)) {
                throw new IllegalArgumentException("the RPO share must be 0.1 to 10 (10% to 1000%), not " + share);
            }
            this.rpoAtRisk = share;
            return this;
        }

        /**
         * How many backups of a target must fail in a row to declare an incident (default 2).
         *
         * @throws IllegalArgumentException unless 1 to 1000
         */
        public Builder failedBackups(int count) {
            if (count < 1 || count > 1000) {
                throw new IllegalArgumentException("failed backups must be 1 to 1000, not " + count);
            }
            this.failedBackups = count;
            return this;
        }

        /**
         * How often an update is sent while an incident is open (default 1 h, the plan's "initial
         * notice within 1 hour, then updates").
         *
         * @throws IllegalArgumentException unless at least a second
         */
        public Builder updateEvery(Duration every) {
            if (every == null || every.compareTo(Duration.ofSeconds(1)) < 0) {
                throw new IllegalArgumentException("the update interval must be at least 1s, not " + every);
            }
            this.updateEvery = every;
            return this;
        }

        /** The notice templates (default {@link NoticeTemplates#defaults()}). */
        public Builder templates(NoticeTemplates templates) {
            this.templates = Objects.requireNonNull(templates, "templates");
            return this;
        }

        /** Adds a channel every notice goes to. */
        public Builder channel(IncidentChannel channel) {
            channels.add(Objects.requireNonNull(channel, "channel"));
            return this;
        }

        /** Adds channels, as {@link #channel} does for each. */
        public Builder channels(Collection<? extends IncidentChannel> more) {
            more.forEach(this::channel);
            return this;
        }

        /**
         * Adds a listener for the manager's own events ({@link DrEvent.Type#INCIDENT_OPENED},
         * {@link DrEvent.Type#INCIDENT_RESOLVED}, {@link DrEvent.Type#NOTICE_FAILED}), e.g. a
         * {@link dev.drkit.notify.LoggingListener} or the host's metrics.
         */
        public Builder listener(DrListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /**
         * How deliveries are retried: {@code attempts} per notice and channel (default 5), the
         * first retry after {@code backoff} (default 2 s), doubled for each further one (at most 5 min).
         *
         * @throws IllegalArgumentException unless attempts is 1 to 20 and backoff positive
         */
        public Builder delivery(int attempts, Duration backoff) {
            if (attempts < 1 || attempts > 20) {
                throw new IllegalArgumentException("delivery attempts must be 1 to 20, not " + attempts);
            }
            if (backoff == null || backoff.isNegative() || backoff.isZero()) {
                throw new IllegalArgumentException("the delivery backoff must be positive, not " + backoff);
            }
            this.attempts = attempts;
            this.backoff = backoff;
            return this;
        }

        /**
         * The manager, with the open incidents of the state file.
         *
         * @throws dev.drkit.ConfigException when the state file cannot be read or is damaged
         */
        public IncidentManager build() {
            return new IncidentManager(this);
        }
    }
}
