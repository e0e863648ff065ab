package dev.drkit;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * What one verifier found in one backup.
 *
 * @param verifier the verifier's name
 * @param status passed, failed, or unverified (the check could not be made, e.g. a
 *        format without checksums); only {@link Status#PASSED} counts as verified
 * @param problems what is wrong, one line each, naming the artifact
 * @param duration how long the check took
 * @param details structured findings (bytes read, row counts, ...)
 */
public record VerificationResult(
        String verifier, Status status, List<String> problems, Duration duration, Map<String, Object> details) {

    /** Outcome of a verification. */
    public enum Status {
        PASSED,
        FAILED,
        UNVERIFIED
    }

    public VerificationResult {
        problems = problems == null ? List.of() : List.copyOf(problems);
        details = details == null ? Map.of() : Map.copyOf(details);
    }

    /**
     * The result of a check that started at {@code startNanos}: {@link Status#PASSED} when
     * {@code problems} is empty, else {@link Status#FAILED}; the duration runs from
     * {@code startNanos} to now. For verifiers, which take {@link System#nanoTime()} as they
     * begin and call this as they return.
     *
     * @param verifier the verifier's name, not null
     * @param problems what is wrong, one line each; empty or null when nothing is
     * @param startNanos the {@link System#nanoTime()} reading taken when the check began
     * @param details structured findings; null for none
     * @return the result, a copy of {@code problems} and {@code details}
     */
    public static VerificationResult of(
            String verifier, List<String> problems, long startNanos, Map<String, Object> details) {
        Status status = problems == null || problems.isEmpty() ? Status.PASSED : Status.FAILED;
        return of(verifier, status, problems, startNanos, details);
    }

    /**
     * The result of a check that started at {@code startNanos}, with a status the verifier
     * decided itself (e.g. {@link Status#UNVERIFIED} when the check could not be made); the
     * duration runs from {@code startNanos} to now.
     *
     * @param verifier the verifier's name, not null
     * @param status the outcome, not null
     * @param problems what is wrong or why the check could not be made, one line each; null
     *        for none
     * @param startNanos the {@link System#nanoTime()} reading taken when the check began
     * @param details structured findings; null for none
     * @return the result, a copy of {@code problems} and {@code details}
     */
    public static VerificationResult of(
            String verifier, Status status, List<String> problems, long startNanos, Map<String, Object> details) {
        return new VerificationResult(
                verifier, status, problems, Duration.ofNanos(System.nanoTime() - startNanos), details);
    }

    public boolean passed() {
        return status == Status.PASSED;
    }
}
