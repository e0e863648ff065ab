package dev.drkit.failover;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

class HealthChecksTest {

    @Test
    void tcpIsHealthyWhileTheServerListensAndUnhealthyOnceItIsGone() throws Exception {
        int port;
        try (ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            port = server.getLocalPort();
            HealthResult up = TcpHealthCheck.of("db", "127.0.0.1", port).check();
            assertThat(up.healthy()).as(up.detail()).isTrue();
            assertThat(up.kind()).isEqualTo("tcp");
        }
        HealthResult down = TcpHealthCheck.of("db", "127.0.0.1", port, Duration.ofSeconds(1))
                .check();
        assertThat(down.healthy()).isFalse();
        assertThat(down.detail()).contains("cannot connect to 127.0.0.1:" + port);
    }

    @Test
    void httpIsHealthyOn2xxOnlyAndNeverPrintsTheUrlsToken() throws Exception {
        AtomicInteger status = new AtomicInteger(204);
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", ex -> {
            ex.sendResponseHeaders(status.get(), -1);
            ex.close();
        });
        server.start();
        try {
            URI url = URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/health?token=s3cret");
            HttpHealthCheck check = HttpHealthCheck.of("api", url, Duration.ofSeconds(2));
            assertThat(check.check().healthy()).isTrue();
            status.set(503);
            HealthResult bad = check.check();
            assertThat(bad.healthy()).isFalse();
            assertThat(bad.detail()).contains("HTTP 503").doesNotContain("s3cret");
            assertThat(check.toString()).doesNotContain("s3cret");
            status.set(302);
            assertThat(check.check().healthy()).as("a redirect is not healthy").isFalse();
        } finally {
            server.stop(0);
        }
    }

    @Test
    void sqlNeedsAConnectionSourceAndAQuery() {
        assertThatThrownBy(() -> SqlHealthCheck.builder("db").build()).hasMessageContaining("dataSource or a jdbcUrl");
        assertThatThrownBy(() -> SqlHealthCheck.builder("db").query(" ")).hasMessageContaining("needs a query");
        HealthResult r = SqlHealthCheck.builder("db")
                .jdbcUrl("jdbc:nosuchdriver://x/y", "u", "pw-secret")
                .build()
                .check();
        assertThat(r.healthy()).isFalse();
        assertThat(r.detail()).doesNotContain("pw-secret");
        assertThat(SqlHealthCheck.truthy("t")).isTrue();
        assertThat(SqlHealthCheck.truthy("3")).isTrue();
        assertThat(SqlHealthCheck.truthy("0")).isFalse();
        assertThat(SqlHealthCheck.truthy("f")).isFalse();
    }

    @Test
    void awaitFailureWaitsForFailuresInARowAndResetsOnAHealthyAnswer() throws Exception {
        // healthy, down, healthy, down, down: the second run of two failures ends the wait
        List<Boolean> answers = List.of(true, false, true, false, false, true);
        AtomicInteger i = new AtomicInteger();
        HealthCheck scripted = new HealthCheck() {
            @Override
            public String name() {
                return "scripted";
            }

            @Override
            public HealthResult check() {
                int n = i.getAndIncrement();
                return new HealthResult("scripted", "test", answers.get(n), "answer " + n, 0, Instant.now());
            }
        };
        Optional<HealthResult> down =
                HealthChecks.awaitFailure(scripted, Duration.ofMillis(1), 2, Duration.ofSeconds(10));
        assertThat(down).map(HealthResult::detail).contains("answer 4");
        assertThatThrownBy(() -> HealthChecks.awaitFailure(scripted, Duration.ofMillis(1), 0, Duration.ofSeconds(1)))
                .hasMessageContaining("at least 1");
    }
}
