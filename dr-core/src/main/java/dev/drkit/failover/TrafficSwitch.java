package dev.drkit.failover;

/**
 * Moves a host's clients to the promoted server; called once, after the promotion has been
 * checked (the new primary accepts writes and passed its validation queries), and never in a
 * dry run. Switching traffic is the host's: a lambda that repoints its connection pool, a
 * {@link WebhookTrafficSwitch} to a load balancer or service registry, or a
 * {@link CommandTrafficSwitch} that runs a script.
 *
 * <p>Implementations may block (a failover waits for them) and should bound their own time.
 */
@FunctionalInterface
public interface TrafficSwitch {

    /** A switch that does nothing (the clients find the new primary by themselves). */
    TrafficSwitch NONE = p -> {};

    /**
     * Points the clients at {@code promotion.newPrimary()}.
     *
     * @param promotion what was promoted; never null
     * @throws Exception when the switch failed: the failover then reports the switch step failed,
     *     with the server already promoted, so that someone switches by hand
     */
    void switchTo(Promotion promotion) throws Exception;
}
