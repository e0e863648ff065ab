package dev.drkit.spi.support;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stops a scratch server and removes its directory when this process dies without doing so
 * (SIGKILL, the OOM killer, a crash, SIGTERM or Ctrl-C before the clean-up ran), so that a
 * restore test or a load test does not leave a server running on a copy of the data, nor the
 * copy itself.
 *
 * <p>A small {@code /bin/sh} process reads a pipe from this JVM. Once the server runs, this JVM
 * tells it the server's pid and start time ({@link #serverStarted}); when the JVM ends, the
 * kernel closes the pipe and the guard reads the end of it. Unless {@link #close()} said first
 * that all is done, it then sends {@code signal} to that process if it is still the one that
 * started then (a pid since reused by another process is left alone), waits up to 30 seconds
 * for it to end, and removes the directory. It reads nothing the server could write, and only
 * {@code /proc/<pid>/stat}, which every user may read, about the server. It ignores SIGINT,
 * SIGHUP and SIGTERM, which reach a terminal's whole process group or a service's processes, so
 * that it outlives the JVM it guards. Use one per scratch server: start it before the server,
 * close it once the server is stopped.
 */
public final class OrphanGuard implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OrphanGuard.class);

    /** $1 the directory, $2 the signal; stdin is the pipe from the JVM. Shell built-ins but for sleep and rm. */
    static final String SCRIPT = String.join(
            "\n",
            "trap '' INT HUP TERM",
            "dir=$1 sig=$2 pid= start=",
            "set -f", // no globbing of the words of /proc/<pid>/stat
            "while IFS= read -r line; do",
            "  case $line in",
            "    done) exit 0 ;;",
            "    'server '*)",
            "      p=${line#server }; s=${p#* }; p=${p%% *}",
            "      case $p$s in ''|*[!0-9]*) ;; *) pid=$p start=$s ;; esac ;;",
            "  esac",
            "done",
            // the 22nd field of /proc/<pid>/stat, counted after the command name's closing parenthesis
            "started() {",
            "  want=$2 stat=",
            "  { IFS= read -r stat < \"/proc/$1/stat\"; } 2>/dev/null", // no newline at its end: read says 1
            "  [ -n \"$stat\" ] || return 1",
            "  set -- ${stat##*) }",
            "  [ \"${20}\" = \"$want\" ]",
            "}",
            "if [ -n \"$pid\" ] && started \"$pid\" \"$start\"; then",
            "  kill -s \"$sig\" \"$pid\" 2>/dev/null",
            "  i=0; while started \"$pid\" \"$start\" && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done",
            "fi",
            "[ -n \"$dir\" ] && [ -d \"$dir\" ] && rm -rf -- \"$dir\"",
            "exit 0",
            "");

    private final Process guard;
    private final Path dir;
    private final OutputStream pipe;
    private boolean closed;
    private boolean known;

    private OrphanGuard(Process guard, Path dir) {
        this.guard = guard;
        this.dir = dir;
        this.pipe = guard.getOutputStream();
    }

    /**
     * Starts guarding {@code dir}, an existing scratch directory.
     *
     * @param dir the directory to remove if this process dies (null: none)
     * @param signal the signal that stops the server at once: {@code QUIT} for PostgreSQL (an
     *     immediate shutdown that ends its children too), {@code TERM} for Redis
     */
    public static OrphanGuard start(Path dir, String signal) throws IOException {
        if (!signal.matches("[A-Z][A-Z0-9]*")) {
            throw new IllegalArgumentException("not a signal name: " + signal);
        }
        Path real = dir == null ? null : dir.toRealPath();
        Process p = new ProcessBuilder(
                        "/bin/sh", "-c", SCRIPT, "drkit-orphan-guard", real == null ? "" : real.toString(), signal)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        return new OrphanGuard(p, real);
    }

    /**
     * Names the server to stop if this process dies: {@code pid}, as long as it is the process
     * that runs now (its start time is taken from {@code /proc} here). A later call replaces it
     * (a server started again).
     *
     * @return whether the guard knows the server; false when the process is gone already or the
     *     system does not tell its start time (the guard then only removes the directory)
     */
    public boolean serverStarted(long pid) {
        OptionalLong start = startTicks(pid);
        return start.isPresent() && serverStarted(pid, start.getAsLong());
    }

    private synchronized boolean serverStarted(long pid, long startTicks) {
        if (closed) {
            return false;
        }
        try {
            pipe.write(("server " + pid + " " + startTicks + "\n").getBytes(StandardCharsets.US_ASCII));
            pipe.flush();
            known = true;
            return true;
        } catch (IOException e) {
            LOG.warn("the guard of {} has ended; a scratch server there would outlive a crash of this process", dir);
            return false;
        }
    }

    /**
     * {@link #serverStarted(long)} for the process a pid file names, if it runs as the owner of
     * {@code ownedBy} (compared by uid) under the name {@code comm} (as {@code /proc/<pid>/comm}
     * gives it): a pid file another user may write must not make this process's guard signal
     * anything else. The file is read in a child process with a time limit (it may have become a
     * FIFO or a link to a device meanwhile), and nothing of its content is ever logged.
     *
     * @return whether the guard knows the server
     */
    public boolean serverStarted(Path pidFile, Path ownedBy, String comm) {
        try {
            if (!Files.isRegularFile(pidFile, LinkOption.NOFOLLOW_LINKS)) {
                return false;
            }
            OptionalLong pid = readPid(pidFile);
            if (pid.isEmpty()) {
                return false;
            }
            // owner, name and start from /proc itself: readable without the right to trace the process
            Path proc = Path.of("/proc", Long.toString(pid.getAsLong()));
            OptionalLong before = startTicks(pid.getAsLong());
            boolean server = before.isPresent()
                    && uid(proc).equals(uid(ownedBy))
                    && Files.readString(proc.resolve("comm")).strip().equals(comm)
                    && startTicks(pid.getAsLong()).equals(before); // still the same process
            return server && serverStarted(pid.getAsLong(), before.getAsLong());
        } catch (IOException | RuntimeException e) {
            LOG.debug("no server to guard from {}", pidFile);
            return false;
        }
    }

    /**
     * Watches {@code pidFile} on a thread of its own until {@link #serverStarted(Path, Path,
     * String)} succeeds, so that a server is guarded from the moment it writes its pid file, while
     * whatever starts it may still wait for it (a recovery); close the watch when that returns.
     */
    public Watch watch(Path pidFile, Path ownedBy, String comm) {
        return new Watch(pidFile, ownedBy, comm);
    }

    /** A watch of a pid file; see {@link #watch}. */
    public final class Watch implements AutoCloseable {
        private final BooleanSupplier look;
        private final Thread thread;

        private Watch(Path pidFile, Path ownedBy, String comm) {
            look = () -> serverStarted(pidFile, ownedBy, comm);
            thread = new Thread(this::watch, "drkit-orphan-guard-watch");
            thread.setDaemon(true);
            thread.start();
        }

        private void watch() {
            while (!look.getAsBoolean()) {
                try {
                    Thread.sleep(200);
                } catch (InterruptedException e) {
                    return;
                }
            }
        }

        /** Stops watching, after a last look if the server is not known yet (see {@link #known()}). */
        @Override
        public void close() {
            thread.interrupt();
            try {
                thread.join(5_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (!known()) {
                look.getAsBoolean();
            }
        }
    }

    /** Whether the guard has been told of a server. */
    public synchronized boolean known() {
        return known;
    }

    private static Object uid(Path p) throws IOException {
        return Files.getAttribute(p, "unix:uid", LinkOption.NOFOLLOW_LINKS);
    }

    /** The first line of a pid file, read by {@code head} with a time limit; empty unless it is a number. */
    static OptionalLong readPid(Path pidFile) throws IOException {
        Process p = new ProcessBuilder("/bin/sh", "-c", "head -c 32 -- \"$1\"", "drkit-read-pid", pidFile.toString())
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        try {
            if (!p.waitFor(5, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                return OptionalLong.empty();
            }
            String text = new String(p.getInputStream().readNBytes(32), StandardCharsets.US_ASCII);
            String first = text.lines().findFirst().orElse("").strip();
            return first.matches("[1-9][0-9]{0,9}") ? OptionalLong.of(Long.parseLong(first)) : OptionalLong.empty();
        } catch (InterruptedException e) {
            p.destroyForcibly();
            Thread.currentThread().interrupt();
            return OptionalLong.empty();
        }
    }

    /** When process {@code pid} started, in clock ticks since boot ({@code /proc/<pid>/stat}, field 22). */
    static OptionalLong startTicks(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"), StandardCharsets.UTF_8);
            String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return OptionalLong.of(Long.parseLong(fields[19]));
        } catch (IOException | RuntimeException e) {
            return OptionalLong.empty();
        }
    }

    /**
     * Starts guarding a server that is to outlive nothing but keeps its files (a cluster that
     * lives as long as this process): when this process dies, the server is stopped, no file is
     * removed.
     *
     * @param signal as for {@link #start(Path, String)}
     */
    public static OrphanGuard serverOnly(String signal) throws IOException {
        return start(null, signal);
    }

    /**
     * Guards a server that is a child process of this one ({@link #serverOnly}, told of the
     * child at once); never fails: without {@code /bin/sh} the server is left unguarded, with a
     * warning.
     *
     * @return the guard to close once the server is stopped
     */
    public static OrphanGuard child(Process server, String signal) {
        try {
            OrphanGuard guard = serverOnly(signal);
            guard.serverStarted(server.pid());
            return guard;
        } catch (IOException e) {
            LOG.warn(
                    "process {} is not guarded ({}): if this process dies, stop it by hand",
                    server.pid(),
                    e.getMessage());
            return null;
        }
    }

    /** Closes {@code guard} if there is one (see {@link #child}). */
    public static void close(OrphanGuard guard) {
        if (guard != null) {
            guard.close();
        }
    }

    /** The guard's process (for tests). */
    Process process() {
        return guard;
    }

    /**
     * Tells the guard that the server is stopped and the directory taken care of by this process;
     * it ends without touching either.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        try (OutputStream in = pipe) {
            in.write("done\n".getBytes(StandardCharsets.US_ASCII));
        } catch (IOException e) {
            LOG.debug("the guard of {} had already ended: {}", dir, e.getMessage());
        }
        try {
            if (!guard.waitFor(5, TimeUnit.SECONDS)) {
                guard.destroyForcibly(); // it ignores SIGTERM
            }
        } catch (InterruptedException e) {
            guard.destroyForcibly();
            Thread.currentThread().interrupt();
        }
    }
}
