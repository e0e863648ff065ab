package dev.drkit;

import java.time.Duration;

/**
 * A completed restore.
 *
 * @param target the target's name
 * @param backupId the backup restored
 * @param rawBytes raw bytes read from the backup's artifacts
 * @param duration how long it took (the measured restore time)
 */
public record RestoreResult(String target, String backupId, long rawBytes, Duration duration) {}
