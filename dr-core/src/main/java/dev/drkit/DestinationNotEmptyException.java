package dev.drkit;

/** A restore destination already holds data and the caller did not ask to overwrite it. */
public class DestinationNotEmptyException extends DrException {
    private static final long serialVersionUID = 1L;

    public DestinationNotEmptyException(String message) {
        super(ErrorCode.DESTINATION_NOT_EMPTY, message);
    }

    public DestinationNotEmptyException(String message, Throwable cause) {
        super(ErrorCode.DESTINATION_NOT_EMPTY, message, cause);
    }
}
