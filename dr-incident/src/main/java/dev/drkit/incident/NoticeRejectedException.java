package dev.drkit.incident;

import java.io.IOException;

/**
 * A receiver refused a notice (an HTTP 4xx other than 429, a mail server's permanent error):
 * the {@link IncidentManager} does not send it again. The message says why, never a secret;
 * the manager adds the channel's name.
 */
public class NoticeRejectedException extends IOException {
    private static final long serialVersionUID = 1L;

    /** @param message why the notice was refused, without secrets */
    public NoticeRejectedException(String message) {
        super(message);
    }
}
