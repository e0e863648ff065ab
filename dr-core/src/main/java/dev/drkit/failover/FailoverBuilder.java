package dev.drkit.failover;

import dev.drkit.DrListener;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What every {@link Failover} builder takes besides its system's connections and limits: force, dry run, the
 * traffic switch, listeners and the clock. Not thread-safe.
 *
 * @param <B> the concrete builder, returned by each setter for chaining
 */
public abstract class FailoverBuilder<B extends FailoverBuilder<B>> {
    private boolean force;
    private boolean dryRun;
    private TrafficSwitch traffic = TrafficSwitch.NONE;
    private final List<DrListener> listeners = new ArrayList<>();
    private Clock clock = Clock.systemUTC();

    /** For the builders of {@code PostgresFailover} and {@code RedisFailover}. */
    protected FailoverBuilder() {}

    /** This builder, as its own type. */
    protected abstract B self();

    /** Promote even when a check (lag, an old primary that still answers) says no. */
    public B force(boolean force) {
        this.force = force;
        return self();
    }

    /** Run every check, change nothing: no stop, promotion or traffic switch. */
    public B dryRun(boolean dryRun) {
        this.dryRun = dryRun;
        return self();
    }

    /** Called after the promotion is checked (default {@link TrafficSwitch#NONE}). */
    public B trafficSwitch(TrafficSwitch traffic) {
        this.traffic = Objects.requireNonNull(traffic, "traffic");
        return self();
    }

    /** Receives the failover's events; may be called more than once. */
    public B listener(DrListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
        return self();
    }

    /** Where event times come from (default the system clock in UTC). */
    public B clock(Clock clock) {
        this.clock = Objects.requireNonNull(clock, "clock");
        return self();
    }

    /** What was set here, for the failover the concrete builder builds. */
    protected final Common common() {
        return new Common(force, dryRun, traffic, List.copyOf(listeners), clock);
    }

    /**
     * The settings every failover shares. Immutable.
     *
     * @param force promote even when a check says no
     * @param dryRun check everything, change nothing
     * @param traffic called after the promotion
     * @param listeners receive the failover's events
     * @param clock where event times come from
     */
    public record Common(
            boolean force, boolean dryRun, TrafficSwitch traffic, List<DrListener> listeners, Clock clock) {
        public Common {
            listeners = List.copyOf(listeners);
        }
    }
}
