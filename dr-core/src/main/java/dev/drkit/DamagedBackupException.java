package dev.drkit;

/**
 * A backup's manifest cannot be trusted: it does not match its checksum, does not parse, or
 * disagrees with where it is stored (target, id, the id's timestamp). Such a backup is listed
 * as damaged and never used by a "newest backup" selection or by retention; its artifacts are
 * left as they are.
 */
public class DamagedBackupException extends CorruptDataException {
    private static final long serialVersionUID = 1L;

    private final String target;
    private final String backupId;
    private final String reason;

    public DamagedBackupException(String target, String backupId, String reason) {
        super("the manifest of backup " + target + "/" + backupId + " is damaged: " + reason
                + "; the backup cannot be trusted: use another backup, or put back its manifest.json from a copy "
                + "of the repository");
        this.target = target;
        this.backupId = backupId;
        this.reason = reason;
    }

    /** The target the backup belongs to. */
    public String target() {
        return target;
    }

    /** The damaged backup's id. */
    public String backupId() {
        return backupId;
    }

    /** Why the manifest cannot be trusted, e.g. "its content does not match its checksum file". */
    public String reason() {
        return reason;
    }
}
