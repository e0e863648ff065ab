package dev.drkit.incident;

import java.io.IOException;

/**
 * A receiver refused a notice (an HTTP 4xx other than 429, a mail server's permanent error):
 * the {@link IncidentManager} does not send it again. The message names the channel, never its
 * secrets.
 */
public class NoticeRejectedException extends IOException {
    private static final long serialVersionUID = 1L;

    /** @param message what was refused and by whom, without secrets */
    public NoticeRejectedException(String message) {
        super(message);
    }
}
