package dev.drkit.failover;

import java.time.Instant;
import java.util.Objects;

/**
 * The outcome of one {@link HealthCheck} run.
 *
 * @param name the check's name
 * @param kind what was checked: {@code sql}, {@code http}, {@code tcp} or a host's own word
 * @param healthy whether the service answered as it should
 * @param detail what was seen (e.g. {@code HTTP 200}, {@code connection refused}); never a secret
 * @param seconds how long the check took
 * @param at when the check started
 */
public record HealthResult(String name, String kind, boolean healthy, String detail, double seconds, Instant at) {
    public HealthResult {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(kind, "kind");
        detail = detail == null ? "" : detail;
        Objects.requireNonNull(at, "at");
    }
}
