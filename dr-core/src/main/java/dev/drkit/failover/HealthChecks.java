package dev.drkit.failover;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/** Running several checks, and watching one until its service fails. Stateless and thread-safe. */
public final class HealthChecks {
    private HealthChecks() {}

    /** Runs each check once, in order; never null. */
    public static List<HealthResult> runAll(List<? extends HealthCheck> checks) {
        List<HealthResult> out = new ArrayList<>(checks.size());
        for (HealthCheck c : checks) {
            out.add(c.check());
        }
        return out;
    }

    /** Whether every result is healthy (true for none). */
    public static boolean allHealthy(List<HealthResult> results) {
        return results.stream().allMatch(HealthResult::healthy);
    }

    /**
     * Runs {@code check} every {@code interval} until it fails {@code failures} times in a row (a
     * single healthy answer starts the count again) or {@code timeout} passes: failure detection
     * for a failover.
     *
     * @return the last failing result once the service is declared down; empty when it stayed up for {@code timeout}
     * @throws IllegalArgumentException when {@code failures} is below 1 or a duration is not positive
     * @throws InterruptedException when the waiting thread is interrupted
     */
    public static Optional<HealthResult> awaitFailure(
            HealthCheck check, Duration interval, int failures, Duration timeout) throws InterruptedException {
        Objects.requireNonNull(check, "check");
        Probe.positive(interval, "interval");
        Probe.positive(timeout, "timeout");
        if (failures < 1) {
            throw new IllegalArgumentException("failures must be at least 1, not " + failures);
        }
        long deadline = System.nanoTime() + timeout.toNanos();
        int inARow = 0;
        while (true) {
            HealthResult r = check.check();
            inARow = r.healthy() ? 0 : inARow + 1;
            if (inARow >= failures) {
                return Optional.of(r);
            }
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                return Optional.empty();
            }
            // never past the deadline: one more check runs at the deadline at the latest
            Thread.sleep(Math.max(1, Math.min(interval.toMillis(), left / 1_000_000 + 1)));
        }
    }
}
