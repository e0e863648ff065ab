package dev.drkit;

import java.time.Instant;
import java.util.Map;

/**
 * Something that happened: a backup started, succeeded or failed, a verification failed,
 * a backup was expired. Listeners use these for logs, notifications and metrics.
 *
 * @param type what happened
 * @param target the target's name, or null for repository-wide events
 * @param backupId the backup concerned, or null
 * @param at when it happened
 * @param message a human-readable summary (never contains secrets)
 * @param details structured details
 */
public record DrEvent(
        Type type, String target, String backupId, Instant at, String message, Map<String, Object> details) {

    /**
     * Detail key: the type of the target concerned (a {@code String}, e.g. {@code files}); on
     * backup, restore and verification outcomes.
     */
    public static final String TARGET_TYPE = "targetType";

    /**
     * Detail key: how long the operation took, in seconds (a {@code Double}); on backup and restore
     * outcomes the wall time, on verification outcomes the sum of the verifiers' durations.
     */
    public static final String SECONDS = "seconds";

    /** Detail key: the bytes read from the source (a {@code Long}); on {@link Type#BACKUP_SUCCEEDED}. */
    public static final String RAW_BYTES = "rawBytes";

    /**
     * Detail key: the bytes stored in the repository after compression and encryption (a {@code Long}); on
     * {@link Type#BACKUP_SUCCEEDED}.
     */
    public static final String STORED_BYTES = "storedBytes";

    /**
     * Detail key: how many files changed or vanished while they were copied (a {@code Long}); on
     * {@link Type#BACKUP_SUCCEEDED}.
     */
    public static final String INCOMPLETE_FILES = "incompleteFiles";

    /** Detail key: the {@link DrException.ErrorCode} name of the failure (a {@code String}); on {@link Type#BACKUP_FAILED}. */
    public static final String CODE = "code";

    /**
     * Detail key: the {@link VerifyLevel} name asked for (a {@code String}, e.g. {@code CHECKSUM}); on
     * verification outcomes.
     */
    public static final String LEVEL = "level";

    /**
     * Detail key: the time to a validated restore, in seconds (a {@code Double}: the measured RTO, the figure
     * {@link DrStatus.Target#lastRestoreTestSeconds()} shows); on {@link Type#VERIFY_SUCCEEDED} of level
     * {@link VerifyLevel#RESTORE} only.
     */
    public static final String RESTORE_TEST_SECONDS = "restoreTestSeconds";

    /**
     * Detail key: the incident concerned (a {@code String}, also the PagerDuty dedup key); on
     * {@link Type#INCIDENT_OPENED}, {@link Type#INCIDENT_RESOLVED} and {@link Type#NOTICE_FAILED}.
     */
    public static final String INCIDENT_ID = "incidentId";

    /** Event types. */
    public enum Type {
        BACKUP_STARTED,
        BACKUP_SUCCEEDED,
        BACKUP_FAILED,
        RESTORE_STARTED,
        RESTORE_SUCCEEDED,
        RESTORE_FAILED,
        VERIFY_SUCCEEDED,
        VERIFY_FAILED,
        BACKUP_EXPIRED,
        INCOMPLETE_BACKUP_REMOVED,
        STALE_LOCK_TAKEN_OVER,
        /**
         * A target's newest backup (or the data archived since, {@link DrStatus.Target#recoveryPointAt()})
         * is older than its RPO objective (from the scheduler).
         */
        RPO_AT_RISK,
        /** A backup whose manifest cannot be trusted was passed over (e.g. when choosing the newest). */
        DAMAGED_BACKUP_SKIPPED,
        /** A failover started (target: the failover's name; see {@code dev.drkit.failover.FailoverRun} for details). */
        FAILOVER_STARTED,
        /** One step of a failover ended (checked, fenced, promoted, validated, switched, or would have). */
        FAILOVER_STEP,
        /** A failover promoted the standby (or, as a dry run, found that it would). */
        FAILOVER_COMPLETED,
        /** A failover was refused or failed; the message says why and what to do. */
        FAILOVER_FAILED,
        /**
         * A running backup met something its host should know that does not fail it (e.g. a target fell back
         * to a mode that is not point-in-time); the message says what and why.
         */
        BACKUP_WARNING,
        /**
         * A restore that succeeded met something its host should know (e.g. replicas of the
         * server restored into had not acknowledged the restored data when it ended); the message
         * says what and what to do.
         */
        RESTORE_WARNING,
        /** An incident was declared (dr-incident); {@link #INCIDENT_ID} names it. */
        INCIDENT_OPENED,
        /** An incident was resolved (dr-incident); {@link #INCIDENT_ID} names it. */
        INCIDENT_RESOLVED,
        /** An incident notice could not be delivered to a channel after every attempt (dr-incident). */
        NOTICE_FAILED
    }

    public DrEvent {
        details = details == null ? Map.of() : Map.copyOf(details);
    }
}
