package dev.drkit.spi.support;

import java.io.IOException;
import java.net.InetAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/** This host's name, without a slow or failing DNS lookup. */
public final class Hosts {
    private static final String NAME = lookup();

    private Hosts() {}

    public static String name() {
        return NAME;
    }

    private static String lookup() {
        String env = System.getenv("HOSTNAME");
        if (env != null && !env.isBlank()) {
            return env.trim();
        }
        try {
            List<String> lines = Files.readAllLines(Path.of("/etc/hostname"));
            if (!lines.isEmpty() && !lines.get(0).isBlank()) {
                return lines.get(0).trim();
            }
        } catch (IOException | RuntimeException ignored) {
            // fall through
        }
        try {
            return InetAddress.getLocalHost().getHostName();
        } catch (IOException e) {
            return "localhost";
        }
    }
}
