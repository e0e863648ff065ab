package dev.drkit.failover;

/**
 * A configured failover of one database or cache: checks the standby, fences the old primary,
 * promotes, waits for writes, validates and switches traffic, or in a dry run checks everything
 * and changes nothing. Implementations: {@code PostgresFailover} (dr-postgres),
 * {@code RedisFailover} (dr-redis).
 *
 * <p>Implementations are immutable; running the same failover from two threads at once is not
 * supported (the second would find a primary and refuse).
 */
public interface Failover {

    /**
     * Runs the failover. A refusal or a failed step is reported in the result, not thrown.
     *
     * @return the report; never null
     */
    FailoverReport run();
}
