package dev.drkit.testkit;

import dev.drkit.spi.support.LoopbackPorts;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * An S3 endpoint that keeps object versions and enforces Object Lock, for the tests that
 * S3Proxy cannot serve (it has neither, and answers SSE-C requests with 501). It is moto's standalone server ({@code moto_server},
 * Python), started on a free loopback port and stopped on {@link #close()}; state lives in
 * its memory. It accepts any credentials, so the keys here are only for the clients' signers.
 * Locally a missing {@code moto_server} skips the test, under {@code CI=true} it fails it.
 */
public final class VersionedS3Server implements AutoCloseable {
    private final Process process;
    private final int port;
    private final Path log;
    private final HttpClient http =
            HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private VersionedS3Server(Process process, int port, Path log) {
        this.process = process;
        this.port = port;
        this.log = log;
    }

    public static VersionedS3Server start() throws IOException, InterruptedException {
        Path tool = Prerequisites.requireTool("moto_server");
        int port = LoopbackPorts.free();
        Path log = Files.createTempFile("drkit-moto-", ".log");
        Process p = new ProcessBuilder(List.of(tool.toString(), "-H", "127.0.0.1", "-p", String.valueOf(port)))
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        VersionedS3Server server = new VersionedS3Server(p, port, log);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!server.accepting()) {
            if (!p.isAlive() || System.nanoTime() > deadline) {
                String out = Files.readString(log);
                server.close();
                throw new IOException("moto_server did not start on port " + port + ": " + out);
            }
            Thread.sleep(100);
        }
        return server;
    }

    private boolean accepting() {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress("127.0.0.1", port), 200);
            return true;
        } catch (IOException e) {
            return false;
        }
    }

    /** The endpoint, e.g. {@code http://127.0.0.1:PORT}. */
    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + port);
    }

    public String accessKey() {
        return "drkit-test";
    }

    public String secretKey() {
        return "drkit-test-secret";
    }

    /** Creates a plain bucket. */
    public void createBucket(String name) throws IOException, InterruptedException {
        send(HttpRequest.newBuilder(endpoint().resolve("/" + name)).PUT(HttpRequest.BodyPublishers.noBody()));
    }

    /** Creates a bucket with versioning enabled. */
    public void createVersionedBucket(String name) throws IOException, InterruptedException {
        createBucket(name);
        send(HttpRequest.newBuilder(endpoint().resolve("/" + name + "?versioning"))
                .PUT(HttpRequest.BodyPublishers.ofString("<VersioningConfiguration xmlns=\"http://s3.amazonaws.com/doc/"
                        + "2006-03-01/\"><Status>Enabled</Status></VersioningConfiguration>")));
    }

    /** Creates a bucket with Object Lock enabled (which also turns versioning on). */
    public void createLockedBucket(String name) throws IOException, InterruptedException {
        send(HttpRequest.newBuilder(endpoint().resolve("/" + name))
                .header("x-amz-bucket-object-lock-enabled", "true")
                .PUT(HttpRequest.BodyPublishers.noBody()));
    }

    private void send(HttpRequest.Builder request) throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() / 100 != 2) {
            throw new IOException(request.build().uri() + ": HTTP " + r.statusCode() + " " + r.body());
        }
    }

    @Override
    public void close() throws IOException {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        Files.deleteIfExists(log);
    }
}
