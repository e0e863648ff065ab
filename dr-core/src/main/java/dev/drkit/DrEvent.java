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
        /** A target's newest backup is older than its RPO objective (from the scheduler). */
        RPO_AT_RISK,
        /** A backup whose manifest cannot be trusted was passed over (e.g. when choosing the newest). */
        DAMAGED_BACKUP_SKIPPED
    }

    public DrEvent {
        details = details == null ? Map.of() : Map.copyOf(details);
    }
}
