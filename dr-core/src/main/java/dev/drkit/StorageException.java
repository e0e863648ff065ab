package dev.drkit;

/**
 * A storage backend failed. Retryable when the failure is transient (network, throttling,
 * timeouts); not retryable when the storage refuses for good (disk full, permission denied).
 */
public class StorageException extends DrException {
    private static final long serialVersionUID = 1L;

    public StorageException(String message, Throwable cause, boolean retryable) {
        super(ErrorCode.STORAGE, message, cause, retryable);
    }
}
