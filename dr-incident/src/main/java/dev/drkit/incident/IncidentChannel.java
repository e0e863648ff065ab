package dev.drkit.incident;

import java.io.IOException;

/**
 * Where incident notices go: a chat channel, a paging service, a webhook, a mailbox. The
 * {@link IncidentManager} calls {@link #send} on a thread of its own per channel, in the order
 * the notices were made, and retries a failed delivery with backoff; a channel makes one
 * attempt per call.
 *
 * <p>Implementations must be thread-safe and must keep their secrets (tokens, routing keys,
 * passwords, URLs that hold a token) out of {@code toString()}, which names the channel in
 * logs and events.
 */
public interface IncidentChannel {

    /**
     * Delivers one notice.
     *
     * @throws NoticeRejectedException when the receiver refused the notice and sending it again
     *     would not help (no retry)
     * @throws IOException when the delivery failed in a way a later attempt may not (retried)
     */
    void send(Notice notice) throws IOException;
}
