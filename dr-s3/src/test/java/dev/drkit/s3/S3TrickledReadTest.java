package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.drkit.spi.StorageIOException;
import dev.drkit.spi.StorageIOException.Reason;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Reads from a server on loopback that trickles an object's body: a byte every 100 ms, never
 * quiet long enough for a socket read timeout. With a read progress window of 1 s the read fails
 * and the connection is aborted (closing the SDK's stream would read the rest first); on main it
 * took the whole trickle (and a real one, days).
 */
class S3TrickledReadTest {
    /**
     * Short enough that the trickle test fails well within the server's trickle, long enough that
     * a healthy read on a loaded machine (a pause of the JVM or of the server's thread) passes.
     */
    private static final Duration WINDOW = Duration.ofSeconds(5);

    static final int SIZE = 300; // 30 s of trickle

    HttpServer server;
    volatile boolean trickle = true;
    /** Sends part of the body, then nothing more while the connection lasts. */
    volatile boolean stall;

    volatile boolean stopStalling;
    final CountDownLatch stalled = new CountDownLatch(1);
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
        int size = trickle && !stall ? SIZE : 4 << 20;
        x.sendResponseHeaders(200, size);
        OutputStream out = x.getResponseBody();
        try {
            if (stall) {
                out.write(new byte[1000]);
                out.flush();
                stalled.countDown();
                while (true) {
                    Thread.sleep(200);
                    out.write(new byte[0]);
                    out.flush();
                    if (stopStalling) {
                        throw new IOException("the test ended");
                    }
                }
            }
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

    private S3Client client() {
        return TestClients.s3(
                        URI.create("http://127.0.0.1:" + server.getAddress().getPort()), "ak", "sk")
                .build();
    }

    private static S3StorageBackend backend(S3Client client, Duration window) {
        return S3StorageBackend.builder()
                .client(client)
                .bucket("bkt")
                .prefix("r")
                .readProgressWindow(window)
                .build();
    }

    @Test
    void aTrickledBodyFailsAfterTheWindowNamingTheSettingAndAbortsTheConnection() throws Exception {
        try (S3Client client = client()) {
            S3StorageBackend backend = backend(client, WINDOW);
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
                            StorageIOException.class,
                            e -> assertThat(e.reason()).isEqualTo(Reason.UNAVAILABLE))
                    .hasMessageContaining("reading backups/t/1/data.tar.zst in s3://bkt/r failed")
                    .hasMessageContaining("less than 64 KiB")
                    .hasMessageContaining("read-progress-window");
            assertThat(read[0]).as("bytes read before the read failed").isLessThan(SIZE);
            assertThat(cut.await(30, TimeUnit.SECONDS))
                    .as("the server saw the connection cut before it had sent the body")
                    .isTrue();
            assertThat(sent.get()).isLessThan(SIZE);
        }
    }

    /**
     * A server that stops sending in the middle of the body, with a long window: a blocked socket
     * read ignores the interrupt, and on main a restore stopped by a signal waited for the socket
     * timeout. It now ends at once, as interrupted, and the connection is cut.
     */
    @Test
    void anInterruptEndsAReadThatWaitsOnAStalledServer() throws Exception {
        stall = true;
        try (S3Client client = client()) {
            S3StorageBackend backend = backend(client, Duration.ofMinutes(5));
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            CountDownLatch reading = new CountDownLatch(1);
            Thread reader = new Thread(() -> {
                try (InputStream in = backend.open("backups/t/1/data.tar.zst", 0)) {
                    in.readNBytes(1000);
                    reading.countDown();
                    in.read(); // waits: the server sends nothing more
                    outcome.set(new AssertionError("read on"));
                } catch (Throwable e) {
                    outcome.set(e);
                }
            });
            reader.start();
            assertThat(reading.await(30, TimeUnit.SECONDS)).isTrue();
            Thread.sleep(300); // in the read
            reader.interrupt();
            reader.join(5_000);
            stopStalling = true;
            assertThat(reader.isAlive()).as("still waiting on the server").isFalse();
            assertThat(outcome.get())
                    .isInstanceOf(InterruptedIOException.class)
                    .hasMessageContaining("interrupted while reading backups/t/1/data.tar.zst in s3://bkt/r");
        }
    }

    @Test
    void aHealthyReadWithTheSameShortWindowPasses() throws IOException {
        trickle = false;
        try (S3Client client = client()) {
            S3StorageBackend backend = backend(client, WINDOW);
            try (InputStream in = backend.open("backups/t/1/data.tar.zst", 0)) {
                assertThat(in.readAllBytes()).hasSize(4 << 20);
            }
        }
    }

    @Test
    void theWindowIsAStorageSettingAndMustBePositive() {
        assertThatThrownBy(() -> S3StorageBackend.builder().readProgressWindow(Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("read-progress-window");
        assertThat(new S3StorageBackendProvider().schema().find("read-progress-window"))
                .hasValueSatisfying(o -> assertThat(o.defaultValue()).hasValue("5min"));
    }
}
