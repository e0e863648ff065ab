/**
 * Active-passive failover and health checks: {@link dev.drkit.failover.HealthCheck}s (SQL, HTTP,
 * TCP) that tell whether a service answers, the {@link dev.drkit.failover.TrafficSwitch} a host
 * implements (or configures as a callback, webhook or command) to move its clients to a promoted
 * server, and the {@link dev.drkit.failover.FailoverReport} every failover returns. The
 * PostgreSQL and Redis failovers themselves live in their modules ({@code PostgresFailover},
 * {@code RedisFailover}) and are built on {@link dev.drkit.failover.FailoverRun}. Public API.
 */
package dev.drkit.failover;
