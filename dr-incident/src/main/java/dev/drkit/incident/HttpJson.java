package dev.drkit.incident;

import dev.drkit.spi.support.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;

/** One JSON POST for the HTTP channels; a refusal (4xx but 429) is final, the rest is retried. */
final class HttpJson {
    private static final HttpClient HTTP =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(10)).build();

    private HttpJson() {}

    static URI checkUrl(URI url, String what) {
        if (url == null
                || (!"http".equals(url.getScheme()) && !"https".equals(url.getScheme()))
                || url.getHost() == null) {
            throw new IllegalArgumentException("the " + what + " URL must be an http(s):// URL with a host");
        }
        return url;
    }

    /**
     * POSTs {@code body} as JSON.
     *
     * @param channel names the channel in messages (no secret)
     */
    static void post(URI url, Object body, String channel) throws IOException {
        HttpRequest request = HttpRequest.newBuilder(url)
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.write(body)))
                .build();
        int status;
        try {
            status = HTTP.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while posting to " + channel, e);
        }
        if (status < 300) {
            return;
        }
        if (status != 429 && status < 500) {
            throw new NoticeRejectedException(channel + " refused the notice with HTTP " + status);
        }
        throw new IOException(channel + " answered HTTP " + status);
    }
}
