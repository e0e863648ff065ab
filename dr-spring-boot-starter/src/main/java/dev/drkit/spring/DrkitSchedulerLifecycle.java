package dev.drkit.spring;

import dev.drkit.DrKit;
import dev.drkit.DrListener;
import dev.drkit.scheduler.DrScheduler;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.context.SmartLifecycle;

/**
 * The setup's schedules as part of the application's lifecycle: the {@link DrScheduler} starts
 * once the application context is refreshed and stops first on shutdown, before the web server
 * and the connection pools, letting a running job finish for up to {@link
 * DrkitSetup#shutdownGrace()} (an interrupted backup leaves no listed backup). Does nothing when the
 * setup has no schedules.
 */
public final class DrkitSchedulerLifecycle implements SmartLifecycle {
    private static final Logger LOG = LoggerFactory.getLogger(DrkitSchedulerLifecycle.class);

    private final DrKit kit;
    private final DrkitSetup setup;
    private final List<DrListener> listeners;
    private final Clock clock;
    private volatile DrScheduler scheduler;

    DrkitSchedulerLifecycle(DrKit kit, DrkitSetup setup, List<DrListener> listeners, Clock clock) {
        this.kit = kit;
        this.setup = setup;
        this.listeners = List.copyOf(listeners);
        this.clock = clock;
    }

    @Override
    public synchronized void start() {
        if (scheduler != null || !setup.schedulerEnabled()) {
            return;
        }
        DrScheduler s = DrScheduler.builder(kit, setup.setup())
                .clock(clock)
                .grace(setup.shutdownGrace())
                .listeners(listeners)
                .start();
        if (s.jobs().isEmpty()) {
            s.close();
            return;
        }
        LOG.info("drkit scheduler: {} job(s) on {}: {}", s.jobs().size(), kit.repositoryDescription(), s.jobs());
        scheduler = s;
    }

    @Override
    public void stop() {
        DrScheduler s;
        synchronized (this) {
            s = scheduler;
            scheduler = null;
        }
        if (s != null) {
            s.close(); // waits for running jobs up to the grace period
        }
    }

    @Override
    public void stop(Runnable callback) {
        Thread stopping = new Thread(
                () -> {
                    try {
                        stop();
                    } finally {
                        callback.run();
                    }
                },
                "drkit-scheduler-stop");
        stopping.setDaemon(true);
        stopping.start();
    }

    @Override
    public boolean isRunning() {
        return scheduler != null;
    }

    /** The scheduled jobs (name and cron expression), empty when the scheduler is not running. */
    public Map<String, String> jobs() {
        DrScheduler s = scheduler;
        return s == null ? Map.of() : s.jobs();
    }
}
