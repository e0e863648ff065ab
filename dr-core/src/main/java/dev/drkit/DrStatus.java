package dev.drkit;

import java.time.Instant;
import java.util.List;

/**
 * Whether the backups are fresh and proven, per target and overall ({@code drkit status}, a
 * health probe's answer).
 *
 * @param at when the status was taken
 * @param healthy every target is healthy and the repository has no problem
 * @param targets one entry per target, by name
 * @param problems problems of the repository itself (a damaged configuration), empty when none
 */
public record DrStatus(Instant at, boolean healthy, List<Target> targets, List<String> problems) {
    public DrStatus {
        targets = List.copyOf(targets);
        problems = problems == null ? List.of() : List.copyOf(problems);
    }

    /** A status without repository-level problems. */
    public DrStatus(Instant at, boolean healthy, List<Target> targets) {
        this(at, healthy, targets, List.of());
    }

    /**
     * One target.
     *
     * @param name the target name
     * @param newestBackupId the newest complete backup, or null when there is none
     * @param newestBackupAt when it finished, or null
     * @param newestBackupAgeSeconds its age, or null
     * @param rpoSeconds the RPO objective, or null when none is set
     * @param rpoMet the newest backup is younger than the RPO (true when no RPO is set and a backup exists)
     * @param newestVerifiedId the newest backup whose last verification passed, or null
     * @param newestVerifiedAt when that verification finished, or null
     * @param newestVerifiedLevel the level it passed at, or null
     * @param lastRestoreTestSeconds the duration of the newest passed restore test (the measured RTO), or null
     * @param rtoSeconds the RTO objective, or null
     * @param rtoMet no restore test took longer than the RTO (true when either is unknown)
     * @param healthy the target has a backup, its newest is not incomplete, it meets its RPO and RTO, and its
     *     newest verification did not fail
     * @param problems why it is not healthy, one line each
     */
    public record Target(
            String name,
            String newestBackupId,
            Instant newestBackupAt,
            Double newestBackupAgeSeconds,
            Long rpoSeconds,
            boolean rpoMet,
            String newestVerifiedId,
            Instant newestVerifiedAt,
            String newestVerifiedLevel,
            Double lastRestoreTestSeconds,
            Long rtoSeconds,
            boolean rtoMet,
            boolean healthy,
            List<String> problems) {}
}
