package dev.drkit;

import java.util.Objects;

/**
 * Root of every error drkit reports. Unchecked, with a stable {@link ErrorCode} that tools
 * and hosts can switch on, and a {@link #retryable()} flag that says whether the same call
 * may succeed later without anyone changing anything (a lock held by a live process, a
 * network hiccup) as opposed to an error that needs a human (wrong key, corrupt backup).
 *
 * <p>Messages say what was being done, to what, and what to do next. They never contain
 * secrets or full connection strings.
 */
public class DrException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** Stable error codes; the names are part of the public contract. */
    public enum ErrorCode {
        /** Configuration or arguments are invalid. */
        CONFIG_INVALID,
        /** No provider matches a type, name or URI scheme, or more than one does. */
        PROVIDER_SELECTION,
        /** A provider on the class path could not be loaded or created. */
        PROVIDER_BROKEN,
        /** The requested backup does not exist (or is incomplete). */
        BACKUP_NOT_FOUND,
        /** Stored bytes do not match the recorded size or checksum. */
        CHECKSUM_MISMATCH,
        /** Stored data is unreadable (bad framing, truncated, unsupported format). */
        CORRUPT_DATA,
        /** Another process holds the repository lock. */
        LOCKED,
        /** A restore destination holds data and overwriting was not requested. */
        DESTINATION_NOT_EMPTY,
        /** An archive entry would be written outside its destination. */
        UNSAFE_ARCHIVE,
        /** The storage backend failed. */
        STORAGE,
        /** A write-once object already exists. */
        OBJECT_EXISTS,
        /** The backup target failed while producing or consuming data. */
        TARGET,
        /** Encrypted data cannot be opened: no key fits, or its integrity check failed. */
        DECRYPTION,
        /** A manifest signature is missing, untrusted or invalid. */
        SIGNATURE,
        /** A verifier found a problem. */
        VERIFICATION_FAILED,
        /** The repository format is newer or different than this version understands. */
        REPOSITORY_FORMAT,
        /** There is no repository at the location given (nothing was created there). */
        REPOSITORY_NOT_FOUND,
        /** The operation was interrupted. */
        INTERRUPTED
    }

    private final ErrorCode code;
    private final boolean retryable;

    public DrException(ErrorCode code, String message) {
        this(code, message, null, false);
    }

    public DrException(ErrorCode code, String message, Throwable cause) {
        this(code, message, cause, false);
    }

    public DrException(ErrorCode code, String message, Throwable cause, boolean retryable) {
        super(message, cause);
        this.code = Objects.requireNonNull(code, "code");
        this.retryable = retryable;
    }

    /** The stable code of this error. */
    public ErrorCode code() {
        return code;
    }

    /** Whether retrying the same call later, unchanged, may succeed. */
    public boolean retryable() {
        return retryable;
    }
}
