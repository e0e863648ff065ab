package dev.drkit.failover;

import dev.drkit.DrEvent;
import dev.drkit.DrListener;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The frame every failover runs in: times each step, sends the events
 * ({@link DrEvent.Type#FAILOVER_STARTED}, one {@link DrEvent.Type#FAILOVER_STEP} per step, then
 * {@link DrEvent.Type#FAILOVER_COMPLETED} or {@link DrEvent.Type#FAILOVER_FAILED}) and builds the
 * {@link FailoverReport}. For implementations of a failover (PostgreSQL's and Redis's use it); a
 * host calls those, not this. One instance per failover; not thread-safe.
 */
public final class FailoverRun {
    /** Event detail key: the step's name (a {@code String}); on {@link DrEvent.Type#FAILOVER_STEP}. */
    public static final String STEP = "step";

    /**
     * Event detail key: a {@link FailoverReport.StepOutcome} name on {@link DrEvent.Type#FAILOVER_STEP}, a
     * {@link FailoverReport.Outcome} name on the final event (a {@code String}).
     */
    public static final String OUTCOME = "outcome";

    /** Event detail key: whether it is a dry run (a {@code Boolean}); on every failover event. */
    public static final String DRY_RUN = "dryRun";

    /** Event detail key: what the step saw or did (a {@code String}); on {@link DrEvent.Type#FAILOVER_STEP}. */
    public static final String DETAIL = "detail";

    /** Event detail key: {@code postgresql} or {@code redis} (a {@code String}); on every failover event. */
    public static final String SYSTEM = "system";

    private static final Logger LOG = LoggerFactory.getLogger(FailoverRun.class);

    /** The work of a failover: runs its steps through the run, returns the sentence for a success. */
    @FunctionalInterface
    public interface Plan {
        String run(FailoverRun run) throws Exception;
    }

    /** One step's work: returns what it saw or did. */
    @FunctionalInterface
    public interface StepBody {
        String run() throws Exception;
    }

    /**
     * Thrown by a step that says no: nothing has been changed, the failover ends
     * {@link FailoverReport.Outcome#REFUSED} with this message (which says why and what to do).
     */
    public static final class Refusal extends Exception {
        public Refusal(String message) {
            super(Objects.requireNonNull(message, "message"), null, false, false);
        }
    }

    private final String name;
    private final String system;
    private final boolean dryRun;
    private final List<DrListener> listeners;
    private final Clock clock;
    private final List<FailoverReport.Step> steps = new ArrayList<>();
    private String lastStep;

    private FailoverRun(String name, String system, boolean dryRun, List<DrListener> listeners, Clock clock) {
        this.name = name;
        this.system = system;
        this.dryRun = dryRun;
        this.listeners = listeners;
        this.clock = clock;
    }

    /**
     * Runs {@code plan} and reports: {@code PROMOTED} (or {@code WOULD_PROMOTE} in a dry run) when
     * it returns, {@code REFUSED} when a step threw a {@link Refusal}, {@code FAILED} when anything
     * else was thrown. Never throws but for {@link Error}s.
     *
     * @param listeners receive the events; a throwing listener is logged and ignored
     */
    public static FailoverReport execute(
            String name, String system, boolean dryRun, List<DrListener> listeners, Clock clock, Plan plan) {
        FailoverRun run = new FailoverRun(
                Objects.requireNonNull(name, "name"),
                Objects.requireNonNull(system, "system"),
                dryRun,
                List.copyOf(listeners),
                Objects.requireNonNull(clock, "clock"));
        return run.execute(plan);
    }

    private FailoverReport execute(Plan plan) {
        Instant started = clock.instant();
        long t0 = System.nanoTime();
        emit(
                DrEvent.Type.FAILOVER_STARTED,
                "failover of " + name + " started" + (dryRun ? " (dry run)" : ""),
                Map.of());
        FailoverReport.Outcome outcome;
        String message;
        try {
            message = plan.run(this);
            outcome = dryRun ? FailoverReport.Outcome.WOULD_PROMOTE : FailoverReport.Outcome.PROMOTED;
        } catch (Refusal r) {
            outcome = FailoverReport.Outcome.REFUSED;
            message = r.getMessage();
        } catch (Exception e) {
            if (e instanceof InterruptedException) {
                Thread.currentThread().interrupt();
            }
            outcome = FailoverReport.Outcome.FAILED;
            message = (lastStep == null ? "failover" : lastStep) + " failed: " + Probe.describe(e);
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        FailoverReport report = new FailoverReport(name, system, dryRun, outcome, message, steps, started, seconds);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put(OUTCOME, outcome.name());
        details.put(DrEvent.SECONDS, seconds);
        emit(
                report.succeeded() ? DrEvent.Type.FAILOVER_COMPLETED : DrEvent.Type.FAILOVER_FAILED,
                "failover of " + name + ": " + message,
                details);
        return report;
    }

    /** Whether this is a dry run: steps that change something call {@link #wouldDo} instead. */
    public boolean dryRun() {
        return dryRun;
    }

    /**
     * Runs one step and records it {@code OK} with the detail it returns; a {@link Refusal} is
     * recorded {@code REFUSED} and anything else {@code FAILED}, and passed on.
     */
    public String step(String stepName, StepBody body) throws Exception {
        lastStep = stepName;
        long t0 = System.nanoTime();
        try {
            String detail = body.run();
            record(stepName, FailoverReport.StepOutcome.OK, detail, t0);
            return detail;
        } catch (Refusal r) {
            record(stepName, FailoverReport.StepOutcome.REFUSED, r.getMessage(), t0);
            throw r;
        } catch (Exception e) {
            record(stepName, FailoverReport.StepOutcome.FAILED, Probe.describe(e), t0);
            throw e;
        }
    }

    /** Records a step a dry run leaves out, with what it would do. */
    public void wouldDo(String stepName, String detail) {
        record(stepName, FailoverReport.StepOutcome.WOULD_DO, detail, System.nanoTime());
    }

    /** Records a step that is not needed here, and why. */
    public void skipped(String stepName, String detail) {
        record(stepName, FailoverReport.StepOutcome.SKIPPED, detail, System.nanoTime());
    }

    /**
     * The traffic switch step: skipped for {@link TrafficSwitch#NONE}, a {@link #wouldDo} in a dry
     * run, else runs the switch. A failing switch fails the failover with a message saying the
     * server is already promoted.
     */
    public void switchTraffic(TrafficSwitch traffic, Promotion promotion) throws Exception {
        String stepName = "switch traffic";
        if (traffic == TrafficSwitch.NONE) {
            skipped(
                    stepName,
                    "no traffic switch configured: clients must find " + promotion.newPrimary() + " themselves");
        } else if (dryRun) {
            wouldDo(stepName, "would tell " + traffic + " that " + promotion.newPrimary() + " is the primary");
        } else {
            try {
                step(stepName, () -> {
                    traffic.switchTo(promotion);
                    boolean builtIn =
                            traffic instanceof WebhookTrafficSwitch || traffic instanceof CommandTrafficSwitch;
                    return "switched to " + promotion.newPrimary() + (builtIn ? " with " + traffic : "");
                });
            } catch (Refusal r) {
                throw r;
            } catch (Exception e) {
                throw new IllegalStateException(
                        promotion.newPrimary() + " is promoted and accepts writes, but the " + "traffic switch failed ("
                                + Probe.describe(e) + "); point the clients at it by hand",
                        e);
            }
        }
    }

    private void record(String stepName, FailoverReport.StepOutcome outcome, String detail, long t0) {
        FailoverReport.Step step = new FailoverReport.Step(stepName, outcome, detail, (System.nanoTime() - t0) / 1e9);
        steps.add(step);
        Map<String, Object> details = new LinkedHashMap<>();
        details.put(STEP, stepName);
        details.put(OUTCOME, outcome.name());
        details.put(DETAIL, step.detail());
        details.put(DrEvent.SECONDS, step.seconds());
        emit(
                DrEvent.Type.FAILOVER_STEP,
                stepName + ": " + outcome.name().toLowerCase(Locale.ROOT)
                        + (step.detail().isEmpty() ? "" : " (" + step.detail() + ")"),
                details);
    }

    private void emit(DrEvent.Type type, String message, Map<String, Object> more) {
        Map<String, Object> details = new LinkedHashMap<>(more);
        details.put(SYSTEM, system);
        details.put(DRY_RUN, dryRun);
        DrEvent event = new DrEvent(type, name, null, clock.instant(), message, details);
        for (DrListener l : listeners) {
            try {
                l.onEvent(event);
            } catch (RuntimeException e) {
                LOG.warn("a listener failed on the {} event of {}: {}", type, name, e.toString());
            }
        }
    }
}
