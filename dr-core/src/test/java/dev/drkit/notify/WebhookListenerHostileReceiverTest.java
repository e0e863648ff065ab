package dev.drkit.notify;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrEvent;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The event webhook against a receiver that misbehaves, and with what it sends out.
 */
class WebhookListenerHostileReceiverTest {
    private final ExecutorService threads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "hostile-receiver");
        t.setDaemon(true);
        return t;
    });
    private final BlockingQueue<String> bodies = new LinkedBlockingQueue<>();
    private final AtomicInteger connections = new AtomicInteger();
    private ServerSocket server;

    @AfterEach
    void stop() throws IOException {
        if (server != null) {
            server.close();
        }
        threads.shutdownNow();
    }

    /** The first connection gets 200 and a body without end; the others are answered 204 and kept. */
    private URI receiver() throws IOException {
        server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        threads.execute(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    int n = connections.incrementAndGet();
                    threads.execute(() -> serve(s, n));
                } catch (IOException e) {
                    return;
                }
            }
        });
        return URI.create("http://127.0.0.1:" + server.getLocalPort() + "/hook/T0/secret-token");
    }

    private void serve(Socket s, int n) {
        try (s) {
            String body = readRequest(s.getInputStream());
            OutputStream out = s.getOutputStream();
            if (n == 1) {
                out.write("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
                while (true) {
                    out.write("1\r\nx\r\n".getBytes(StandardCharsets.US_ASCII));
                    out.flush();
                    Thread.sleep(100);
                }
            }
            bodies.add(body);
            out.write("HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            out.flush();
        } catch (IOException | InterruptedException e) {
            // the client went away
        }
    }

    private static String readRequest(InputStream in) throws IOException {
        StringBuilder head = new StringBuilder();
        while (!head.toString().endsWith("\r\n\r\n")) {
            int b = in.read();
            if (b < 0) {
                throw new IOException("closed");
            }
            head.append((char) b);
        }
        int length = 0;
        for (String line : head.toString().split("\r\n")) {
            if (line.toLowerCase().startsWith("content-length:")) {
                length = Integer.parseInt(line.substring(15).trim());
            }
        }
        return new String(in.readNBytes(length), StandardCharsets.UTF_8);
    }

    private static DrEvent failed(String target, String message) {
        return new DrEvent(DrEvent.Type.BACKUP_FAILED, target, null, Instant.now(), message, Map.of());
    }

    @Test
    void aReceiverThatSendsAnEndlessBodyDoesNotHoldBackTheEventsAfterIt() throws Exception {
        WebhookListener hook = new WebhookListener(receiver(), WebhookListener.FAILURES, 1, Duration.ofMillis(10));
        hook.onEvent(failed("first", "pg_dump failed"));
        hook.onEvent(failed("second", "pg_dump failed"));
        // the 30 s request timeout ends with the response's head; the body is read as long as it comes
        String second = bodies.poll(45, TimeUnit.SECONDS);
        assertThat(second)
                .as("the second event, posted once the first had its 200")
                .isNotNull()
                .contains("second");
    }

    @Test
    void aPasswordInAnEventMessageDoesNotLeaveTheHost() throws Exception {
        URI url = receiver();
        connections.set(1); // every connection is answered normally
        WebhookListener hook = new WebhookListener(url, WebhookListener.FAILURES, 1, Duration.ofMillis(10));
        hook.onEvent(
                failed("db", "restore test against postgresql://drkit:hunter2@db:5432/app?password=s3cret failed"));
        hook.close();
        String body = bodies.poll(10, TimeUnit.SECONDS);
        // dr-incident masks these before a notice leaves (IncidentManager.clean); the event hook posts them as they are
        assertThat(body).isNotNull().contains("postgresql://drkit:****@db").doesNotContain("hunter2", "s3cret");
    }
}
