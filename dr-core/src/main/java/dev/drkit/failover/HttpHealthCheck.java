package dev.drkit.failover;

import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;

/**
 * Healthy when a GET of the URL answers with a 2xx status within the timeout (default 5 s);
 * redirects are not followed (a 3xx is unhealthy: point the check at the final URL). The URL
 * may carry a token, so results, messages and {@link #toString()} name its host and port only.
 * Immutable and thread-safe.
 */
public final class HttpHealthCheck implements HealthCheck {
    private final String name;
    private final URI url;
    private final Duration timeout;
    private final Clock clock;
    private final HttpClient http;

    private HttpHealthCheck(String name, URI url, Duration timeout, Clock clock) {
        this.name = name;
        this.url = url;
        this.timeout = timeout;
        this.clock = clock;
        this.http = HttpClient.newBuilder()
                .connectTimeout(timeout)
                .followRedirects(HttpClient.Redirect.NEVER)
                .build();
    }

    /**
     * A check of {@code url} with a 5 s timeout.
     *
     * @throws IllegalArgumentException when the URL is not http(s) or has no host
     */
    public static HttpHealthCheck of(String name, URI url) {
        return of(name, url, Duration.ofSeconds(5));
    }

    /** {@link #of(String, URI)} with a timeout of its own (connection and answer). */
    public static HttpHealthCheck of(String name, URI url, Duration timeout) {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(url, "url");
        if (!"http".equals(url.getScheme()) && !"https".equals(url.getScheme())) {
            throw new IllegalArgumentException(
                    "an HTTP health check needs an http(s):// URL, not " + url.getScheme() + ":");
        }
        if (url.getHost() == null) {
            throw new IllegalArgumentException("an HTTP health check URL needs a host");
        }
        return new HttpHealthCheck(name, url, Probe.positive(timeout, "timeout"), Clock.systemUTC());
    }

    /** The same check timed by another clock (tests). */
    public HttpHealthCheck withClock(Clock clock) {
        return new HttpHealthCheck(name, url, timeout, Objects.requireNonNull(clock, "clock"));
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public HealthResult check() {
        return Probe.run(name, "http", clock, () -> {
            HttpRequest request =
                    HttpRequest.newBuilder(url).timeout(timeout).GET().build();
            int status;
            try {
                // the status is all a check needs: a body that never ends must not hold it past its
                // timeout (which covers the answer's headers only), so it is not read at all
                HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
                status = response.statusCode();
                response.body().close();
            } catch (IOException e) {
                throw new Probe.Unhealthy(where() + ": " + Probe.describe(e));
            }
            if (status < 200 || status > 299) {
                throw new Probe.Unhealthy(where() + " answered HTTP " + status);
            }
            return "HTTP " + status;
        });
    }

    private String where() {
        return url.getHost() + (url.getPort() < 0 ? "" : ":" + url.getPort());
    }

    @Override
    public String toString() {
        return "HttpHealthCheck[" + name + ", " + where() + "]";
    }
}
