package dev.drkit;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * One past verification of a backup, as recorded in the repository (every instance sees it). Immutable.
 *
 * @param target the target
 * @param backupId the backup verified
 * @param level the level asked for
 * @param passed whether it passed
 * @param at when it finished
 * @param seconds how long it took
 * @param restoreSeconds for a restore test, the time to a validated restore (the measured RTO), else null
 * @param problems what failed, empty when it passed
 */
public record VerificationRecord(
        String target,
        String backupId,
        VerifyLevel level,
        boolean passed,
        Instant at,
        double seconds,
        Double restoreSeconds,
        List<String> problems) {
    public VerificationRecord {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(backupId, "backupId");
        Objects.requireNonNull(level, "level");
        Objects.requireNonNull(at, "at");
        problems = problems == null ? List.of() : List.copyOf(problems);
    }
}
