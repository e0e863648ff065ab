package dev.drkit;

/** A verifier found a backup that does not pass. */
public class VerificationFailedException extends DrException {
    private static final long serialVersionUID = 1L;

    public VerificationFailedException(String message) {
        super(ErrorCode.VERIFICATION_FAILED, message);
    }

    public VerificationFailedException(String message, Throwable cause) {
        super(ErrorCode.VERIFICATION_FAILED, message, cause);
    }
}
