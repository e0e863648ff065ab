package dev.drkit.incident;

import dev.drkit.spi.support.Json;
import java.io.IOException;
import java.io.InputStream;
import java.net.ConnectException;
import java.net.URI;
import java.net.UnknownHostException;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.time.Duration;
import javax.net.ssl.SSLException;

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

    /** POSTs {@code body} as JSON; a failure's message says why without the URL (it may hold a token). */
    static void post(URI url, Object body) throws IOException {
        HttpRequest request = HttpRequest.newBuilder(url)
                .timeout(Duration.ofSeconds(30))
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofByteArray(Json.write(body)))
                .build();
        int status;
        try {
            // the request timeout ends with the response's head: the body is not read, since a
            // receiver could send it without end and hold this channel's notices for good
            HttpResponse<InputStream> response = HTTP.send(request, HttpResponse.BodyHandlers.ofInputStream());
            status = response.statusCode();
            response.body().close();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while posting", e);
        } catch (IOException e) {
            // the client's own message may quote the URL, and with it the hook's token
            throw new IOException(reason(e));
        }
        if (status < 300) {
            return;
        }
        if (status != 429 && status < 500) {
            throw new NoticeRejectedException("refused with HTTP " + status);
        }
        throw new IOException("answered HTTP " + status);
    }

    private static String reason(IOException e) {
        if (e instanceof HttpConnectTimeoutException) {
            return "the connection timed out";
        }
        if (e instanceof HttpTimeoutException) {
            return "no answer within 30 s";
        }
        if (e instanceof ConnectException) {
            return "the connection was refused";
        }
        if (e instanceof UnknownHostException || e.getCause() instanceof UnknownHostException) {
            return "the host name does not resolve";
        }
        if (e instanceof SSLException) {
            return "the TLS handshake failed";
        }
        return "the connection failed";
    }
}
