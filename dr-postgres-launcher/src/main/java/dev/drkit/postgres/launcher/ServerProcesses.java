package dev.drkit.postgres.launcher;

import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.Settings;
import dev.drkit.spi.support.LoopbackPorts;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.GroupPrincipal;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.UserPrincipal;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Running PostgreSQL's programs from this process: as {@link #serviceUser()} when it is root
 * (PostgreSQL refuses to run as root), with a real timeout, and with their output in the
 * message when they fail. Thread-safe.
 */
public final class ServerProcesses {
    /** The system user PostgreSQL usually runs as. */
    private static final String POSTGRES_USER = "postgres";

    private ServerProcesses() {}

    /** Who runs the server: this process's user, or when that is root the {@code postgres} user, else {@code nobody}. */
    public static String serviceUser() {
        String me = System.getProperty("user.name");
        if (!"root".equals(me)) {
            return me;
        }
        try {
            Path.of("/").getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(POSTGRES_USER);
            return POSTGRES_USER;
        } catch (IOException e) {
            return "nobody";
        }
    }

    /**
     * Run as root, gives a tree to {@link #serviceUser()} (its group too, when there is one of
     * that name) and lets that user through the directories above it; else does nothing.
     */
    public static void giveToServiceUser(Path tree) throws IOException {
        if (!root()) {
            return;
        }
        own(tree);
        for (Path p = tree.toAbsolutePath().getParent(); p != null && p.getParent() != null; p = p.getParent()) {
            Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
            if (perms.add(PosixFilePermission.OTHERS_EXECUTE)) {
                Files.setPosixFilePermissions(p, perms);
            }
        }
    }

    /** Run as root, gives a tree to {@link #serviceUser()}, and nothing above it. */
    static void own(Path tree) throws IOException {
        if (!root()) {
            return;
        }
        String user = serviceUser();
        UserPrincipalLookupService lookup = tree.getFileSystem().getUserPrincipalLookupService();
        UserPrincipal owner = lookup.lookupPrincipalByName(user);
        GroupPrincipal group;
        try {
            group = lookup.lookupPrincipalByGroupName(user);
        } catch (IOException noSuchGroup) {
            group = null;
        }
        try (Stream<Path> walk = Files.walk(tree)) {
            for (Path p : walk.toList()) {
                Files.setOwner(p, owner);
                if (group != null) {
                    Files.getFileAttributeView(p, PosixFileAttributeView.class).setGroup(group);
                }
            }
        }
    }

    /**
     * A free loopback port, outside the kernel's ephemeral range where it can be, so that no
     * outgoing connection takes it before the server binds it (see {@link LoopbackPorts}).
     */
    public static int freePort() throws IOException {
        return LoopbackPorts.free();
    }

    /**
     * Runs a PostgreSQL program, through {@code runuser -u user} when this process is root and a
     * user is given; its output goes to a temporary file, so the timeout holds even when a child
     * it started keeps the output open.
     *
     * @param user who runs it when this process is root; null for root itself
     * @param serverLog a log whose last lines a failure message also quotes, or null
     * @throws DrException when it fails, does not finish in time or cannot be started
     */
    public static void run(List<String> command, String user, Duration timeout, Path serverLog) {
        run(command, user, timeout, serverLog, null);
    }

    /** {@link #run(List, String, Duration, Path)} in {@code directory} (null: this process's). */
    static void run(List<String> command, String user, Duration timeout, Path serverLog, Path directory) {
        List<String> cmd = new ArrayList<>();
        if (user != null && root()) {
            cmd.addAll(List.of("runuser", "-u", user, "--"));
        }
        cmd.addAll(command);
        String tool = Path.of(command.get(0)).getFileName().toString();
        try {
            Path out = Files.createTempFile("drkit-" + tool, ".log");
            try {
                Process p = new ProcessBuilder(cmd)
                        .directory(directory == null ? null : directory.toFile())
                        .redirectErrorStream(true)
                        .redirectOutput(out.toFile())
                        .start();
                if (!p.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
                    // what it started too: a stop script's pg_ctl or ssh must not go on in the background
                    p.descendants().forEach(ProcessHandle::destroyForcibly);
                    p.destroyForcibly();
                    throw new DrException(
                            ErrorCode.TARGET,
                            tool + " did not finish within " + timeout.toSeconds() + " s"
                                    + (serverLog == null ? "" : "; see " + serverLog));
                }
                if (p.exitValue() != 0) {
                    throw new DrException(
                            ErrorCode.TARGET,
                            tool + " failed (exit " + p.exitValue() + "): "
                                    + lastLines(Files.readString(out, StandardCharsets.UTF_8))
                                    + (serverLog != null && Files.exists(serverLog)
                                            ? " | server log: "
                                                    + lastLines(Files.readString(serverLog, StandardCharsets.UTF_8))
                                            : ""));
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

    /** Whether this process runs as root. */
    public static boolean root() {
        return "root".equals(System.getProperty("user.name"));
    }

    /** The last lines of a program's output, for a message: secrets it printed are redacted. */
    private static String lastLines(String text) {
        String[] lines = Settings.redactText(text).split("\n");
        int from = Math.max(0, lines.length - 5);
        return String.join(" | ", Arrays.copyOfRange(lines, from, lines.length));
    }
}
