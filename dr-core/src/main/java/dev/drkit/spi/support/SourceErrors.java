package dev.drkit.spi.support;

import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;

/**
 * Failures to read what is being backed up. They are the target's, not the repository's
 * (whose failures are {@link dev.drkit.spi.StorageIOException}s), and say which file and what
 * to do, which a plain {@link IOException} would not.
 */
public final class SourceErrors {
    private SourceErrors() {}

    /** A source file or directory that cannot be read; {@code advice} says what to do. */
    public static DrException unreadable(Path path, IOException e, String advice) {
        return new DrException(
                ErrorCode.TARGET, "cannot read " + path + " to back it up (" + reason(e) + "); " + advice, e);
    }

    /** The cause in words: a file system exception's message repeats the path, its reason does not. */
    public static String reason(IOException e) {
        if (e instanceof FileSystemException fse) {
            if (fse.getReason() != null) {
                return fse.getReason();
            }
            if (e instanceof AccessDeniedException) {
                return "permission denied";
            }
            if (e instanceof NoSuchFileException) {
                return "it no longer exists";
            }
            if (e instanceof NotDirectoryException) {
                return "it is no longer a directory";
            }
            return "file system error";
        }
        return e.getMessage() != null ? e.getMessage() : "read error";
    }
}
