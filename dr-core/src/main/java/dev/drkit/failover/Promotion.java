package dev.drkit.failover;

import java.time.Instant;
import java.util.Objects;

/**
 * What a {@link TrafficSwitch} is told after a promotion: which server is the primary now.
 * Endpoints are {@code host:port} without users, passwords or parameters.
 *
 * @param name the failover's name (e.g. the database's), never null
 * @param system {@code postgresql} or {@code redis} (or a host's own word), never null
 * @param newPrimary the promoted server, never null
 * @param oldPrimary the server it replaces, or null when not known
 * @param at when the promotion finished, never null
 */
public record Promotion(String name, String system, String newPrimary, String oldPrimary, Instant at) {
    public Promotion {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(system, "system");
        Objects.requireNonNull(newPrimary, "newPrimary");
        Objects.requireNonNull(at, "at");
    }
}
