package dev.drkit.spring;

import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.Objectives;
import dev.drkit.RepositoryNotFoundException;
import dev.drkit.micrometer.DrMetrics;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * Keeps the {@link DrMetrics} gauges true between this application's own events: at start-up
 * (so that a restarted application reports its backups' age at once) and then once a minute from
 * the repository's status, which also sees the backups other instances make.
 */
final class DrkitMetricsRefresher implements SmartLifecycle {
    private static final Logger LOG = LoggerFactory.getLogger(DrkitMetricsRefresher.class);
    static final Duration PERIOD = Duration.ofMinutes(1);

    private final DrKit kit;
    private final Map<String, Objectives> objectives;
    private final DrMetrics metrics;
    private ScheduledExecutorService timer;

    DrkitMetricsRefresher(DrKit kit, Map<String, Objectives> objectives, DrMetrics metrics) {
        this.kit = kit;
        this.objectives = Map.copyOf(objectives);
        this.metrics = metrics;
    }

    @Override
    public synchronized void start() {
        if (timer != null) {
            return;
        }
        timer = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "drkit-metrics");
            t.setDaemon(true);
            return t;
        });
        refresh(); // on the starting thread: the gauges are there once the application has started
        timer.scheduleWithFixedDelay(this::refresh, PERIOD.toMillis(), PERIOD.toMillis(), TimeUnit.MILLISECONDS);
    }

    void refresh() {
        try {
            metrics.record(kit.status(objectives));
        } catch (RepositoryNotFoundException e) {
            LOG.debug("no repository yet: {}", e.getMessage()); // the first backup creates it
        } catch (DrException | IllegalStateException e) {
            LOG.warn("could not refresh drkit's metrics from the repository's status: {}", e.getMessage());
        } catch (RuntimeException e) {
            // a storage client's own unchecked failure: neither the application's start nor the timer
            // (which drops a task that throws) may end with it
            LOG.warn(
                    "could not refresh drkit's metrics from the repository's status ({})",
                    e.getClass().getSimpleName());
            LOG.debug("refresh failure", e);
        }
    }

    @Override
    public synchronized void stop() {
        if (timer != null) {
            timer.shutdownNow();
            timer = null;
        }
    }

    @Override
    public synchronized boolean isRunning() {
        return timer != null;
    }
}
