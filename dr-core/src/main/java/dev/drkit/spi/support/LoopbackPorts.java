package dev.drkit.spi.support;

import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.ThreadLocalRandom;
import java.util.function.IntUnaryOperator;

/**
 * Ports for servers a target starts on loopback for a while (a scratch PostgreSQL or
 * redis-server of a restore test, a cluster started after a restore): a port free now, picked
 * outside the kernel's ephemeral range ({@code net.ipv4.ip_local_port_range}). A port the kernel
 * picks for {@code bind(0)} comes from that range, the same range it hands the local end of
 * every outgoing connection; so on a busy host an outgoing connection can take such a port in
 * the seconds between the pick and the server's own bind (initdb, a restore), and the server
 * then fails to start. Outside the range only another listener can take it.
 *
 * <p>Falls back to a port of the ephemeral range when the range leaves too few others.
 */
public final class LoopbackPorts {
    /** The lowest port picked: above the registered services most hosts run. */
    static final int LOWEST = 20_000;
    /** Fewer ports than this outside the range, below it and above it together: the range is used. */
    static final int FEWEST = 1_000;

    private static final int TRIES = 50;
    private static final Path RANGE = Path.of("/proc/sys/net/ipv4/ip_local_port_range");

    private LoopbackPorts() {}

    /** A loopback port free now, outside the ephemeral range where it can be. */
    public static int free() throws IOException {
        return free(ephemeralRange(), bound -> ThreadLocalRandom.current().nextInt(bound));
    }

    /**
     * @param ephemeral the ephemeral range, lowest and highest port
     * @param random a number from 0 to below its argument
     */
    static int free(int[] ephemeral, IntUnaryOperator random) throws IOException {
        int below = Math.max(0, ephemeral[0] - LOWEST); // LOWEST .. ephemeral[0] - 1
        int aboveFrom = Math.max(ephemeral[1] + 1, LOWEST);
        int above = Math.max(0, 65_536 - aboveFrom); // aboveFrom .. 65535
        if (below + above >= FEWEST) {
            for (int i = 0; i < TRIES; i++) {
                int n = random.applyAsInt(below + above);
                int port = n < below ? LOWEST + n : aboveFrom + (n - below);
                if (bindable(port)) {
                    return port;
                }
            }
        }
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** The kernel's ephemeral range; Linux's default when it cannot be read. */
    static int[] ephemeralRange() {
        try {
            return parseRange(Files.readString(RANGE));
        } catch (IOException | RuntimeException e) {
            return new int[] {32_768, 60_999};
        }
    }

    /** The range as the proc file gives it ({@code "32768\t60999"}). */
    static int[] parseRange(String text) {
        String[] parts = text.trim().split("\\s+");
        if (parts.length != 2) {
            throw new IllegalArgumentException("not a port range: " + text);
        }
        int low = Integer.parseInt(parts[0]);
        int high = Integer.parseInt(parts[1]);
        if (low < 1 || high > 65_535 || low > high) {
            throw new IllegalArgumentException("not a port range: " + text);
        }
        return new int[] {low, high};
    }

    private static boolean bindable(int port) throws IOException {
        try (ServerSocket s = new ServerSocket()) {
            s.setReuseAddress(true); // as servers bind: a connection of an earlier user in TIME_WAIT does not stop them
            s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 1);
            return true;
        } catch (BindException taken) {
            return false;
        }
    }
}
