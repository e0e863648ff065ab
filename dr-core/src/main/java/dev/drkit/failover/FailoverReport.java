package dev.drkit.failover;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What a failover did, step by step: checked the standby, fenced the old primary, promoted,
 * waited for writes, validated, switched traffic. Returned by every failover whatever its outcome
 * (a refusal or failure is an outcome, not an exception).
 *
 * @param name the failover's name (e.g. the database's)
 * @param system {@code postgresql} or {@code redis}
 * @param dryRun whether this was a dry run (every check ran, nothing was promoted or switched)
 * @param outcome how it ended
 * @param message one sentence: what happened, and for a refusal or failure why and what to do
 * @param steps the steps in the order they ran
 * @param started when it started
 * @param seconds how long it took in all
 */
public record FailoverReport(
        String name,
        String system,
        boolean dryRun,
        Outcome outcome,
        String message,
        List<Step> steps,
        Instant started,
        double seconds) {

    /** How a failover ended. */
    public enum Outcome {
        /** The standby was promoted, accepts writes, passed validation, and traffic was switched. */
        PROMOTED,
        /** A dry run whose checks all passed: a real run would promote. */
        WOULD_PROMOTE,
        /** A check said no (the old primary still accepts writes, the standby lags too far, ...): nothing was changed. */
        REFUSED,
        /** A step failed; {@link #message()} says which and whether the standby was already promoted. */
        FAILED
    }

    /** How one step ended. */
    public enum StepOutcome {
        OK,
        /** Not needed here (e.g. no traffic switch configured). */
        SKIPPED,
        /** A dry run's stand-in for a step that would change something. */
        WOULD_DO,
        REFUSED,
        FAILED
    }

    /**
     * One step.
     *
     * @param name e.g. {@code check standby}, {@code fence old primary}, {@code promote}
     * @param outcome how it ended
     * @param detail what was seen or done (figures, endpoints; never a secret)
     * @param seconds how long it took
     */
    public record Step(String name, StepOutcome outcome, String detail, double seconds) {
        public Step {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(outcome, "outcome");
            detail = detail == null ? "" : detail;
        }
    }

    public FailoverReport {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(system, "system");
        Objects.requireNonNull(outcome, "outcome");
        steps = List.copyOf(steps);
    }

    /** Whether the failover promoted (or, as a dry run, would promote). */
    public boolean succeeded() {
        return outcome == Outcome.PROMOTED || outcome == Outcome.WOULD_PROMOTE;
    }

    /** The step of that name, or null. */
    public Step step(String stepName) {
        return steps.stream().filter(s -> s.name().equals(stepName)).findFirst().orElse(null);
    }
}
