package dev.drkit.minio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.drkit.spi.ObjectInfo;
import io.minio.MinioClient;
import io.minio.credentials.StaticProvider;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * MinioStorageBackend against a scripted S3 server on loopback (com.sun.net.httpserver)
 * whose listings page wrongly, and that refuses a request.
 */
class MinioHostileServerTest {
    static final int PAGES = 300;
    static final String SESSION_TOKEN = "SESSIONTOKEN-must-not-leak-0123456789";

    HttpServer server;
    final AtomicInteger listings = new AtomicInteger();
    /**
     * What the listing's pages say: "same-token" (a token that never moves), "empty-same-token"
     * (the same, with no keys), "no-token" (truncated, none), or "one-page" (whole, with keys
     * drkit cannot have written).
     */
    volatile String paging = "same-token";

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private MinioStorageBackend backend(MinioClient client) {
        return MinioStorageBackend.of(client, "bkt", "r", 5L << 20);
    }

    private MinioClient client() {
        return MinioClient.builder()
                .endpoint("http://127.0.0.1:" + server.getAddress().getPort())
                .credentials("ak", "sk")
                .region("us-east-1")
                .build();
    }

    private void handle(HttpExchange x) throws IOException {
        String q = String.valueOf(x.getRequestURI().getRawQuery());
        byte[] body;
        int status = 200;
        if (x.getRequestMethod().equals("GET") && q.contains("list-type=2")) {
            int n = listings.incrementAndGet();
            boolean more = n < PAGES && !paging.equals("one-page");
            String token =
                    !more || paging.equals("no-token") ? "" : "<NextContinuationToken>same</NextContinuationToken>";
            boolean empty = paging.equals("empty-same-token");
            body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                            + "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                            + "<Name>bkt</Name><Prefix>r/backups/</Prefix><MaxKeys>1000</MaxKeys><KeyCount>1</KeyCount>"
                            + "<IsTruncated>" + more + "</IsTruncated>" + token
                            + (empty ? "" : contents("r/backups/t/1/manifest.json"))
                            + (paging.equals("one-page")
                                    ? contents("r/backups//t/2/manifest.json")
                                            + contents("r/backups/t/3/a\\b")
                                            + contents("elsewhere/backups/t/4/manifest.json")
                                    : "")
                            + "</ListBucketResult>")
                    .getBytes(StandardCharsets.UTF_8);
        } else {
            status = 403;
            body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code>"
                            + "<Message>Access Denied.</Message><Resource>/bkt/r/x</Resource><RequestId>1</RequestId>"
                            + "<HostId>h</HostId></Error>")
                    .getBytes(StandardCharsets.UTF_8);
        }
        x.getResponseHeaders().add("Content-Type", "application/xml");
        x.sendResponseHeaders(status, body.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(body);
        }
    }

    private static String contents(String key) {
        return "<Contents><Key>" + key + "</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>"
                + "<ETag>\"00\"</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>";
    }

    /** Keys drkit cannot have written (a//b, a\\b, outside the repository's prefix) are left out, not failed on. */
    @Test
    void keysDrkitCannotHaveWrittenAreLeftOutOfAListing() throws IOException {
        paging = "one-page";
        MinioStorageBackend backend = backend(client());

        assertThat(backend.list("backups/")).extracting(ObjectInfo::key).containsExactly("backups/t/1/manifest.json");
    }

    /** On main: pages until the server gives up (forever against one that does not) and lists the key 300 times. */
    @Test
    void aListingWhoseContinuationTokenNeverMovesFails() {
        MinioStorageBackend backend = backend(client());
        assertThatThrownBy(() -> backend.list("backups/")).isInstanceOf(IOException.class);
        assertThat(listings.get()).as("pages asked for").isBetween(1, 4);
    }

    /**
     * Empty truncated pages that hand back the token they were asked with: no key comes twice, and
     * on main the SDK's own paging asked for them until the server stopped (here after 300 pages;
     * for ever against one that does not), so that every prune and check hung.
     */
    @Test
    @Timeout(60)
    void anEmptyTruncatedPageRepeatingItsTokenFails() {
        paging = "empty-same-token";
        MinioStorageBackend backend = backend(client());
        assertThatThrownBy(() -> backend.list("backups/"))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("listing backups/");
        assertThat(listings.get()).as("pages asked for").isBetween(1, 4);
    }

    /** A page that says it is truncated but gives no token to go on with: the listing is not whole. */
    @Test
    void aTruncatedPageWithoutAContinuationTokenIsNotTakenAsTheWholeListing() {
        paging = "no-token";
        MinioStorageBackend backend = backend(client());
        assertThatThrownBy(() -> backend.list("backups/")).isInstanceOf(IOException.class);
        assertThat(listings.get()).as("pages asked for").isBetween(1, 4);
    }

    /**
     * A refused request: the failure, printed as hosts log it (a stack trace with its causes),
     * must not carry the client's session token. The MinIO SDK's ErrorResponseException prints
     * the request's headers, x-amz-security-token among them, in its toString().
     */
    @Test
    void aRefusedRequestDoesNotPrintTheSessionToken() {
        MinioClient client = MinioClient.builder()
                .endpoint("http://127.0.0.1:" + server.getAddress().getPort())
                .credentialsProvider(new StaticProvider("ak", "sk", SESSION_TOKEN))
                .region("us-east-1")
                .build();
        MinioStorageBackend backend = backend(client);
        Throwable failure = null;
        try {
            backend.stat("backups/t/1/manifest.json");
        } catch (IOException e) {
            failure = e;
        }
        assertThat(failure).as("the server refused").isNotNull();
        StringWriter printed = new StringWriter();
        failure.printStackTrace(new PrintWriter(printed));
        assertThat(printed.toString()).containsIgnoringCase("access denied").doesNotContain(SESSION_TOKEN);
    }
}
