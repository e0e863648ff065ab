package dev.drkit;

import java.util.Objects;

/**
 * A backup whose manifest exists but cannot be trusted (see {@link DamagedBackupException}).
 * Listed so that it can be found and repaired; never restored, selected as the newest, or
 * counted by retention.
 *
 * @param target the target's name
 * @param id the backup id (the name of its folder)
 * @param reason why the manifest cannot be trusted
 */
public record DamagedBackup(String target, String id, String reason) {
    public DamagedBackup {
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(reason, "reason");
    }
}
