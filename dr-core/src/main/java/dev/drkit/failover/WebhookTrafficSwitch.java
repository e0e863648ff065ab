package dev.drkit.failover;

import dev.drkit.spi.support.Json;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Switches traffic by POSTing the promotion as JSON:
 * {@code {"event":"failover","name":..,"system":..,"newPrimary":"host:port","oldPrimary":..,"at":..}};
 * a 2xx answer within the timeout (default 30 s) is success, anything else fails the switch step.
 * The URL may carry a token: messages and {@link #toString()} name its host only. Thread-safe.
 */
public final class WebhookTrafficSwitch implements TrafficSwitch {
    private final URI url;
    private final Duration timeout;
    private final HttpClient http;

    /**
     * @param url an http(s) URL
     * @param timeout how long to wait for the answer
     * @throws IllegalArgumentException when the URL is not http(s) or the timeout not positive
     */
    public WebhookTrafficSwitch(URI url, Duration timeout) {
        Objects.requireNonNull(url, "url");
        if (!"http".equals(url.getScheme()) && !"https".equals(url.getScheme())) {
            throw new IllegalArgumentException("a traffic switch webhook is http(s)://, not " + url.getScheme() + ":");
        }
        this.url = url;
        this.timeout = Probe.positive(timeout, "timeout");
        this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
    }

    /** A webhook with a 30 s timeout. */
    public WebhookTrafficSwitch(URI url) {
        this(url, Duration.ofSeconds(30));
    }

    @Override
    public void switchTo(Promotion p) throws IOException, InterruptedException {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("event", "failover");
        body.put("name", p.name());
        body.put("system", p.system());
        body.put("newPrimary", p.newPrimary());
        body.put("oldPrimary", p.oldPrimary());
        body.put("at", p.at().toString());
        HttpRequest request = HttpRequest.newBuilder(url)
                .timeout(timeout)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.write(body)))
                .build();
        int status;
        try {
            // the timeout covers the answer's headers only: the body (never needed) is not read, so
            // a webhook that stalls after its status cannot hold the failover
            HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
            status = response.statusCode();
            response.body().close();
        } catch (IOException e) {
            throw new IOException(
                    "the traffic switch webhook at " + url.getHost() + " did not answer: " + Probe.describe(e), e);
        }
        if (status < 200 || status > 299) {
            throw new IOException("the traffic switch webhook at " + url.getHost() + " answered HTTP " + status);
        }
    }

    @Override
    public String toString() {
        return "WebhookTrafficSwitch[" + url.getHost() + "]";
    }
}
