package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.assertj.core.api.ThrowableAssert.ThrowingCallable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.auth.credentials.AwsSessionCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * a server whose ListObjectsV2 pagination is broken. Each page says it is truncated
 * and hands back the same continuation token (the one just sent), so paging never ends; the
 * fake gives up after {@link #PAGES} pages so that the test ends on main too.
 */
class S3HostileListingTest {
    static final int PAGES = 300;

    HttpServer server;
    final AtomicInteger listings = new AtomicInteger();
    final AtomicInteger uploadListings = new AtomicInteger();
    final AtomicInteger aborts = new AtomicInteger();
    /** Pages that say they are not truncated and still name the token just sent, with no keys. */
    volatile boolean untruncatedWithToken;

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

    private void handle(HttpExchange x) throws IOException {
        String q = String.valueOf(x.getRequestURI().getRawQuery());
        byte[] body;
        int status = 200;
        if (x.getRequestMethod().equals("GET") && q.startsWith("uploads")) {
            // every page truncated, handing back the markers just sent
            uploadListings.incrementAndGet();
            body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                            + "<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                            + "<Bucket>b</Bucket><KeyMarker>r/backups/t/1/x</KeyMarker><UploadIdMarker>u1"
                            + "</UploadIdMarker><NextKeyMarker>r/backups/t/1/x</NextKeyMarker><NextUploadIdMarker>u1"
                            + "</NextUploadIdMarker><MaxUploads>1000</MaxUploads><IsTruncated>"
                            + (uploadListings.get() < PAGES) + "</IsTruncated><Upload><Key>r/backups/t/1/x</Key>"
                            + "<UploadId>u" + uploadListings.get() + "</UploadId>"
                            + "<Initiated>2024-01-01T00:00:00.000Z</Initiated></Upload></ListMultipartUploadsResult>")
                    .getBytes(StandardCharsets.UTF_8);
        } else if (x.getRequestMethod().equals("DELETE")) {
            aborts.incrementAndGet();
            x.sendResponseHeaders(204, -1);
            x.close();
            return;
        } else if (x.getRequestMethod().equals("GET") && q.contains("list-type=2")) {
            int n = listings.incrementAndGet();
            boolean more = n < PAGES;
            body = ("<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                            + "<ListBucketResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                            + "<Name>b</Name><Prefix>r/backups/</Prefix><MaxKeys>1000</MaxKeys><KeyCount>2</KeyCount>"
                            + "<EncodingType>url</EncodingType>"
                            + "<IsTruncated>" + (more && !untruncatedWithToken) + "</IsTruncated>"
                            + (more ? "<NextContinuationToken>same-token</NextContinuationToken>" : "")
                            + (n > 1 && untruncatedWithToken ? "" : contents("r/backups/t/1/manifest.json"))
                            + (n > 1 && untruncatedWithToken ? "" : contents("r/backups/t/2/manifest.json"))
                            + "</ListBucketResult>")
                    .getBytes(StandardCharsets.UTF_8);
        } else {
            status = 403;
            body = "<Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>"
                    .getBytes(StandardCharsets.UTF_8);
        }
        x.getResponseHeaders().add("Content-Type", "application/xml");
        if (x.getRequestMethod().equals("HEAD")) {
            x.sendResponseHeaders(status, -1);
            x.close();
            return;
        }
        x.sendResponseHeaders(status, body.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(body);
        }
    }

    private static S3StorageBackend backend(S3Client client) {
        return S3StorageBackend.builder().client(client).bucket("b").prefix("r").build();
    }

    private static String contents(String key) {
        return "<Contents><Key>" + key + "</Key><LastModified>2024-01-01T00:00:00.000Z</LastModified>"
                + "<ETag>\"00\"</ETag><Size>1</Size><StorageClass>STANDARD</StorageClass></Contents>";
    }

    @Test
    void aListingWhoseContinuationTokenNeverMovesFailsInsteadOfPagingForever() {
        URI endpoint = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        try (S3Client client = TestClients.s3(endpoint, "ak", "sk").build()) {
            S3StorageBackend backend = backend(client);
            // on main: list() pages until the fake gives up (against a server that never does, forever,
            // its memory growing by a page each round) and returns every key 300 times
            assertThatThrownBy(() -> backend.list("backups/")).isInstanceOf(IOException.class);
            assertThat(listings.get()).as("pages asked for").isLessThan(5);
        }
    }

    /**
     * The SDK's paginator goes on while a page names a token, whatever the page says of truncation:
     * on main, pages that said they were not truncated, named the token just sent and listed
     * nothing more were asked for until the fake gave up (a real one: for ever).
     */
    @Test
    void aListingThatSaysItEndsButHandsBackItsTokenFailsInsteadOfPagingForever() {
        untruncatedWithToken = true;
        URI endpoint = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        try (S3Client client = TestClients.s3(endpoint, "ak", "sk").build()) {
            S3StorageBackend backend = backend(client);
            assertThatThrownBy(() -> backend.list("backups/"))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("pages do not add up");
            assertThat(listings.get()).as("pages asked for").isLessThan(5);
        }
    }

    /** On main: check and prune paged through uploads until the fake gave up (a real one: for ever). */
    @Test
    void aListingOfUploadsWhoseMarkersNeverMoveFailsAndAbortsNothing() {
        URI endpoint = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        try (S3Client client = TestClients.s3(endpoint, "ak", "sk").build()) {
            S3StorageBackend backend = backend(client);
            assertThatThrownBy(() -> backend.incompleteUploads(Duration.ZERO))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("pages do not add up");
            assertThat(uploadListings.get()).as("pages asked for").isLessThan(5);
            assertThatThrownBy(() -> backend.cleanIncompleteUploads(Duration.ZERO))
                    .isInstanceOf(IOException.class);
            assertThat(aborts.get())
                    .as("uploads aborted on a listing that does not add up")
                    .isZero();
        }
    }

    /** Held up: a refused request's failure, printed with its causes, carries no session token or secret key. */
    @Test
    void aRefusedRequestPrintsNoSecret() {
        URI endpoint = URI.create("http://127.0.0.1:" + server.getAddress().getPort());
        String token = "SESSIONTOKEN-must-not-leak-0123456789";
        String secret = "SECRETKEY-must-not-leak-9876543210";
        try (S3Client client = TestClients.s3(endpoint, "ak", secret)
                .credentialsProvider(
                        StaticCredentialsProvider.create(AwsSessionCredentials.create("ak", secret, token)))
                .build()) {
            S3StorageBackend backend = backend(client);
            for (ThrowingCallable call : List.<ThrowingCallable>of(
                    () -> backend.stat("x"),
                    () -> backend.open("x", 0).close(),
                    () -> backend.createIfAbsent("y", new byte[1]))) {
                Throwable t = catchThrowable(call);
                assertThat(t).isInstanceOf(IOException.class);
                StringWriter printed = new StringWriter();
                t.printStackTrace(new PrintWriter(printed));
                assertThat(printed.toString()).doesNotContain(token).doesNotContain(secret);
            }
        }
    }
}
