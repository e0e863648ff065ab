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
public record VerificationResult(String verifier, Status status, List<String> problems,
                                 Duration duration, Map<String, Object> details) {

    /** Outcome of a verification. */
    public enum Status { PASSED, FAILED, UNVERIFIED }

    public VerificationResult {
        problems = problems == null ? List.of() : List.copyOf(problems);
        details = details == null ? Map.of() : Map.copyOf(details);
    }

    public boolean passed() {
        return status == Status.PASSED;
    }
}
