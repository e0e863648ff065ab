package dev.drkit;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Objects;

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
     * Starts timing a check by the named verifier. A verifier calls this as it begins and
     * builds its result with the returned {@link Timer}, which sets the duration.
     *
     * @param verifier the verifier's name, not null
     * @return a timer started now
     */
    public static Timer start(String verifier) {
        return new Timer(Objects.requireNonNull(verifier, "verifier"), System.nanoTime());
    }

    public boolean passed() {
        return status == Status.PASSED;
    }

    /**
     * The clock of one check: builds the check's result with the time elapsed since
     * {@link VerificationResult#start}. Immutable and thread-safe; one per check.
     */
    public static final class Timer {
        private final String verifier;
        private final long startNanos;

        private Timer(String verifier, long startNanos) {
            this.verifier = verifier;
            this.startNanos = startNanos;
        }

        /** The time elapsed since the check began. */
        public Duration elapsed() {
            return Duration.ofNanos(System.nanoTime() - startNanos);
        }

        /**
         * The time elapsed since the check began, in seconds to the millisecond: for details
         * such as a measured restore time.
         */
        public double seconds() {
            return elapsed().toMillis() / 1000.0;
        }

        /**
         * The result: {@link Status#PASSED} when {@code problems} is empty, else
         * {@link Status#FAILED}.
         *
         * @param problems what is wrong, one line each; empty or null when nothing is
         * @param details structured findings; null for none
         * @return the result, with copies of {@code problems} and {@code details}
         */
        public VerificationResult result(List<String> problems, Map<String, Object> details) {
            Status status = problems == null || problems.isEmpty() ? Status.PASSED : Status.FAILED;
            return result(status, problems, details);
        }

        /**
         * The result, with a status the verifier decided itself (e.g. {@link Status#UNVERIFIED}
         * when a value could not be checked).
         *
         * @param status the outcome, not null
         * @param problems what is wrong or why the check could not be made, one line each; null
         *        for none
         * @param details structured findings; null for none
         * @return the result, with copies of {@code problems} and {@code details}
         */
        public VerificationResult result(Status status, List<String> problems, Map<String, Object> details) {
            return new VerificationResult(
                    verifier, Objects.requireNonNull(status, "status"), problems, elapsed(), details);
        }

        /** A failed result with one problem and no details, for a check that cannot go on. */
        public VerificationResult failed(String problem) {
            return result(Status.FAILED, List.of(problem), null);
        }

        /** An unverified result: the check could not be made, for {@code reason}. */
        public VerificationResult unverified(String reason) {
            return result(Status.UNVERIFIED, List.of(reason), null);
        }
    }
}
