package dev.drkit.failover;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.InterruptedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** A TCP health check's name look-up counts against its timeout. */
class TcpHealthCheckLookupTest {
    @Test
    void aResolverThatDoesNotAnswerMakesTheCheckUnhealthyAtItsTimeout() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        TcpHealthCheck check = TcpHealthCheck.of("db", "db.internal", 5432, Duration.ofSeconds(1))
                .withResolver(host -> {
                    try {
                        release.await(60, TimeUnit.SECONDS); // a resolver retrying servers that do not answer
                    } catch (InterruptedException e) {
                        throw new InterruptedIOException("interrupted");
                    }
                    return InetAddress.getLoopbackAddress();
                });
        try {
            long t0 = System.nanoTime();
            HealthResult r = check.check();
            double seconds = (System.nanoTime() - t0) / 1e9;

            assertThat(r.healthy()).isFalse();
            assertThat(r.detail()).contains("no answer within 1 s");
            assertThat(seconds).isLessThan(10);
        } finally {
            release.countDown();
        }
    }

    @Test
    void aHostThatResolvesAndListensIsHealthy() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            TcpHealthCheck check = TcpHealthCheck.of("db", "db.internal", server.getLocalPort(), Duration.ofSeconds(5))
                    .withResolver(host -> InetAddress.getLoopbackAddress());

            HealthResult r = check.check();

            assertThat(r.healthy()).as(r.detail()).isTrue();
            assertThat(r.detail()).isEqualTo("connected to db.internal:" + server.getLocalPort());
        }
    }
}
