package dev.drkit.failover;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;

/**
 * A watchdog runs a check every few seconds for days. A check that times out leaves its probe
 * running on a thread of its own (Probe.within): where that probe does not end on an interrupt
 * (a pool that retries after one, a driver in a blocking connect, a monitor held by a stuck
 * thread), each check added one more thread, and with it whatever it holds, until the JVM could
 * start no thread at all, the watchdog's own included.
 */
class HealthCheckThreadLeakTest {
    @Test
    void aStuckPoolCostsOneThreadPerCheckNotOnePerRun() throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        StuckPool pool = new StuckPool(release);
        SqlHealthCheck check = SqlHealthCheck.builder("orders-db")
                .dataSource(pool)
                .timeout(Duration.ofSeconds(1))
                .build();
        try {
            List<HealthResult> results = new ArrayList<>();
            for (int i = 0; i < 4; i++) {
                results.add(check.check());
            }
            assertThat(results).allMatch(r -> !r.healthy());
            assertThat(pool.waiting.get())
                    .as("probes still stuck in the pool after 4 checks")
                    .isLessThanOrEqualTo(1);
        } finally {
            release.countDown();
        }
    }

    /** A pool whose connections are all in use: it waits on, an interrupt or not (as some pools do). */
    private static final class StuckPool extends TestDataSource {
        final AtomicInteger waiting = new AtomicInteger();
        private final CountDownLatch release;

        StuckPool(CountDownLatch release) {
            this.release = release;
        }

        @Override
        public Connection getConnection() throws SQLException {
            waiting.incrementAndGet();
            try {
                while (true) {
                    try {
                        release.await();
                        throw new SQLException("released");
                    } catch (InterruptedException e) {
                        // retried, as a pool that does not give up its wait on an interrupt does
                    }
                }
            } finally {
                waiting.decrementAndGet();
            }
        }
    }
}
