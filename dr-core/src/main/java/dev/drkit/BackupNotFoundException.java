package dev.drkit;

/** A requested backup does not exist, or exists only as an incomplete (manifest-less) backup. */
public class BackupNotFoundException extends DrException {
    private static final long serialVersionUID = 1L;

    public BackupNotFoundException(String message) {
        super(ErrorCode.BACKUP_NOT_FOUND, message);
    }

    public BackupNotFoundException(String message, Throwable cause) {
        super(ErrorCode.BACKUP_NOT_FOUND, message, cause);
    }
}
