package dev.drkit;

/** Stored data cannot be decoded: bad framing, truncation or an unsupported format. */
public class CorruptDataException extends DrException {
    private static final long serialVersionUID = 1L;

    public CorruptDataException(String message) {
        super(ErrorCode.CORRUPT_DATA, message);
    }

    public CorruptDataException(String message, Throwable cause) {
        super(ErrorCode.CORRUPT_DATA, message, cause);
    }
}
