package dev.drkit.minio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.drkit.spi.ObjectUpload;
import io.minio.MinioClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Conditional creates whose first answer is lost, against a small S3 server on loopback that keeps
 * objects in memory and honours {@code If-None-Match: *}. The MinIO SDK itself never sends a PUT
 * twice (it turns OkHttp's retry off for PUT and POST), but a proxy in between does (Envoy's
 * {@code retry_on: reset}, a load balancer's retry): for the keys in {@link #lose} the server
 * stores the PUT and answers as the resent one was answered, 412 on the object the first made.
 */
class MinioLostAnswerTest {
    HttpServer server;
    final Map<String, byte[]> objects = new ConcurrentHashMap<>();
    final Set<String> lose = ConcurrentHashMap.newKeySet();
    final List<String> puts = new CopyOnWriteArrayList<>();

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
        String path = x.getRequestURI().getPath();
        String method = x.getRequestMethod();
        byte[] there = objects.get(path);
        x.getResponseHeaders().add("ETag", "\"e\"");
        x.getResponseHeaders().add("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT");
        if (method.equals("PUT")) {
            byte[] body = x.getRequestBody().readAllBytes();
            puts.add(path + " If-None-Match: " + x.getRequestHeaders().getFirst("If-None-Match"));
            if (there != null && "*".equals(x.getRequestHeaders().getFirst("If-None-Match"))) {
                error(x, 412, "PreconditionFailed");
                return;
            }
            objects.put(path, body);
            if (lose.remove(path)) {
                // the answer to the PUT was lost; the proxy sent it again and passes that one's on
                error(x, 412, "PreconditionFailed");
                return;
            }
            x.sendResponseHeaders(200, -1);
            x.close();
        } else if (there == null) {
            error(x, 404, "NoSuchKey");
        } else if (method.equals("HEAD")) {
            x.getResponseHeaders().add("Content-Length", String.valueOf(there.length));
            x.sendResponseHeaders(200, -1);
            x.close();
        } else {
            x.sendResponseHeaders(200, there.length);
            try (OutputStream out = x.getResponseBody()) {
                out.write(there);
            }
        }
    }

    private static void error(HttpExchange x, int status, String code) throws IOException {
        byte[] body = ("<Error><Code>" + code + "</Code><Message>" + code + "</Message></Error>")
                .getBytes(StandardCharsets.UTF_8);
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

    /** On main: false, so the repository took its own manifest for another writer's. */
    @Test
    void aConditionalCreateWhoseAnswerWasLostIsCreatedNotExists() throws IOException {
        byte[] manifest = "{\"id\":\"20261206T000000Z-aaaaaa\"}".getBytes(StandardCharsets.UTF_8);
        lose.add("/bkt/r/backups/t/20261206T000000Z-aaaaaa/manifest.json");

        boolean created = backend().createIfAbsent("backups/t/20261206T000000Z-aaaaaa/manifest.json", manifest);

        assertThat(puts).containsExactly("/bkt/r/backups/t/20261206T000000Z-aaaaaa/manifest.json If-None-Match: *");
        assertThat(created).isTrue();
    }

    @Test
    void anotherWritersObjectIsStillExists() throws IOException {
        objects.put("/bkt/r/locks/prune", "another".getBytes(StandardCharsets.UTF_8));
        MinioStorageBackend backend = backend();

        assertThat(backend.createIfAbsent("locks/prune", "mine".getBytes(StandardCharsets.UTF_8)))
                .isFalse();
        assertThat(objects.get("/bkt/r/locks/prune")).asString().isEqualTo("another");
    }

    /** On main: FileAlreadyExistsException for the upload's own object. */
    @Test
    void aSmallUploadWhoseAnswerWasLostCommits() throws IOException {
        byte[] data = new byte[100_000];
        new Random(1).nextBytes(data);
        lose.add("/bkt/r/backups/t/1/data.tar");
        MinioStorageBackend backend = backend();

        try (ObjectUpload up = backend.create("backups/t/1/data.tar")) {
            up.stream().write(data);
            assertThat(up.commit().size()).isEqualTo(data.length);
        }
        assertThat(puts).containsExactly("/bkt/r/backups/t/1/data.tar If-None-Match: *");
        try (InputStream in = backend.open("backups/t/1/data.tar", 0)) {
            assertThat(in.readAllBytes()).isEqualTo(data);
        }
    }

    @Test
    void aSmallUploadRacingAnotherWritersIsRefused() throws IOException {
        MinioStorageBackend backend = backend();
        ObjectUpload up = backend.create("backups/t/1/data.tar");
        up.stream().write("mine".getBytes(StandardCharsets.UTF_8));
        // another writer's object lands after the commit's check, before the PUT
        objects.put("/bkt/r/backups/t/1/data.tar", "theirs".getBytes(StandardCharsets.UTF_8));

        assertThatThrownBy(up::commit).isInstanceOf(FileAlreadyExistsException.class);
        assertThat(objects.get("/bkt/r/backups/t/1/data.tar")).asString().isEqualTo("theirs");
    }
}
