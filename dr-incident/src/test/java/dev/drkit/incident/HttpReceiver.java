package dev.drkit.incident;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** An HTTP server on loopback that keeps the JSON bodies POSTed to each path. */
final class HttpReceiver implements AutoCloseable {
    private static final ObjectMapper JSON = new ObjectMapper();

    private final HttpServer server;
    private final Map<String, BlockingQueue<JsonNode>> bodies = new ConcurrentHashMap<>();
    private final Map<String, AtomicInteger> failFirst = new ConcurrentHashMap<>();

    HttpReceiver() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", exchange -> {
            String path = exchange.getRequestURI().getPath();
            byte[] body = exchange.getRequestBody().readAllBytes();
            AtomicInteger failures = failFirst.get(path);
            if (failures != null && failures.getAndDecrement() > 0) {
                exchange.sendResponseHeaders(503, -1);
            } else {
                queue(path).add(JSON.readTree(body));
                exchange.sendResponseHeaders(path.contains("pagerduty") ? 202 : 200, -1);
            }
            exchange.close();
        });
        server.start();
    }

    /** Answers the first {@code n} requests to {@code path} with 503. */
    HttpReceiver failFirst(String path, int n) {
        failFirst.put(path, new AtomicInteger(n));
        return this;
    }

    URI url(String path) {
        return URI.create("http://127.0.0.1:" + server.getAddress().getPort() + path);
    }

    /** The next body POSTed to {@code path}, waiting up to 15 s. */
    JsonNode next(String path) throws InterruptedException {
        JsonNode n = queue(path).poll(15, TimeUnit.SECONDS);
        assertThat(n).as("a POST to " + path + " within 15 s").isNotNull();
        return n;
    }

    int pending(String path) {
        return queue(path).size();
    }

    private BlockingQueue<JsonNode> queue(String path) {
        return bodies.computeIfAbsent(path, p -> new LinkedBlockingQueue<>());
    }

    @Override
    public void close() {
        server.stop(0);
    }
}
