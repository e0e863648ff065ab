package dev.drkit.micrometer;

import dev.drkit.DrEvent;
import dev.drkit.DrListener;
import dev.drkit.DrStatus;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tag;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.BaseUnits;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.Locale;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BinaryOperator;
import java.util.function.ToDoubleFunction;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Micrometer meters for a kit's backups, restores and verifications: a {@link DrListener} that
 * records the kit's events in the host's {@link MeterRegistry}, and per-target gauges that
 * {@link #record(DrStatus)} also sets, so that they are right from start-up, before any event.
 *
 * <pre>{@code
 * DrMetrics metrics = new DrMetrics(registry);
 * DrKit kit = DrKit.builder()
 *         .repository("/var/backups/drkit")
 *         .target(TargetSpec.files("config", "/etc/myapp"))
 *         .listener(metrics)
 *         .build();
 * metrics.record(kit.status(objectives)); // at start-up and on each health check
 * }</pre>
 *
 * <p>The meters, with their Prometheus names; tags are {@code target} (the target's name),
 * {@code type} (its type, e.g. {@code files}), {@code level} (the verification level, e.g.
 * {@code checksum}) and {@code outcome} ({@code success} or {@code failure}):
 *
 * <ul>
 *   <li>{@code drkit.backup} timer (target, type, outcome; {@code drkit_backup_seconds_count},
 *       {@code _sum}, {@code _max}): each backup's wall time.
 *   <li>{@code drkit.restore} timer (target, type, outcome; {@code drkit_restore_seconds_*}).
 *   <li>{@code drkit.verify} timer (target, type, level, outcome; {@code drkit_verify_seconds_*}): the
 *       verifiers' time.
 *   <li>{@code drkit.backup.read} counter in bytes (target, type; {@code drkit_backup_read_bytes_total}):
 *       the bytes the successful backups read from their sources.
 *   <li>{@code drkit.backup.stored} counter in bytes (target, type; {@code drkit_backup_stored_bytes_total}):
 *       what they stored after compression and encryption.
 *   <li>{@code drkit.backup.last.success.age} gauge in seconds (target;
 *       {@code drkit_backup_last_success_age_seconds}): the time since the newest successful backup,
 *       the live RPO; NaN until one is known.
 *   <li>{@code drkit.recovery.point.age} gauge in seconds (target;
 *       {@code drkit_recovery_point_age_seconds}): the time since the newest point a restore can
 *       reach: for a physical PostgreSQL target the newest WAL archived without a gap since its
 *       newest backup, as the last {@link #record(DrStatus) recorded status} said
 *       ({@link DrStatus.Target#recoveryPointAt()}), for others the newest backup, as
 *       {@code drkit.backup.last.success.age}; the one to alert on against the RPO objective.
 *   <li>{@code drkit.backup.rpo.objective} gauge in seconds (target; {@code drkit_backup_rpo_objective_seconds}):
 *       the RPO objective the last {@link #record(DrStatus) recorded status} gave, NaN when none, for
 *       alerts that compare the age with it.
 *   <li>{@code drkit.verify.last.passed} gauge (target; {@code drkit_verify_last_passed}): 1 when the
 *       newest verification passed, 0 when it failed, NaN when unknown.
 *   <li>{@code drkit.restore.test.duration} gauge in seconds (target;
 *       {@code drkit_restore_test_duration_seconds}): the time to a validated restore of the newest
 *       passed restore test, the measured RTO; NaN until one is known.
 * </ul>
 *
 * <p>A target's gauges are registered the first time the target is seen, in an outcome event or a
 * status.
 * Give it the clock the kit has (both default to the system clock): the age is this clock's now minus
 * the time the kit stamped on the backup. Use one instance per registry (or distinct common tags): a second
 * instance's gauges would be the first's, which Micrometer returns for the same name and tags.
 *
 * <p>Thread-safe: events arrive on the threads doing the work, several at a time. Recording is quick
 * and never throws; a failure of the registry is logged at debug level and otherwise ignored.
 */
public final class DrMetrics implements DrListener {
    private static final Logger LOG = LoggerFactory.getLogger(DrMetrics.class);

    private static final String TARGET = "target";
    private static final String TYPE = "type";
    private static final String LEVEL = "level";
    private static final String OUTCOME = "outcome";
    private static final String SUCCESS = "success";
    private static final String FAILURE = "failure";
    private static final String UNKNOWN = "unknown";
    private static final Set<DrEvent.Type> OUTCOMES = EnumSet.of(
            DrEvent.Type.BACKUP_SUCCEEDED,
            DrEvent.Type.BACKUP_FAILED,
            DrEvent.Type.RESTORE_SUCCEEDED,
            DrEvent.Type.RESTORE_FAILED,
            DrEvent.Type.VERIFY_SUCCEEDED,
            DrEvent.Type.VERIFY_FAILED);
    // Micrometer's base unit of time; BaseUnits has no constant for it
    private static final String SECONDS = "seconds";
    // how a status names a failed newest verification among a target's problems (StatusOperation)
    private static final String FAILED_VERIFICATION = "the newest verification (";

    private final MeterRegistry registry;
    private final Clock clock;
    private final Tags commonTags;
    // strong references: Micrometer's gauges hold their state objects weakly
    private final ConcurrentMap<String, TargetGauges> targets = new ConcurrentHashMap<>();

    /**
     * Meters in {@code registry}, with the system clock (UTC) for the age of the newest backup.
     *
     * @param registry the host's registry, not null
     */
    public DrMetrics(MeterRegistry registry) {
        this(registry, Clock.systemUTC());
    }

    /**
     * Meters in {@code registry}, with {@code clock} for the age of the newest backup.
     *
     * @param registry the host's registry, not null
     * @param clock the kit's clock, not null
     */
    public DrMetrics(MeterRegistry registry, Clock clock) {
        this(registry, clock, Tags.empty());
    }

    /**
     * Meters in {@code registry} that all carry {@code commonTags} besides their own, with
     * {@code clock} for the age of the newest backup.
     *
     * @param registry the host's registry, not null
     * @param clock the kit's clock, not null
     * @param commonTags tags for every meter (e.g. the repository's name), not null; none may be named
     *     {@code target}, {@code type}, {@code level} or {@code outcome}
     * @throws IllegalArgumentException when a common tag has one of those names
     */
    public DrMetrics(MeterRegistry registry, Clock clock, Iterable<Tag> commonTags) {
        this.registry = Objects.requireNonNull(registry, "registry");
        this.clock = Objects.requireNonNull(clock, "clock");
        this.commonTags = Tags.of(Objects.requireNonNull(commonTags, "commonTags"));
        for (Tag t : this.commonTags) {
            if (t.getKey().equals(TARGET)
                    || t.getKey().equals(TYPE)
                    || t.getKey().equals(LEVEL)
                    || t.getKey().equals(OUTCOME)) {
                throw new IllegalArgumentException(
                        "the common tag '" + t.getKey() + "' would hide the meters' own tag of that name");
            }
        }
    }

    /**
     * Sets the per-target gauges from a status: the time of the newest backup (one an event told of
     * after the status was taken is kept; otherwise the status wins, so that a backup deleted or
     * found damaged since no longer counts), the RPO objective, whether the newest verification passed (left as
     * it is when the status does not say) and the newest restore test's duration. Call at start-up
     * and on each health check, so that the gauges are right after a restart and follow what other
     * instances sharing the repository did. Never throws for the registry's failures.
     *
     * @param status the kit's status, not null
     */
    public void record(DrStatus status) {
        Objects.requireNonNull(status, "status");
        for (DrStatus.Target t : status.targets()) {
            try {
                gauges(t.name()).record(t, status.at());
            } catch (RuntimeException | LinkageError e) {
                LOG.debug("could not record the status of target {} in the meter registry: {}", t.name(), e.toString());
            }
        }
    }

    /** Records a backup, restore or verification outcome; other events are passed over. Never throws. */
    @Override
    public void onEvent(DrEvent event) {
        try {
            if (event != null && event.target() != null) {
                recordEvent(event);
            }
        } catch (RuntimeException | LinkageError e) {
            LOG.debug("could not record the event {} in the meter registry: {}", event.type(), e.toString());
        }
    }

    private void recordEvent(DrEvent event) {
        if (!OUTCOMES.contains(event.type())) {
            return;
        }
        TargetGauges g = gauges(event.target());
        switch (event.type()) {
            case BACKUP_SUCCEEDED -> backupSucceeded(event, g);
            case BACKUP_FAILED ->
                timer("drkit.backup", "The time backups took", event, FAILURE).record(duration(event));
            case RESTORE_SUCCEEDED -> restore(event, SUCCESS);
            case RESTORE_FAILED -> restore(event, FAILURE);
            case VERIFY_SUCCEEDED -> verify(event, SUCCESS, g);
            case VERIFY_FAILED -> verify(event, FAILURE, g);
            default -> {
                // OUTCOMES holds only the types above
            }
        }
    }

    private void backupSucceeded(DrEvent event, TargetGauges g) {
        timer("drkit.backup", "The time backups took", event, SUCCESS).record(duration(event));
        Tags tags = targetTags(event).and(TYPE, type(event));
        increment("drkit.backup.read", "Bytes the backups read from their sources", tags, event, DrEvent.RAW_BYTES);
        increment(
                "drkit.backup.stored",
                "Bytes the backups stored after compression and encryption",
                tags,
                event,
                DrEvent.STORED_BYTES);
        g.backupSucceeded(event.at());
    }

    private void restore(DrEvent event, String outcome) {
        timer("drkit.restore", "The time restores took", event, outcome).record(duration(event));
    }

    private void verify(DrEvent event, String outcome, TargetGauges g) {
        Object level = event.details().get(DrEvent.LEVEL);
        Timer.builder("drkit.verify")
                .description("The time the verifiers took")
                .tags(targetTags(event)
                        .and(TYPE, type(event))
                        .and(LEVEL, level == null ? UNKNOWN : level.toString().toLowerCase(Locale.ROOT))
                        .and(OUTCOME, outcome))
                .register(registry)
                .record(duration(event));
        g.verified(outcome.equals(SUCCESS), event.at());
        double restoreSeconds = number(event, DrEvent.RESTORE_TEST_SECONDS);
        if (!Double.isNaN(restoreSeconds)) {
            g.restoreTested(restoreSeconds, event.at());
        }
    }

    private Timer timer(String name, String description, DrEvent event, String outcome) {
        return Timer.builder(name)
                .description(description)
                .tags(targetTags(event).and(TYPE, type(event)).and(OUTCOME, outcome))
                .register(registry);
    }

    private void increment(String name, String description, Tags tags, DrEvent event, String key) {
        double bytes = number(event, key);
        if (bytes >= 0) {
            Counter.builder(name)
                    .description(description)
                    .baseUnit(BaseUnits.BYTES)
                    .tags(tags)
                    .register(registry)
                    .increment(bytes);
        }
    }

    private Tags targetTags(DrEvent event) {
        return commonTags.and(TARGET, event.target());
    }

    private static String type(DrEvent event) {
        Object type = event.details().get(DrEvent.TARGET_TYPE);
        return type == null ? UNKNOWN : type.toString();
    }

    /** The operation's duration; zero when the event does not say, so that it is still counted. */
    private static Duration duration(DrEvent event) {
        double seconds = number(event, DrEvent.SECONDS);
        return seconds >= 0 ? Duration.ofNanos(Math.round(seconds * 1e9)) : Duration.ZERO;
    }

    private static double number(DrEvent event, String key) {
        return event.details().get(key) instanceof Number n ? n.doubleValue() : Double.NaN;
    }

    private TargetGauges gauges(String target) {
        TargetGauges g = targets.computeIfAbsent(target, t -> new TargetGauges());
        if (g.registered.compareAndSet(false, true)) {
            Tags tags = commonTags.and(TARGET, target);
            gauge(
                    "drkit.backup.last.success.age",
                    "Seconds since the newest successful backup finished (the live RPO)",
                    SECONDS,
                    tags,
                    g,
                    s -> s.ageSeconds(clock));
            gauge(
                    "drkit.recovery.point.age",
                    "Seconds since the newest point a restore can reach (WAL archived since the newest backup, or"
                            + " that backup)",
                    SECONDS,
                    tags,
                    g,
                    s -> s.recoveryPointAgeSeconds(clock));
            gauge(
                    "drkit.backup.rpo.objective",
                    "The RPO objective in seconds",
                    SECONDS,
                    tags,
                    g,
                    TargetGauges::rpoObjective);
            gauge(
                    "drkit.verify.last.passed",
                    "1 when the newest verification passed, 0 when it failed",
                    null,
                    tags,
                    g,
                    TargetGauges::verifyPassed);
            gauge(
                    "drkit.restore.test.duration",
                    "Seconds to a validated restore in the newest passed restore test (the measured RTO)",
                    SECONDS,
                    tags,
                    g,
                    TargetGauges::restoreTestSeconds);
        }
        return g;
    }

    /** Registers one gauge; a failure is not retried, and leaves the target's other gauges registered. */
    private void gauge(
            String name,
            String description,
            String baseUnit,
            Tags tags,
            TargetGauges g,
            ToDoubleFunction<TargetGauges> value) {
        try {
            Gauge.builder(name, g, value)
                    .description(description)
                    .baseUnit(baseUnit)
                    .tags(tags)
                    .register(registry);
        } catch (RuntimeException e) {
            LOG.debug("could not register the gauge {} {} in the meter registry: {}", name, tags, e.toString());
        }
    }

    /** A value and the time it held, so that a status taken before an event does not undo it. */
    private record Reading(double value, Instant at) {
        static final Reading NONE = new Reading(Double.NaN, Instant.MIN);
        static final BinaryOperator<Reading> NEWER = (held, offered) -> offered.at.isBefore(held.at) ? held : offered;
    }

    /** What one target's gauges read. */
    private static final class TargetGauges {
        final AtomicBoolean registered = new AtomicBoolean();
        /** The newest backup's time (null: none) as seen at a time: a later status may name an older one. */
        private final AtomicReference<Reading> lastBackup = new AtomicReference<>(Reading.NONE);

        /** How far past the newest backup a restore reaches (NaN: no further), as a status saw it. */
        private final AtomicReference<Reading> recoveryPoint = new AtomicReference<>(Reading.NONE);

        private final AtomicReference<Reading> verification = new AtomicReference<>(Reading.NONE);
        private final AtomicReference<Reading> restoreTest = new AtomicReference<>(Reading.NONE);
        private volatile double rpoObjective = Double.NaN;

        void backupSucceeded(Instant at) {
            lastBackup.accumulateAndGet(
                    new Reading(seconds(at), at), (held, offered) -> held.at.isAfter(offered.at) ? held : offered);
        }

        /**
         * What a status taken at {@code at} says the newest backup is, older than the one an event
         * told of when that one was deleted or found damaged since (null: no backup).
         */
        void newestBackup(Instant backupAt, Instant at) {
            double value = seconds(backupAt);
            lastBackup.accumulateAndGet(new Reading(value, at), Reading.NEWER);
        }

        void verified(boolean passed, Instant at) {
            verification.accumulateAndGet(new Reading(passed ? 1 : 0, at), Reading.NEWER);
        }

        void restoreTested(double seconds, Instant at) {
            restoreTest.accumulateAndGet(new Reading(seconds, at), Reading.NEWER);
        }

        void record(DrStatus.Target t, Instant at) {
            rpoObjective = t.rpoSeconds() == null ? Double.NaN : t.rpoSeconds();
            newestBackup(t.newestBackupAt(), at);
            Instant point = t.recoveryPointAt();
            recoveryPoint.accumulateAndGet(new Reading(seconds(point), at), Reading.NEWER);
            if (t.problems().stream().anyMatch(p -> p.startsWith(FAILED_VERIFICATION))) {
                verified(false, at);
            } else if (t.newestVerifiedId() != null) {
                verified(true, at);
            }
            if (t.lastRestoreTestSeconds() != null) {
                restoreTested(t.lastRestoreTestSeconds(), at);
            }
        }

        double ageSeconds(Clock clock) {
            return seconds(clock.instant()) - lastBackup.get().value; // NaN stays NaN
        }

        /** The age of the later of the newest backup and the recovery point past it. */
        double recoveryPointAgeSeconds(Clock clock) {
            double backup = lastBackup.get().value;
            double point = recoveryPoint.get().value;
            double last = Double.isNaN(point) ? backup : Double.isNaN(backup) ? point : Math.max(backup, point);
            return seconds(clock.instant()) - last; // NaN stays NaN
        }

        /** An instant as seconds since the epoch, NaN for none. */
        private static double seconds(Instant at) {
            return at == null ? Double.NaN : at.getEpochSecond() + at.getNano() / 1e9;
        }

        double rpoObjective() {
            return rpoObjective;
        }

        double verifyPassed() {
            return verification.get().value;
        }

        double restoreTestSeconds() {
            return restoreTest.get().value;
        }
    }
}
