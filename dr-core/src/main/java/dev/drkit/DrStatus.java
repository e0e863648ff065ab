package dev.drkit;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Whether the backups are fresh and proven, per target and overall ({@code drkit status}, a
 * health probe's answer).
 *
 * @param at when the status was taken
 * @param healthy every target is healthy and the repository has no problem
 * @param targets one entry per target, by name
 * @param problems problems of the repository itself (a damaged configuration), empty when none
 * @param schedule the recovery testing schedule: per {@link RecoveryTest}, when it last ran and when it is due
 *     (informational: an overdue test does not make the status unhealthy)
 */
public record DrStatus(
        Instant at, boolean healthy, List<Target> targets, List<String> problems, List<ScheduledTest> schedule) {
    public DrStatus {
        targets = List.copyOf(targets);
        problems = problems == null ? List.of() : List.copyOf(problems);
        schedule = schedule == null ? List.of() : List.copyOf(schedule);
    }

    /** A status without a testing schedule. */
    public DrStatus(Instant at, boolean healthy, List<Target> targets, List<String> problems) {
        this(at, healthy, targets, problems, List.of());
    }

    /** A status without repository-level problems or a testing schedule. */
    public DrStatus(Instant at, boolean healthy, List<Target> targets) {
        this(at, healthy, targets, List.of(), List.of());
    }

    /** The test of the schedule, if it is in it. */
    public Optional<ScheduledTest> scheduled(RecoveryTest test) {
        return schedule.stream().filter(s -> s.test() == test).findFirst();
    }

    /**
     * One row of the recovery testing schedule.
     *
     * @param test the test
     * @param every how often it is due
     * @param lastExecuted when it last ran (passed or failed), or null when never
     * @param lastPassed whether that run passed, or null when never run
     * @param lastDetail what that run was (target and backup, or the note recorded with it), or null
     * @param nextDue when it is due next: the last run plus the frequency, or {@code at} when it never ran
     * @param overdue the next due time has passed
     */
    public record ScheduledTest(
            RecoveryTest test,
            Duration every,
            Instant lastExecuted,
            Boolean lastPassed,
            String lastDetail,
            Instant nextDue,
            boolean overdue) {}

    /** Outcome of one item of a target's verification checklist. */
    public enum CheckState {
        /** The item holds. */
        PASSED,
        /** The item fails; {@link Check#detail()} gives the figures. */
        FAILED,
        /** The item cannot be judged yet (no backup, no restore test, encryption not configured). */
        UNKNOWN
    }

    /** The items of the plan's manual verification checklist, checked per target. */
    public enum ChecklistItem {
        /** The newest backup's manifest reads and every artifact it lists is in the storage with its size. */
        BACKUPS_ACCESSIBLE("backups accessible"),
        /** The newest backup is not empty and not far smaller or larger than the median of the recent ones. */
        SIZE_REASONABLE("size reasonable"),
        /** The newest backup is encrypted (and to the configured recipients, when encryption is configured). */
        ENCRYPTION_WORKING("encryption working"),
        /** The newest restore test passed and is within the schedule's database restore frequency. */
        RESTORE_TEST_PASSING("restore test passes"),
        /** The newest verification passed and is within the schedule's backup integrity frequency. */
        INTEGRITY_CHECKS_PASSING("integrity checks pass");

        private final String title;

        ChecklistItem(String title) {
            this.title = title;
        }

        /** The name people read, e.g. {@code size reasonable}. */
        public String title() {
            return title;
        }
    }

    /**
     * One checklist item of a target.
     *
     * @param item the item
     * @param state its outcome
     * @param detail the figures behind it, one line
     */
    public record Check(ChecklistItem item, CheckState state, String detail) {}

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
     * @param checklist the plan's verification checklist for this target, in {@link ChecklistItem} order (an
     *     inaccessible or empty or far-off-size newest backup is also a problem; the other items are informational)
     * @param recoveryPointAt how far past the newest backup a restore can recover from what the repository
     *     archived since (PostgreSQL: the time the newest WAL segment archived without a gap since that backup
     *     started was stored), or null when there is nothing past it; {@code rpoMet} is judged on it when set
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
            List<String> problems,
            List<Check> checklist,
            Instant recoveryPointAt) {
        public Target {
            problems = problems == null ? List.of() : List.copyOf(problems);
            checklist = checklist == null ? List.of() : List.copyOf(checklist);
        }

        /** A target with nothing archived past its newest backup. */
        public Target(
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
                List<String> problems,
                List<Check> checklist) {
            this(
                    name,
                    newestBackupId,
                    newestBackupAt,
                    newestBackupAgeSeconds,
                    rpoSeconds,
                    rpoMet,
                    newestVerifiedId,
                    newestVerifiedAt,
                    newestVerifiedLevel,
                    lastRestoreTestSeconds,
                    rtoSeconds,
                    rtoMet,
                    healthy,
                    problems,
                    checklist,
                    null);
        }

        /** A target without a checklist. */
        public Target(
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
                List<String> problems) {
            this(
                    name,
                    newestBackupId,
                    newestBackupAt,
                    newestBackupAgeSeconds,
                    rpoSeconds,
                    rpoMet,
                    newestVerifiedId,
                    newestVerifiedAt,
                    newestVerifiedLevel,
                    lastRestoreTestSeconds,
                    rtoSeconds,
                    rtoMet,
                    healthy,
                    problems,
                    List.of());
        }

        /** The outcome of one checklist item, if the checklist has it. */
        public Optional<Check> check(ChecklistItem item) {
            return checklist.stream().filter(c -> c.item() == item).findFirst();
        }
    }
}
