package dev.drkit.failover;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Clock;
import java.time.Duration;
import java.util.Objects;

/**
 * Healthy when a TCP connection to {@code host:port} opens within the timeout (default 3 s).
 * Immutable and thread-safe.
 */
public final class TcpHealthCheck implements HealthCheck {
    private final String name;
    private final String host;
    private final int port;
    private final Duration timeout;
    private final Clock clock;

    private TcpHealthCheck(String name, String host, int port, Duration timeout, Clock clock) {
        this.name = name;
        this.host = host;
        this.port = port;
        this.timeout = timeout;
        this.clock = clock;
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
        return new TcpHealthCheck(name, host, port, Probe.positive(timeout, "timeout"), Clock.systemUTC());
    }

    /** The same check timed by another clock (tests). */
    public TcpHealthCheck withClock(Clock clock) {
        return new TcpHealthCheck(name, host, port, timeout, Objects.requireNonNull(clock, "clock"));
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public HealthResult check() {
        return Probe.run(name, "tcp", clock, () -> {
            try (Socket s = new Socket()) {
                s.connect(new InetSocketAddress(host, port), (int) Math.min(Integer.MAX_VALUE, timeout.toMillis()));
                return "connected to " + host + ":" + port;
            } catch (IOException e) {
                throw new Probe.Unhealthy("cannot connect to " + host + ":" + port + ": " + Probe.describe(e));
            }
        });
    }

    @Override
    public String toString() {
        return "TcpHealthCheck[" + name + ", " + host + ":" + port + "]";
    }
}
