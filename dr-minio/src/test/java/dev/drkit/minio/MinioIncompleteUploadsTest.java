package dev.drkit.minio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.drkit.spi.ObjectInfo;
import io.minio.MinioClient;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Unfinished multipart uploads of a MinIO repository (check lists them, prune aborts them), against
 * a scripted S3 server on loopback: two pages of uploads, old and new, the repository's and others'
 * (a server that ignores the prefix asked for), and servers whose pages never end.
 */
class MinioIncompleteUploadsTest {
    static final int PAGES = 300;

    HttpServer server;
    final AtomicInteger listings = new AtomicInteger();
    final List<String> queries = new CopyOnWriteArrayList<>();
    final List<String> aborted = new CopyOnWriteArrayList<>();
    /** "two-pages", "same-markers" (truncated, the markers never move) or "no-markers" (truncated, none). */
    volatile String paging = "two-pages";

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

    private MinioStorageBackend backend() {
        MinioClient client = MinioClient.builder()
                .endpoint("http://127.0.0.1:" + server.getAddress().getPort())
                .credentials("ak", "sk")
                .region("us-east-1")
                .build();
        return MinioStorageBackend.of(client, "bkt", "r", 5L << 20);
    }

    private void handle(HttpExchange x) throws IOException {
        String q = String.valueOf(x.getRequestURI().getRawQuery());
        String path = x.getRequestURI().getRawPath();
        byte[] body = new byte[0];
        int status = 200;
        if (x.getRequestMethod().equals("GET") && path.equals("/bkt") && q.contains("uploads")) {
            queries.add(q);
            body = page(listings.incrementAndGet()).getBytes(StandardCharsets.UTF_8);
        } else if (x.getRequestMethod().equals("DELETE") && q.startsWith("uploadId=")) {
            aborted.add(path + "?" + q);
            status = 204;
        } else {
            status = 403;
            body = "<Error><Code>AccessDenied</Code><Message>Access Denied.</Message></Error>"
                    .getBytes(StandardCharsets.UTF_8);
        }
        x.getResponseHeaders().add("Content-Type", "application/xml");
        x.sendResponseHeaders(status, body.length == 0 ? -1 : body.length);
        try (OutputStream out = x.getResponseBody()) {
            out.write(body);
        }
    }

    private String page(int n) {
        String now = DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSS'Z'")
                .withZone(ZoneOffset.UTC)
                .format(Instant.now());
        if (paging.equals("two-pages")) {
            return n == 1
                    ? result(
                            true,
                            "<NextKeyMarker>r/backups/t/2/y</NextKeyMarker><NextUploadIdMarker>u2</NextUploadIdMarker>",
                            upload("r/backups/t/1/x", "u1", "2024-01-01T00:00:00.000Z")
                                    + upload("r/backups/t/2/y", "u2", now))
                    : result(
                            false,
                            "",
                            upload("r/wal/1/00000001/000000010000000000000003", "u3", "2024-01-02T00:00:00.000Z")
                                    + upload("r-other/backups/t/3/z", "u4", "2024-01-01T00:00:00.000Z")
                                    + upload("videos/raw.mov", "u5", "2024-01-01T00:00:00.000Z"));
        }
        boolean more = n < PAGES;
        String markers = paging.equals("same-markers")
                ? "<NextKeyMarker>r/backups/t/1/x</NextKeyMarker><NextUploadIdMarker>u1</NextUploadIdMarker>"
                : "";
        return result(more, more ? markers : "", upload("r/backups/t/1/x", "u" + n, "2024-01-01T00:00:00.000Z"));
    }

    private static String result(boolean truncated, String markers, String uploads) {
        return "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
                + "<ListMultipartUploadsResult xmlns=\"http://s3.amazonaws.com/doc/2006-03-01/\">"
                + "<Bucket>bkt</Bucket><KeyMarker></KeyMarker><UploadIdMarker></UploadIdMarker>" + markers
                + "<MaxUploads>1000</MaxUploads><IsTruncated>" + truncated + "</IsTruncated>" + uploads
                + "</ListMultipartUploadsResult>";
    }

    private static String upload(String key, String id, String initiated) {
        return "<Upload><Key>" + key + "</Key><UploadId>" + id + "</UploadId>"
                + "<Initiator><ID>i</ID><DisplayName>i</DisplayName></Initiator>"
                + "<Owner><ID>o</ID><DisplayName>o</DisplayName></Owner>"
                + "<StorageClass>STANDARD</StorageClass><Initiated>" + initiated + "</Initiated></Upload>";
    }

    /** On main: none listed, none aborted (the storage's default knows of no uploads). */
    @Test
    void checkListsTheRepositorysOldUnfinishedUploadsAcrossPages() throws IOException {
        MinioStorageBackend backend = backend();

        assertThat(backend.incompleteUploads(Duration.ofDays(1)))
                .extracting(ObjectInfo::key)
                .containsExactly(
                        "backups/t/1/x (multipart upload u1)",
                        "wal/1/00000001/000000010000000000000003 (multipart upload u3)");
        assertThat(queries).hasSize(2);
        assertThat(queries.get(0)).contains("prefix=r%2F");
        assertThat(queries.get(1))
                .contains("key-marker=r%2Fbackups%2Ft%2F2%2Fy")
                .contains("upload-id-marker=u2");
    }

    @Test
    void pruneAbortsOnlyTheRepositorysUploadsOlderThanTheAge() throws IOException {
        MinioStorageBackend backend = backend();

        assertThat(backend.cleanIncompleteUploads(Duration.ofDays(1))).isEqualTo(2);

        assertThat(aborted)
                .containsExactly(
                        "/bkt/r/backups/t/1/x?uploadId=u1",
                        "/bkt/r/wal/1/00000001/000000010000000000000003?uploadId=u3");
    }

    @Test
    void aListingOfUploadsWhoseMarkersNeverMoveFails() {
        paging = "same-markers";
        MinioStorageBackend backend = backend();

        assertThatThrownBy(() -> backend.incompleteUploads(Duration.ZERO))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("pages do not add up");
        assertThat(listings.get()).as("pages asked for").isBetween(1, 4);
        assertThatThrownBy(() -> backend.cleanIncompleteUploads(Duration.ZERO)).isInstanceOf(IOException.class);
        assertThat(aborted)
                .as("nothing aborted on a listing that does not add up")
                .isEmpty();
    }

    @Test
    void aTruncatedPageOfUploadsWithoutMarkersIsNotTakenAsTheWholeListing() {
        paging = "no-markers";
        MinioStorageBackend backend = backend();

        assertThatThrownBy(() -> backend.incompleteUploads(Duration.ZERO))
                .isInstanceOf(IOException.class)
                .hasMessageContaining("pages do not add up");
        assertThat(listings.get()).as("pages asked for").isBetween(1, 4);
    }
}
