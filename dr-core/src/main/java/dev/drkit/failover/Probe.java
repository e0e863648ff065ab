package dev.drkit.failover;

import java.net.ConnectException;
import java.net.SocketTimeoutException;
import java.net.http.HttpTimeoutException;
import java.nio.channels.UnresolvedAddressException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/** Times one probe of a built-in check and turns what it threw into an unhealthy result. */
final class Probe {
    @FunctionalInterface
    interface Body {
        /** Returns the detail of a healthy answer; throws {@link Unhealthy} or anything else when not healthy. */
        String run() throws Exception;
    }

    /** An answer that came but is not the healthy one (a 500, a query that returned false). */
    static final class Unhealthy extends Exception {
        Unhealthy(String detail) {
            super(detail, null, false, false);
        }
    }

    private Probe() {}

    static HealthResult run(String name, String kind, Clock clock, Body body) {
        Instant at = clock.instant();
        long t0 = System.nanoTime();
        boolean healthy;
        String detail;
        try {
            detail = body.run();
            healthy = true;
        } catch (Unhealthy e) {
            healthy = false;
            detail = e.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            healthy = false;
            detail = "interrupted";
        } catch (Exception e) {
            healthy = false;
            detail = describe(e);
        }
        return new HealthResult(name, kind, healthy, detail, (System.nanoTime() - t0) / 1e9, at);
    }

    /** What went wrong in words: the message, else the exception's kind in plain words. */
    static String describe(Throwable e) {
        String m = e.getMessage();
        if (m != null && !m.isBlank()) {
            return m;
        }
        if (e instanceof HttpTimeoutException || e instanceof SocketTimeoutException) {
            return "no answer in time";
        }
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof UnresolvedAddressException) {
                return "host not found"; // java.net.http says ConnectException without words
            }
        }
        if (e instanceof ConnectException) {
            return "connection refused";
        }
        return e.getCause() != null ? describe(e.getCause()) : "failed without a reason";
    }

    /**
     * The probes that timed out among calls sharing it and still run (they ignored their
     * interrupt): at most {@link #MAX} are left behind, and while one runs on a new probe starts
     * at most once per limit. A probe stuck for good (a half-open socket) must not make a check
     * unhealthy for as long as it lives: the pool may hand newer callers healthy connections.
     */
    static final class Stuck {
        static final int MAX = 4;
        private final List<Thread> threads = new ArrayList<>();
        private long lastTimeout;

        /** Why no probe may start now, or null. */
        synchronized String refusal(Duration limit) {
            threads.removeIf(t -> !t.isAlive());
            if (threads.isEmpty()) {
                return null;
            }
            if (threads.size() >= MAX || System.nanoTime() - lastTimeout < limit.toNanos()) {
                return "the check that timed out before still has no answer (after more than " + limit.toSeconds()
                        + " s; " + threads.size() + " probe(s) stuck)";
            }
            return null;
        }

        synchronized void add(Thread t) {
            threads.add(t);
            lastTimeout = System.nanoTime();
        }
    }

    /**
     * Runs {@code body} on a daemon thread and gives up after {@code limit}: for what no timeout of
     * its own bounds (a host's connection pool that waits forever for a free connection). While
     * probes that timed out among the calls sharing {@code stuck} still run, a new one starts at
     * most once per {@code limit} and not at all with {@link Stuck#MAX} of them stuck (the answer
     * is unhealthy at once): a check run every second against a stuck pool or driver would
     * otherwise leave one more thread behind each time.
     */
    static String within(Duration limit, Stuck stuck, Body body) throws Exception {
        String refused = stuck.refusal(limit);
        if (refused != null) {
            throw new Unhealthy(refused);
        }
        FutureTask<String> task = new FutureTask<>(body::run);
        Thread t = new Thread(task, "drkit-health-check");
        t.setDaemon(true);
        t.start();
        try {
            return task.get(limit.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            task.cancel(true);
            stuck.add(t);
            throw new Unhealthy("no answer within " + limit.toSeconds() + " s");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof Exception cause) {
                throw cause;
            }
            throw e;
        } catch (InterruptedException e) {
            task.cancel(true);
            throw e;
        }
    }

    static Duration positive(Duration d, String what) {
        if (d == null || d.isNegative() || d.isZero()) {
            throw new IllegalArgumentException(what + " must be positive, not " + d);
        }
        return d;
    }
}
