package dev.drkit.failover;

/**
 * Tells whether one service answers as it should: a database that runs a query, a URL that
 * answers 2xx, a port that accepts connections. Built-ins: {@link SqlHealthCheck},
 * {@link HttpHealthCheck}, {@link TcpHealthCheck}; a host may implement its own.
 *
 * <p>Implementations are thread-safe, bound their own time (a check never blocks longer than its
 * configured timeout by much), and never throw: a failure is an unhealthy {@link HealthResult}
 * whose detail says what failed, without secrets.
 */
public interface HealthCheck {

    /** A short name for tables and events, e.g. {@code orders-db}; never null. */
    String name();

    /** Runs the check once; never null, never throws (except on interruption, as an unhealthy result). */
    HealthResult check();
}
