package dev.drkit;

/**
 * Provider selection or loading failed: nothing matches (the message lists what is known),
 * more than one matches at the same priority (the message names the candidates), or a
 * provider on the class path is broken (the message names its class).
 */
public class ProviderException extends DrException {
    private static final long serialVersionUID = 1L;

    public ProviderException(ErrorCode code, String message, Throwable cause) {
        super(code, message, cause);
    }
}
