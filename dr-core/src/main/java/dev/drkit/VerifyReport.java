package dev.drkit;

import java.util.List;

/**
 * The outcome of verifying one backup at one level.
 *
 * @param target the target's name
 * @param backupId the backup verified
 * @param level the level asked for
 * @param results one per verifier run, cheapest first
 */
public record VerifyReport(String target, String backupId, VerifyLevel level, List<VerificationResult> results) {

    public VerifyReport {
        results = List.copyOf(results);
    }

    /** Whether every verifier passed (unverified does not pass). */
    public boolean passed() {
        return !results.isEmpty() && results.stream().allMatch(VerificationResult::passed);
    }

    /** Every problem found, one line each. */
    public List<String> problems() {
        return results.stream()
                .flatMap(r -> r.problems().stream().map(p -> r.verifier() + ": " + p))
                .toList();
    }
}
