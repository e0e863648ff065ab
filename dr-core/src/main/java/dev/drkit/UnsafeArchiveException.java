package dev.drkit;

/** An archive entry would be written outside the restore destination (absolute path, {@code ..}, or through a link). */
public class UnsafeArchiveException extends DrException {
    private static final long serialVersionUID = 1L;

    public UnsafeArchiveException(String message) {
        super(ErrorCode.UNSAFE_ARCHIVE, message);
    }

    public UnsafeArchiveException(String message, Throwable cause) {
        super(ErrorCode.UNSAFE_ARCHIVE, message, cause);
    }
}
