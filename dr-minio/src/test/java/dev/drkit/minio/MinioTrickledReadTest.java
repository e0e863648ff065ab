package dev.drkit.minio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.drkit.spi.StorageIOException;
import dev.drkit.spi.StorageIOException.Reason;
import io.minio.MinioClient;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Reads from a server on loopback that trickles an object's body: a byte every 100 ms, never
 * quiet long enough for a socket read timeout. With a read progress window of 1 s the read fails
 * and the connection is cut; on main it took the whole trickle (and a real one, days).
 */
class MinioTrickledReadTest {
    /**
     * Short enough that the trickle test fails well within the server's trickle, long enough that
     * a healthy read on a loaded machine (a pause of the JVM or of the server's thread) passes.
     */
    private static final Duration WINDOW = Duration.ofSeconds(5);

    static final int SIZE = 300; // 30 s of trickle

    HttpServer server;
    volatile boolean trickle = true;
    final AtomicInteger sent = new AtomicInteger();
    final CountDownLatch cut = new CountDownLatch(1);

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", this::handle);
        server.setExecutor(Executors.newCachedThreadPool());
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private void handle(HttpExchange x) throws IOException {
        x.getResponseHeaders().add("ETag", "\"e\"");
        x.getResponseHeaders().add("Last-Modified", "Mon, 01 Jan 2024 00:00:00 GMT");
        x.getResponseHeaders().add("Content-Type", "application/octet-stream");
        int size = trickle ? SIZE : 4 << 20;
        x.sendResponseHeaders(200, size);
        OutputStream out = x.getResponseBody();
        try {
            if (!trickle) {
                out.write(new byte[size]);
            } else {
                for (int i = 0; i < size; i++) {
                    out.write('x');
                    out.flush();
                    sent.incrementAndGet();
                    Thread.sleep(100);
                }
            }
            out.close();
        } catch (IOException e) {
            cut.countDown(); // the client went away
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private MinioStorageBackend backend(Duration window) {
        MinioClient client = MinioClient.builder()
                .endpoint("http://127.0.0.1:" + server.getAddress().getPort())
                .credentials("ak", "sk")
                .region("us-east-1")
                .build();
        return MinioStorageBackend.of(client, "bkt", "r", 5L << 20, window);
    }

    @Test
    void aTrickledBodyFailsAfterTheWindowNamingTheSettingAndCutsTheConnection() throws Exception {
        MinioStorageBackend backend = backend(WINDOW);
        byte[] got = new byte[SIZE];
        int[] read = {0};

        assertThatThrownBy(() -> {
                    try (InputStream in = backend.open("backups/t/1/data.tar.zst", 0)) {
                        for (int n; (n = in.read(got, read[0], SIZE - read[0])) > 0; ) {
                            read[0] += n;
                        }
                    }
                })
                .isInstanceOfSatisfying(
                        StorageIOException.class, e -> assertThat(e.reason()).isEqualTo(Reason.UNAVAILABLE))
                .hasMessageContaining("reading backups/t/1/data.tar.zst in minio://bkt/r failed")
                .hasMessageContaining("less than 64 KiB")
                .hasMessageContaining("read-progress-window");
        assertThat(read[0]).as("bytes read before the read failed").isLessThan(SIZE);
        assertThat(cut.await(30, TimeUnit.SECONDS))
                .as("the server saw the connection cut before it had sent the body")
                .isTrue();
        assertThat(sent.get()).isLessThan(SIZE);
    }

    @Test
    void aHealthyReadWithTheSameShortWindowPasses() throws IOException {
        trickle = false;
        MinioStorageBackend backend = backend(WINDOW);
        try (InputStream in = backend.open("backups/t/1/data.tar.zst", 0)) {
            assertThat(in.readAllBytes()).hasSize(4 << 20);
        }
    }

    @Test
    void theWindowComesFromTheStorageSettings() {
        assertThatThrownBy(() -> backend(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("read-progress-window");
        assertThat(new MinioStorageBackendProvider().schema().find("read-progress-window"))
                .hasValueSatisfying(o -> assertThat(o.defaultValue()).hasValue("5min"));
    }
}
