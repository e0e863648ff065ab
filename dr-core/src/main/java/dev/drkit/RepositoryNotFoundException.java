package dev.drkit;

/**
 * The location given holds no drkit repository. Reading operations (list, verify, restore,
 * status, prune, check) never create one, so that a mistyped location or an unmounted disk
 * is reported instead of looking like an empty, healthy repository; a backup or a copy
 * creates one.
 */
public class RepositoryNotFoundException extends DrException {
    private static final long serialVersionUID = 1L;

    public RepositoryNotFoundException(String message) {
        super(ErrorCode.REPOSITORY_NOT_FOUND, message);
    }
}
