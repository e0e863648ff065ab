package dev.drkit;

/** A write-once object already exists under the key being created. */
public class ObjectExistsException extends DrException {
    private static final long serialVersionUID = 1L;

    public ObjectExistsException(String message) {
        super(ErrorCode.OBJECT_EXISTS, message);
    }

    public ObjectExistsException(String message, Throwable cause) {
        super(ErrorCode.OBJECT_EXISTS, message, cause);
    }
}
