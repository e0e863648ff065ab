package dev.drkit.notify;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.drkit.DrEvent;
import dev.drkit.spi.support.Json;
import java.net.InetSocketAddress;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class WebhookListenerTest {
    @Test
    void postsTheChosenEventsAsJsonAndRetriesThroughServerErrors() throws Exception {
        List<JsonNode> received = new CopyOnWriteArrayList<>();
        AtomicInteger calls = new AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/hook/secret-token", exchange -> {
            byte[] body = exchange.getRequestBody().readAllBytes();
            int status = calls.incrementAndGet() <= 2 ? 503 : 204; // down twice, then up
            if (status == 204) {
                received.add(Json.mapper().readTree(body));
            }
            exchange.sendResponseHeaders(status, -1);
            exchange.close();
        });
        server.start();
        try {
            URI url = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/hook/secret-token");
            WebhookListener hook = new WebhookListener(url, WebhookListener.FAILURES, 4, Duration.ofMillis(50));
            hook.onEvent(new DrEvent(DrEvent.Type.BACKUP_SUCCEEDED, "config", "id-1", Instant.now(), "fine", Map.of()));
            hook.onEvent(new DrEvent(
                    DrEvent.Type.BACKUP_FAILED,
                    "db",
                    "id-2",
                    Instant.parse("2026-11-27T02:00:00Z"),
                    "pg_dump failed",
                    Map.of("exit", 1)));
            hook.close();

            assertThat(calls.get()).as("two 503s, then delivered").isEqualTo(3);
            assertThat(received).hasSize(1);
            JsonNode e = received.get(0);
            assertThat(e.get("type").asText()).isEqualTo("BACKUP_FAILED");
            assertThat(e.get("target").asText()).isEqualTo("db");
            assertThat(e.get("at").asText()).isEqualTo("2026-11-27T02:00:00Z");
            assertThat(e.get("message").asText()).isEqualTo("pg_dump failed");
            assertThat(e.get("details").get("exit").asInt()).isEqualTo(1);
            assertThat(hook.toString()).doesNotContain("secret-token");
        } finally {
            server.stop(0);
        }
    }

    @Test
    void aHookThatRefusesIsNotRetriedAndNeverThrows() throws Exception {
        AtomicInteger calls = new AtomicInteger();
        HttpServer server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            calls.incrementAndGet();
            exchange.sendResponseHeaders(400, -1);
            exchange.close();
        });
        server.start();
        try {
            WebhookListener hook = new WebhookListener(
                    URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/"),
                    WebhookListener.FAILURES,
                    5,
                    Duration.ofMillis(10));
            hook.onEvent(new DrEvent(DrEvent.Type.VERIFY_FAILED, "db", "x", Instant.now(), "bad", Map.of()));
            hook.close();
            assertThat(calls.get()).isEqualTo(1);
        } finally {
            server.stop(0);
        }
    }
}
