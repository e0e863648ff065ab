package dev.drkit.spi.support;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stops a scratch server and removes its directory when this process dies without doing so
 * (SIGKILL, the OOM killer, a crash, Ctrl-C before the clean-up ran), so that a restore test or a
 * load test does not leave a server running on a copy of the data, nor the copy itself.
 *
 * <p>A small {@code sh} process watches a pipe from this JVM: when the JVM ends, the kernel closes
 * the pipe, and the guard reads the end of it. Unless {@link #close()} said first that all is
 * done, it then sends {@code signal} to the process named by the first line of the pid file, but
 * only if that process works in the scratch directory (PostgreSQL and Redis both change into
 * theirs: a pid reused by another process is left alone), waits up to 30 seconds for it to end,
 * and removes the directory. The guard ignores SIGINT, SIGHUP and SIGTERM, which reach the
 * whole process group of a terminal, so that it outlives the JVM it guards. Use one per scratch
 * server: start it before the server, close it once the server is stopped.
 */
public final class OrphanGuard implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(OrphanGuard.class);

    /** $1 the directory, $2 the pid file, $3 the signal; stdin is the pipe from the JVM. */
    static final String SCRIPT = String.join(
            "\n",
            "trap '' INT HUP TERM",
            "IFS= read -r line",
            "[ \"$line\" = done ] && exit 0",
            "[ -d \"$1\" ] || exit 0",
            "inside() { case $(readlink \"/proc/$1/cwd\" 2>/dev/null) in \"$2\"|\"$2\"/*) return 0;; esac; return 1; }",
            "for try in 1 2; do", // a server starting as the JVM died writes its pid file in a moment
            "  pid=$(head -n 1 \"$2\" 2>/dev/null)",
            "  case $pid in ''|*[!0-9]*) pid= ;; esac",
            "  if [ -n \"$pid\" ] && inside \"$pid\" \"$1\"; then",
            "    kill -\"$3\" \"$pid\" 2>/dev/null",
            "    i=0; while kill -0 \"$pid\" 2>/dev/null && [ $i -lt 300 ]; do sleep 0.1; i=$((i + 1)); done",
            "    break",
            "  fi",
            "  sleep 1",
            "done",
            "rm -rf \"$1\"",
            "");

    private final Process guard;
    private final Path dir;
    private boolean closed;

    private OrphanGuard(Process guard, Path dir) {
        this.guard = guard;
        this.dir = dir;
    }

    /**
     * Starts guarding {@code dir}, an existing scratch directory.
     *
     * @param dir the directory to remove if this process dies; its real path is what the server's
     *     working directory must be in
     * @param pidFile the file whose first line will be the server's pid (it may not exist yet)
     * @param signal the signal that stops the server at once: {@code QUIT} for PostgreSQL (an
     *     immediate shutdown that ends its children too), {@code TERM} for Redis
     */
    public static OrphanGuard start(Path dir, Path pidFile, String signal) throws IOException {
        if (!signal.matches("[A-Z0-9]+")) {
            throw new IllegalArgumentException("not a signal name: " + signal);
        }
        Path real = dir.toRealPath();
        Process p = new ProcessBuilder(
                        "sh", "-c", SCRIPT, "drkit-orphan-guard", real.toString(), pidFile.toString(), signal)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .redirectError(ProcessBuilder.Redirect.DISCARD)
                .start();
        return new OrphanGuard(p, real);
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
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        try (OutputStream in = guard.getOutputStream()) {
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
