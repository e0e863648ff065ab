package dev.drkit.spi;

import java.io.IOException;
import java.util.Objects;

/**
 * A storage backend's failure that says why it failed and whether the same call may succeed
 * later unchanged. drkit turns it into a {@link dev.drkit.StorageException} whose
 * {@link dev.drkit.DrException#retryable()} is this exception's {@link #retryable()}, and
 * takes any {@code StorageIOException} thrown while a backup runs for the repository's
 * failure, never the source's.
 *
 * <p>What backends must do: throw this type for every failure of the storage itself, with a
 * {@link Reason} and the retryability the storage gave (a client library's own retryable
 * flag, an HTTP status: {@link Reason#ofHttpStatus}), and a message that says what was being
 * done to which object and never contains credentials; it may end with what to check, naming
 * the backend's settings ({@code "; check the ..."}), and drkit then adds only whether
 * retrying helps, else general advice for the reason. Answers that are part of the
 * {@link StorageBackend} contract stay as they are:
 * {@link java.nio.file.NoSuchFileException} for a missing object and
 * {@link java.nio.file.FileAlreadyExistsException} for an existing one. Any other
 * {@link IOException} a backend throws is classified by drkit from its type and message,
 * which is a guess.
 *
 * <p>Immutable, like its message.
 */
public class StorageIOException extends IOException {
    private static final long serialVersionUID = 1L;

    /** Why the storage failed, as far as the backend can tell. */
    public enum Reason {
        /**
         * The storage refuses these credentials or this operation for them (HTTP 401 and 403,
         * a file without write permission, a read-only file system). Not retryable.
         */
        ACCESS_DENIED(false),
        /** The bucket, or the disk or directory, of the repository does not exist. Not retryable. */
        NOT_FOUND(false),
        /** The disk or the quota is full. Not retryable: someone must free space first. */
        NO_SPACE(false),
        /**
         * The storage rejects the request as sent (HTTP 400, 405, 409, 412, 501): an option
         * the server does not support, a conflicting configuration. Not retryable.
         */
        REJECTED(false),
        /**
         * The storage cannot be reached or is overloaded for now (network failures, timeouts,
         * HTTP 408, 429 and 5xx). Retryable.
         */
        UNAVAILABLE(true),
        /** None of the above; the exception's {@link #retryable()} says whether to retry. */
        OTHER(false);

        private final boolean retryable;

        Reason(boolean retryable) {
            this.retryable = retryable;
        }

        /** Whether a failure for this reason passes by itself (for {@link #OTHER}: not known, false). */
        public boolean retryable() {
            return retryable;
        }

        /**
         * The reason an HTTP status of an object store's answer means: 401 and 403 are
         * {@link #ACCESS_DENIED}, 404 {@link #NOT_FOUND} (an object that does not exist is a
         * {@link java.nio.file.NoSuchFileException} instead), 408, 429 and 5xx other than 501
         * {@link #UNAVAILABLE}, other 4xx and 501 {@link #REJECTED}, anything else {@link #OTHER}.
         */
        public static Reason ofHttpStatus(int status) {
            if (status == 401 || status == 403) {
                return ACCESS_DENIED;
            }
            if (status == 404) {
                return NOT_FOUND;
            }
            if (status == 408 || status == 429 || (status >= 500 && status != 501 && status < 600)) {
                return UNAVAILABLE;
            }
            if ((status >= 400 && status < 500) || status == 501) {
                return REJECTED;
            }
            return OTHER;
        }
    }

    private final Reason reason;
    private final boolean retryable;

    /**
     * A failure retryable as its reason is ({@link Reason#retryable()}).
     *
     * @param message what was being done to which object, and what failed; no credentials
     * @param cause the client library's exception, or null
     * @param reason why it failed, not null
     */
    public StorageIOException(String message, Throwable cause, Reason reason) {
        this(message, cause, reason, reason.retryable());
    }

    /**
     * A failure whose retryability the storage said (a client library's own flag), which
     * may differ from its reason's default.
     *
     * @param message what was being done to which object, and what failed; no credentials
     * @param cause the client library's exception, or null
     * @param reason why it failed, not null
     * @param retryable whether the same call may succeed later unchanged
     */
    public StorageIOException(String message, Throwable cause, Reason reason, boolean retryable) {
        super(message, cause);
        this.reason = Objects.requireNonNull(reason, "reason");
        this.retryable = retryable;
    }

    /** Why the storage failed; never null. */
    public Reason reason() {
        return reason;
    }

    /** Whether the same call may succeed later without anyone changing anything. */
    public boolean retryable() {
        return retryable;
    }
}
