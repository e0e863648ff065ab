package dev.drkit.failover;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;

/**
 * Healthy when a TCP connection to {@code host:port} opens within the timeout (default 3 s),
 * the look-up of the host's name included: a resolver that does not answer makes the check
 * unhealthy at the timeout, not after the resolver's own retries (often 30 s and more).
 * Thread-safe.
 */
public final class TcpHealthCheck implements HealthCheck {
    /** Looks up a host's address; the JDK's resolver unless a test gives another. */
    interface Resolver {
        InetAddress resolve(String host) throws IOException;
    }

    private final String name;
    private final String host;
    private final int port;
    private final Duration timeout;
    private final Clock clock;
    private final Resolver resolver;
    private final Probe.Stuck stuck = new Probe.Stuck();

    private TcpHealthCheck(String name, String host, int port, Duration timeout, Clock clock, Resolver resolver) {
        this.name = name;
        this.host = host;
        this.port = port;
        this.timeout = timeout;
        this.clock = clock;
        this.resolver = resolver;
    }

    /**
     * A check of {@code host:port} with a 3 s timeout.
     *
     * @throws IllegalArgumentException when the port is outside 1..65535 or the host is blank
     */
    public static TcpHealthCheck of(String name, String host, int port) {
        return of(name, host, port, Duration.ofSeconds(3));
    }

    /** {@link #of(String, String, int)} with a timeout of its own. */
    public static TcpHealthCheck of(String name, String host, int port, Duration timeout) {
        Objects.requireNonNull(name, "name");
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("a TCP health check needs a host");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("a TCP port is 1..65535, not " + port);
        }
        return new TcpHealthCheck(
                name, host, port, Probe.positive(timeout, "timeout"), Clock.systemUTC(), InetAddress::getByName);
    }

    /** The same check timed by another clock (tests). */
    public TcpHealthCheck withClock(Clock clock) {
        return new TcpHealthCheck(name, host, port, timeout, Objects.requireNonNull(clock, "clock"), resolver);
    }

    /** The same check looking host names up with {@code resolver} (tests). */
    TcpHealthCheck withResolver(Resolver resolver) {
        return new TcpHealthCheck(name, host, port, timeout, clock, Objects.requireNonNull(resolver, "resolver"));
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public HealthResult check() {
        // the look-up has no timeout of its own: the whole probe runs within one
        return Probe.run(name, "tcp", clock, () -> Probe.within(timeout.plusMillis(500), stuck, this::probe));
    }

    private String probe() throws Probe.Unhealthy {
        long deadline = System.nanoTime() + timeout.toNanos();
        try (Socket s = new Socket()) {
            InetAddress address = resolver.resolve(host);
            long left = Math.max(1, (deadline - System.nanoTime()) / 1_000_000);
            s.connect(new InetSocketAddress(address, port), (int) Math.min(Integer.MAX_VALUE, left));
            return "connected to " + host + ":" + port;
        } catch (IOException e) {
            throw new Probe.Unhealthy("cannot connect to " + host + ":" + port + ": " + Probe.describe(e));
        }
    }

    @Override
    public String toString() {
        return "TcpHealthCheck[" + name + ", " + host + ":" + port + "]";
    }
}
