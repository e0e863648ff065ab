package dev.drkit.spi.support;

import dev.drkit.spi.StorageIOException;
import dev.drkit.spi.StorageIOException.Reason;
import java.io.EOFException;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;

/**
 * Classifies storage failures that arrive without a {@link StorageIOException}'s flag (file
 * system errors, a third-party backend's plain {@link IOException}s) and says them in words.
 */
public final class StorageFailures {
    private StorageFailures() {}

    /** The failure as a {@link StorageIOException}: itself when it is one, else classified by its type and message. */
    public static StorageIOException classify(IOException e) {
        if (e instanceof StorageIOException s) {
            return s;
        }
        return new StorageIOException(describe(e), e, reason(e), retryable(e));
    }

    /** The first {@link StorageIOException} in a failure's causes (the failure itself included), or null. */
    public static StorageIOException find(Throwable t) {
        for (int depth = 0; t != null && depth < 16; t = t.getCause(), depth++) {
            if (t instanceof StorageIOException s) {
                return s;
            }
        }
        return null;
    }

    /**
     * The reason a plain I/O failure gives: access denied or a read-only file system, a full
     * disk or quota, a network failure or timeout; anything else is {@link Reason#OTHER}.
     */
    static Reason reason(IOException e) {
        String text = String.valueOf(e instanceof FileSystemException f ? f.getReason() : e.getMessage());
        if (e instanceof AccessDeniedException
                || text.contains("Read-only file system")
                || text.contains("Permission denied")
                || text.contains("Operation not permitted")) {
            return Reason.ACCESS_DENIED;
        }
        if (text.contains("No space left") || text.contains("Disk quota exceeded")) {
            return Reason.NO_SPACE;
        }
        if (network(e)) {
            return Reason.UNAVAILABLE;
        }
        return Reason.OTHER;
    }

    private static boolean retryable(IOException e) {
        Reason r = reason(e);
        // an unknown failure is retried, as before there were reasons; an interrupt is no failure to repeat
        return r == Reason.OTHER ? !(e instanceof InterruptedIOException) : r.retryable();
    }

    /** A network failure or timeout anywhere in the causes: a reset, a refused connection, no answer in time. */
    public static boolean network(Throwable t) {
        for (int depth = 0; t != null && depth < 16; t = t.getCause(), depth++) {
            if (t instanceof SocketException
                    || t instanceof SocketTimeoutException
                    || t instanceof EOFException
                    || (t instanceof IOException
                            && String.valueOf(t.getMessage()).contains("Connection reset"))) {
                return true;
            }
        }
        return false;
    }

    /** A host name that does not resolve anywhere in the causes: a mistyped endpoint more often than an outage. */
    public static boolean unknownHost(Throwable t) {
        for (int depth = 0; t != null && depth < 16; t = t.getCause(), depth++) {
            if (t instanceof UnknownHostException) {
                return true;
            }
        }
        return false;
    }

    /**
     * An I/O failure in words, for messages: a file system error names its file and its
     * reason (its own message often holds only the path), anything else gives its message.
     */
    public static String describe(IOException e) {
        if (e instanceof FileSystemException f) {
            String why = f.getReason() != null
                    ? f.getReason()
                    : e instanceof AccessDeniedException
                            ? "permission denied"
                            : e instanceof NoSuchFileException
                                    ? "no such file or directory"
                                    : e instanceof FileAlreadyExistsException
                                            ? "something already exists there"
                                            : e instanceof NotDirectoryException
                                                    ? "not a directory"
                                                    : "file system error";
            return f.getFile() == null
                    ? why
                    : f.getFile() + (f.getOtherFile() == null ? "" : " -> " + f.getOtherFile()) + ": " + why;
        }
        return e.getMessage() != null
                ? e.getMessage()
                : e instanceof InterruptedIOException ? "interrupted" : "input/output error";
    }
}
