package dev.drkit;

/** Another live process holds the lock this operation needs. Retryable: try again later. */
public class RepositoryLockedException extends DrException {
    private static final long serialVersionUID = 1L;

    public RepositoryLockedException(String message) {
        super(ErrorCode.LOCKED, message, null, true);
    }
}
