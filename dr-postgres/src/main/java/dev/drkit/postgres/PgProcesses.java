package dev.drkit.postgres;

import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Running PostgreSQL's programs: as another user when this process is root, with a real timeout and their output on failure. */
final class PgProcesses {
    private PgProcesses() {
    }

    static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** A free loopback port. */
    static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /**
     * Runs a command, through {@code runuser -u user} when this process is root and a user is
     * given; its output goes to a temporary file, so the timeout holds even when a child it
     * started keeps the output open.
     *
     * @param serverLog a log whose last lines a failure message also quotes, or null
     */
    static void run(List<String> command, String user, int timeoutSeconds, Path serverLog) {
        List<String> cmd = new ArrayList<>();
        if (user != null && root()) {
            cmd.addAll(List.of("runuser", "-u", user, "--"));
        }
        cmd.addAll(command);
        String tool = Path.of(command.get(0)).getFileName().toString();
        try {
            Path out = Files.createTempFile("drkit-" + tool, ".log");
            try {
                Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(out.toFile()).start();
                if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
                    p.destroyForcibly();
                    throw new DrException(ErrorCode.TARGET, tool + " did not finish within " + timeoutSeconds + " s"
                            + (serverLog == null ? "" : "; see " + serverLog));
                }
                if (p.exitValue() != 0) {
                    throw new DrException(ErrorCode.TARGET, tool + " failed (exit " + p.exitValue() + "): "
                            + PostgresLogicalTarget.lastLines(Files.readString(out, StandardCharsets.UTF_8))
                            + (serverLog != null && Files.exists(serverLog) ? " | server log: "
                            + PostgresLogicalTarget.lastLines(Files.readString(serverLog, StandardCharsets.UTF_8)) : ""));
                }
            } finally {
                Files.deleteIfExists(out);
            }
        } catch (IOException e) {
            throw new DrException(ErrorCode.TARGET, "cannot run " + tool + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DrException(ErrorCode.INTERRUPTED, "interrupted while running " + tool);
        }
    }
}
