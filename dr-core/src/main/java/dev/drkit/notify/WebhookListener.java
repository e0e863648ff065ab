package dev.drkit.notify;

import dev.drkit.DrEvent;
import dev.drkit.DrListener;
import dev.drkit.Settings;
import dev.drkit.spi.support.Hosts;
import dev.drkit.spi.support.Json;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Posts events as JSON to a webhook (chat, paging or incident tools), off the caller's thread:
 * {@code {"type":"BACKUP_FAILED","target":..,"backupId":..,"at":..,"message":..,"host":..,"details":{..}}}.
 * A failed delivery (connection error, 429, 5xx) is retried with exponential backoff; one that
 * still fails is logged, never thrown into the operation that caused the event. The URL may
 * hold a token, so it never appears in logs or {@code toString()}.
 */
public final class WebhookListener implements DrListener, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(WebhookListener.class);

    /** What is worth waking someone for. */
    public static final Set<DrEvent.Type> FAILURES = EnumSet.of(
            DrEvent.Type.BACKUP_FAILED,
            DrEvent.Type.RESTORE_FAILED,
            DrEvent.Type.VERIFY_FAILED,
            DrEvent.Type.RPO_AT_RISK,
            DrEvent.Type.STALE_LOCK_TAKEN_OVER,
            DrEvent.Type.FAILOVER_FAILED);

    private final URI url;
    private final Set<DrEvent.Type> types;
    private final int attempts;
    private final Duration backoff;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();
    private final ExecutorService sender = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "drkit-webhook");
        t.setDaemon(true);
        return t;
    });

    /**
     * @param url where to POST
     * @param types the event types to send
     * @param attempts deliveries tried per event (at least 1)
     * @param backoff the wait before the second attempt, doubled for each further one
     */
    public WebhookListener(URI url, Set<DrEvent.Type> types, int attempts, Duration backoff) {
        if (!"http".equals(url.getScheme()) && !"https".equals(url.getScheme())) {
            throw new IllegalArgumentException("a webhook URL is http(s)://, not " + url.getScheme() + ":");
        }
        this.url = url;
        this.types = Set.copyOf(types);
        this.attempts = Math.max(1, attempts);
        this.backoff = backoff;
    }

    @Override
    public void onEvent(DrEvent event) {
        if (types.contains(event.type())) {
            sender.execute(() -> deliver(event));
        }
    }

    private void deliver(DrEvent event) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", event.type().name());
        body.put("target", event.target());
        body.put("backupId", event.backupId());
        body.put("at", event.at().toString());
        // a message may quote a URL with its password: it is masked before it leaves the host
        body.put("message", event.message() == null ? null : Settings.redactText(event.message()));
        body.put("host", Hosts.name());
        body.put("details", event.details());
        HttpRequest request = HttpRequest.newBuilder(url)
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.write(body)))
                .build();
        String last = "";
        int attempt = 1;
        for (; attempt <= attempts; attempt++) {
            try {
                // the request timeout ends with the response's head: the body is not read, since
                // a receiver could send it without end and hold every later event
                HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
                int status = response.statusCode();
                response.body().close();
                if (status < 300) {
                    return;
                }
                last = "HTTP " + status;
                if (status != 429 && status < 500) {
                    break; // the hook refuses this request; sending it again will not help
                }
            } catch (IOException e) {
                last = e instanceof HttpTimeoutException
                        ? "no answer within 30 s"
                        : e instanceof ConnectException ? "the connection was refused" : "the connection failed";
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            if (attempt < attempts) {
                try {
                    Thread.sleep(backoff.toMillis() << (attempt - 1));
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
        LOG.warn(
                "could not deliver the {} event of {} to the webhook at {} after {} attempt(s): {}",
                event.type(),
                event.target(),
                url.getHost(),
                Math.min(attempt, attempts),
                last);
    }

    /** Delivers what is queued (up to 30 s), then stops. */
    @Override
    public void close() {
        sender.shutdown();
        try {
            sender.awaitTermination(30, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public String toString() {
        return "WebhookListener[" + url.getHost() + ", " + types + "]";
    }
}
