package dev.drkit.failover;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * The stuck-probe guard of SqlHealthCheck (one thread left behind, not one per check) must not
 * turn one stuck connection attempt into "down" for as long as that attempt lives: a connection
 * being opened when the network failed can hang on a half-open socket for hours, while the pool
 * hands new callers healthy connections as soon as the network is back. A watchdog that sees the
 * healthy database as down that long fails it over.
 */
class HealthCheckStuckProbeRecoveryTest {
    @Test
    void checksRunAgainOnceThePoolRecoversWhileTheStuckProbeStillHangs() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        OnceStuckPool pool = new OnceStuckPool(release);
        SqlHealthCheck check = SqlHealthCheck.builder("orders-db")
                .dataSource(pool)
                .timeout(Duration.ofSeconds(1))
                .build();
        try {
            assertThat(check.check().healthy())
                    .as("the first check, stuck in the pool")
                    .isFalse();
            // the pool recovered at once (only the first caller hangs); give the guard several probe limits
            HealthResult later = null;
            long until = System.nanoTime() + Duration.ofSeconds(12).toNanos();
            while (System.nanoTime() < until) {
                later = check.check();
                if (later.healthy()) {
                    break;
                }
                Thread.sleep(500);
            }
            assertThat(later.healthy())
                    .as("a check 12 s after the stuck one, the pool healthy since: %s", later.detail())
                    .isTrue();
            assertThat(pool.waiting.get()).as("probes left stuck").isLessThanOrEqualTo(1);
        } finally {
            release.countDown();
        }
    }

    /** A pool whose first caller waits on regardless of interrupts; every later one gets a healthy connection. */
    private static final class OnceStuckPool extends TestDataSource {
        final AtomicInteger waiting = new AtomicInteger();
        private final AtomicInteger calls = new AtomicInteger();
        private final CountDownLatch release;

        OnceStuckPool(CountDownLatch release) {
            this.release = release;
        }

        @Override
        public Connection getConnection() throws SQLException {
            if (calls.getAndIncrement() > 0) {
                return healthy();
            }
            waiting.incrementAndGet();
            try {
                while (true) {
                    try {
                        release.await();
                        throw new SQLException("released");
                    } catch (InterruptedException e) {
                        // a blocking socket call does not end on an interrupt
                    }
                }
            } finally {
                waiting.decrementAndGet();
            }
        }

        private static Connection healthy() {
            ResultSet rs = proxy(ResultSet.class, (m, a) -> switch (m) {
                case "next" -> true;
                case "getString" -> "1";
                default -> null;
            });
            Statement st = proxy(Statement.class, (m, a) -> m.equals("executeQuery") ? rs : null);
            return proxy(Connection.class, (m, a) -> m.equals("createStatement") ? st : null);
        }

        interface Answer {
            Object answer(String method, Object[] args);
        }

        private static <T> T proxy(Class<T> type, Answer answer) {
            return type.cast(Proxy.newProxyInstance(
                    type.getClassLoader(), new Class<?>[] {type}, (p, m, a) -> answer.answer(m.getName(), a)));
        }
    }
}
