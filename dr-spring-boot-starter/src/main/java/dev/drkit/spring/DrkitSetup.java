package dev.drkit.spring;

import dev.drkit.Objectives;
import dev.drkit.setup.Setup;
import java.time.Duration;
import java.util.Map;
import java.util.Objects;

/**
 * The application's drkit setup, read from its {@code drkit.*} properties and checked at start-up:
 * the {@link Setup} (the same model a {@code drkit.yaml} gives), which targets use the
 * application's own connections, and the scheduler's settings. Immutable; a bean of the
 * auto-configuration that a host may inject.
 */
public final class DrkitSetup {
    private final Setup setup;
    private final Map<String, HostConnection> connections;
    private final boolean schedulerEnabled;
    private final Duration shutdownGrace;

    DrkitSetup(Setup setup, Map<String, HostConnection> connections, boolean schedulerEnabled, Duration shutdownGrace) {
        this.setup = Objects.requireNonNull(setup, "setup");
        this.connections = Map.copyOf(connections);
        this.schedulerEnabled = schedulerEnabled;
        this.shutdownGrace = shutdownGrace;
    }

    /** The setup: repository, copies, objectives, and per target its options, schedule, retention and verification. */
    public Setup setup() {
        return setup;
    }

    /** Per target name, its objectives (targets without any are left out). */
    public Map<String, Objectives> objectives() {
        return setup.targetObjectives();
    }

    /** Whether the scheduler runs the setup's schedules in this application ({@code drkit.scheduler.enabled}). */
    public boolean schedulerEnabled() {
        return schedulerEnabled;
    }

    /**
     * How long a running job may finish when the application shuts down ({@code
     * drkit.scheduler.shutdown-grace}, shorter than the application's {@code
     * spring.lifecycle.timeout-per-shutdown-phase}; by default that timeout (30 s unless set) less
     * 5 s, or less half of it when it is under 10 s, to interrupt a job still running).
     */
    public Duration shutdownGrace() {
        return shutdownGrace;
    }

    /** The application connection a target uses, if it uses one. */
    HostConnection connection(String target) {
        return connections.get(target);
    }

    @Override
    public String toString() {
        return "DrkitSetup[targets=" + setup.targets().keySet() + ", scheduler=" + schedulerEnabled + "]";
    }

    /**
     * A target that uses one of the application's connections rather than its own settings.
     *
     * @param kind a DataSource or a Redis connection factory
     * @param beanName the bean named by the target, or null for the application's only (or primary) one
     */
    record HostConnection(Kind kind, String beanName) {
        enum Kind {
            DATA_SOURCE,
            REDIS_CONNECTION_FACTORY
        }
    }
}
