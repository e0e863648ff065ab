package dev.drkit;

/** Stored bytes do not match the size or sha256 recorded in the manifest: the object is corrupt or was tampered with. */
public class ChecksumMismatchException extends DrException {
    private static final long serialVersionUID = 1L;

    public ChecksumMismatchException(String message) {
        super(ErrorCode.CHECKSUM_MISMATCH, message);
    }

    public ChecksumMismatchException(String message, Throwable cause) {
        super(ErrorCode.CHECKSUM_MISMATCH, message, cause);
    }
}
