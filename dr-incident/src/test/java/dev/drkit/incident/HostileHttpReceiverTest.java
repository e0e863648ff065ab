package dev.drkit.incident;

import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.OutputStream;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * A receiver that answers 200 at once and then sends a body that never ends (or dribbles it a
 * byte at a time) must not hold the channel's delivery thread: the client's 30 s request timeout
 * covers the wait for the response's head only, so the body is read for as long as it comes, and
 * every later notice to that channel waits behind it for good.
 */
class HostileHttpReceiverTest {
    static Notice notice() {
        Instant t = Instant.parse("2026-12-02T12:00:00Z");
        Incident i = new Incident(
                "drkit-db-failover-20261202T120000Z",
                Incident.Kind.FAILOVER,
                "db",
                Incident.Severity.CRITICAL,
                t,
                null,
                "impact",
                "cause",
                "investigating",
                List.of(),
                null);
        return NoticeTemplates.defaults().render(Notice.Type.INITIAL, i, t, t.plusSeconds(3600));
    }

    /** 200 at once, then one chunk of a chunked body every 100 ms, forever. */
    static RawServer endlessBody() throws Exception {
        return new RawServer((s, n) -> {
            RawServer.readHttpRequest(s.getInputStream());
            OutputStream out = s.getOutputStream();
            RawServer.write(out, "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nTransfer-Encoding: chunked\r\n\r\n");
            while (true) {
                RawServer.write(out, "1\r\nx\r\n");
                Thread.sleep(100);
            }
        });
    }

    @Test
    void aWebhookThatAnswersWithAnEndlessBodyDoesNotHoldTheDeliveryForever() throws Exception {
        try (RawServer server = endlessBody()) {
            WebhookChannel channel = new WebhookChannel(URI.create("http://127.0.0.1:" + server.port() + "/hook"));
            // the status came at once: the notice is delivered (or, at worst, fails) within the
            // client's 30 s request timeout, not when the receiver stops talking
            assertTimeoutPreemptively(Duration.ofSeconds(40), () -> channel.send(notice()));
        }
    }
}
