package dev.drkit;

import dev.drkit.spi.support.BackupIds;
import java.nio.file.Path;
import java.util.Objects;

/**
 * What to restore and where.
 *
 * @param target the target's name
 * @param backupId the backup to restore, or null for the newest
 * @param options where and how (for {@code files}: {@code to}, {@code include})
 * @param force whether existing data at the destination may be overwritten
 */
public record RestoreRequest(String target, String backupId, Settings options, boolean force) {

    public RestoreRequest {
        BackupIds.checkTargetName(target);
        if (backupId != null) {
            BackupIds.check(backupId);
        }
        options = options == null ? Settings.empty() : options;
    }

    /** Restores the newest backup of {@code target} with the given options. */
    public static RestoreRequest latest(String target, Settings options) {
        return new RestoreRequest(target, null, options, false);
    }

    /** Restores a files backup into a new or empty directory. */
    public static RestoreRequest files(String target, String backupId, Path to) {
        Objects.requireNonNull(to, "to");
        return new RestoreRequest(
                target, backupId, Settings.builder().set("to", to.toString()).build(), false);
    }

    public RestoreRequest withForce(boolean force) {
        return new RestoreRequest(target, backupId, options, force);
    }
}
