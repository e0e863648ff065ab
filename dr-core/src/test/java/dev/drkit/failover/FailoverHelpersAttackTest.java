package dev.drkit.failover;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import javax.sql.DataSource;
import org.junit.jupiter.api.Test;

/**
 * The health checks and traffic switches under attack and bad luck: servers that answer their
 * headers and then stall, a pool that never hands out a connection, odd durations, secrets in URLs.
 */
class FailoverHelpersAttackTest {
    private final Promotion promotion =
            new Promotion("orders-db", "postgresql", "127.0.0.1:5433", "127.0.0.1:5432", Instant.EPOCH);

    /**
     * A server that answers {@code 200 OK} with a body of 1 MB it never sends: an HTTP check (or a
     * webhook) must still end within its timeout.
     */
    private static ServerSocket stallingServer(CountDownLatch done) throws Exception {
        ServerSocket server = new ServerSocket(0, 5, InetAddress.getLoopbackAddress());
        Thread t = new Thread(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    Thread h = new Thread(() -> {
                        try (s) {
                            InputStream in = s.getInputStream();
                            byte[] buf = new byte[8192];
                            in.read(buf); // the request (small enough for one read here)
                            OutputStream out = s.getOutputStream();
                            out.write(("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n"
                                            + "Content-Type: text/plain\r\n\r\nfirst bytes")
                                    .getBytes(StandardCharsets.US_ASCII));
                            out.flush();
                            done.await(); // and the rest never comes
                        } catch (Exception ignored) {
                            // closed
                        }
                    });
                    h.setDaemon(true);
                    h.start();
                } catch (Exception closed) {
                    return;
                }
            }
        });
        t.setDaemon(true);
        t.start();
        return server;
    }

    @Test
    void anHttpCheckOfAServerThatStallsAfterItsHeadersEndsWithinItsTimeout() throws Exception {
        CountDownLatch done = new CountDownLatch(1);
        try (ServerSocket server = stallingServer(done)) {
            HttpHealthCheck check = HttpHealthCheck.of(
                    "api", URI.create("http://127.0.0.1:" + server.getLocalPort() + "/health"), Duration.ofSeconds(1));
            HealthResult r = assertTimeoutPreemptively(Duration.ofSeconds(10), check::check);
            // whatever it decides, it decided in time; a body that never ends is no healthy answer either
            assertThat(r.seconds()).isLessThan(5);
        } finally {
            done.countDown();
        }
    }

    @Test
    void aWebhookThatStallsAfterItsHeadersFailsTheSwitchWithinItsTimeout() throws Exception {
        CountDownLatch done = new CountDownLatch(1);
        try (ServerSocket server = stallingServer(done)) {
            WebhookTrafficSwitch webhook = new WebhookTrafficSwitch(
                    URI.create("http://127.0.0.1:" + server.getLocalPort() + "/switch"), Duration.ofSeconds(1));
            assertTimeoutPreemptively(Duration.ofSeconds(10), () -> {
                try {
                    webhook.switchTo(promotion);
                } catch (IOException e) {
                    // a failed switch is fine; a switch that never returns is not
                }
            });
        } finally {
            done.countDown();
        }
    }

    @Test
    void aSqlCheckOnAPoolThatNeverHandsOutAConnectionEndsWithinItsTimeout() {
        CountDownLatch never = new CountDownLatch(1);
        DataSource exhausted = new BlockingDataSource(never);
        SqlHealthCheck check = SqlHealthCheck.builder("orders-db")
                .dataSource(exhausted)
                .timeout(Duration.ofSeconds(1))
                .build();
        try {
            HealthResult r = assertTimeoutPreemptively(Duration.ofSeconds(10), check::check);
            assertThat(r.healthy()).isFalse();
        } finally {
            never.countDown();
        }
    }

    @Test
    void awaitFailureReturnsWhenItsTimeoutPassesNotAnIntervalLater() throws Exception {
        HealthCheck alwaysUp = new HealthCheck() {
            @Override
            public String name() {
                return "up";
            }

            @Override
            public HealthResult check() {
                return new HealthResult("up", "test", true, "fine", 0, Instant.now());
            }
        };
        long t0 = System.nanoTime();
        Optional<HealthResult> down = assertTimeoutPreemptively(
                Duration.ofSeconds(20),
                () -> HealthChecks.awaitFailure(alwaysUp, Duration.ofSeconds(8), 3, Duration.ofMillis(200)));
        double seconds = (System.nanoTime() - t0) / 1e9;
        assertThat(down).isEmpty();
        // well short of the 8 s interval it must not wait out, with room for a loaded machine
        assertThat(seconds).as("a 200 ms timeout took %.1f s", seconds).isLessThan(5);
    }

    @Test
    void aSqlCheckNeverShowsAPasswordGivenInTheUrlsUserInfo() {
        // drivers such as MySQL's and MariaDB's take jdbc:mysql://user:password@host/db
        SqlHealthCheck check = SqlHealthCheck.builder("db")
                .jdbcUrl("jdbc:mysql://app:hunter2@127.0.0.1:1/app", null, null)
                .build();
        assertThat(check.toString()).doesNotContain("hunter2");
        assertThat(check.check().detail()).doesNotContain("hunter2");
    }

    @Test
    void anHttpCheckOfAHostThatDoesNotResolveDoesNotSayConnectionRefused() {
        HealthResult r = HttpHealthCheck.of(
                        "api", URI.create("http://no-such-host.invalid/health"), Duration.ofSeconds(3))
                .check();
        assertThat(r.healthy()).isFalse();
        assertThat(r.detail()).doesNotContain("connection refused").contains("no-such-host.invalid");
    }

    @Test
    void aCommandSwitchWithAnEnormousTimeoutIsRefusedOrRunsNotThrowsArithmetic() {
        CommandTrafficSwitch huge = CommandTrafficSwitch.of(List.of("true"));
        // either refused where it is set, or works: never an ArithmeticException ("long overflow") at switch time
        try {
            huge = huge.withTimeout(Duration.ofSeconds(Long.MAX_VALUE));
        } catch (IllegalArgumentException refused) {
            return;
        }
        CommandTrafficSwitch s = huge;
        assertThatThrownBy(() -> {
                    s.switchTo(promotion);
                    throw new IllegalStateException("ran");
                })
                .hasMessage("ran");
    }

    @Test
    void aCommandSwitchThatRunsOutOfTimeTakesWhatItStartedWithIt() throws Exception {
        Path pidFile = Files.createTempFile("drkit-switch-child", ".pid");
        try {
            CommandTrafficSwitch slow = CommandTrafficSwitch.of(
                            List.of("/bin/sh", "-c", "sleep 300 & echo $! > '" + pidFile + "'; wait"))
                    .withTimeout(Duration.ofSeconds(3)); // time for the shell to write the pid first
            assertThatThrownBy(() -> slow.switchTo(promotion))
                    .isInstanceOf(IOException.class)
                    .hasMessageContaining("did not finish within 3 s");
            long child = Long.parseLong(Files.readString(pidFile).trim());
            long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
            while (ProcessHandle.of(child).filter(ProcessHandle::isAlive).isPresent() && System.nanoTime() < deadline) {
                Thread.sleep(20);
            }
            assertThat(ProcessHandle.of(child).filter(ProcessHandle::isAlive))
                    .as("the command's child was killed with it")
                    .isEmpty();
        } finally {
            Files.deleteIfExists(pidFile);
        }
    }

    /** A pool whose every connection is in use and whose wait has no end. */
    private static final class BlockingDataSource extends TestDataSource {
        private final CountDownLatch release;

        BlockingDataSource(CountDownLatch release) {
            this.release = release;
        }

        @Override
        public Connection getConnection() throws SQLException {
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw new SQLException("released");
        }
    }
}
