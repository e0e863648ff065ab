package dev.drkit.postgres;

import dev.drkit.postgres.launcher.ServerProcesses;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Running PostgreSQL's programs: as another user when this process is root, with a real timeout and their output on failure. */
final class PgProcesses {
    private static final class LoggerHolder {
        static final Logger LOG = LoggerFactory.getLogger(PgProcesses.class);
    }

    /*
     * Runs "$@" as a child of a shell that leads a process group of its own and gets SIGTERM
     * when drkit dies, even of SIGKILL (setpriv --pdeathsig): the trap then kills the whole
     * group, the tool and what it forked (pg_restore --jobs workers, which the kernel's
     * parent-death signal alone would not reach). $1 is drkit's pid: if drkit died before the
     * signal was armed, nothing is started. Stdin is passed on through fd 3, since a
     * background command's own stdin is /dev/null.
     */
    private static final String DIE_WITH_PARENT = String.join(
            "\n",
            "trap 'kill -KILL 0' TERM",
            "kill -0 \"$1\" 2>/dev/null || exit 137",
            "shift",
            "exec 3<&0",
            "\"$@\" <&3 3<&- &",
            "wait $!");
    private static final Optional<Path> SETSID = PgBinaries.onPath("setsid").map(d -> d.resolve("setsid"));
    private static final Optional<Path> SETPRIV = PgBinaries.onPath("setpriv").map(d -> d.resolve("setpriv"));
    private static final Path SH = Path.of("/bin/sh");
    private static final AtomicBoolean WARNED = new AtomicBoolean();
    private static final Duration TERM_GRACE = Duration.ofMillis(200);
    // the parent-death signal follows the thread that started the process, not the process:
    // tools are started from one thread that lives as long as this process, so that the end of
    // a caller's thread (a pooled one, a virtual thread's carrier) does not kill its tool
    private static final ExecutorService SPAWNER = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "drkit-tool-spawner");
        t.setDaemon(true);
        return t;
    });

    private PgProcesses() {}

    /** Whether {@link #diesWithThisProcess} can make a tool die with this process (Linux with util-linux). */
    static boolean canTieToThisProcess() {
        return SETSID.isPresent() && SETPRIV.isPresent() && Files.isExecutable(SH);
    }

    /**
     * The command wrapped so that it and every process it starts are killed when this process
     * ends in any way, SIGKILL included, where setsid and setpriv (util-linux) are installed;
     * else the command itself, with a warning once.
     *
     * <p>The kernel signals on the death of the thread that started the process: start the
     * command with {@link #start}, whose thread lives as long as this process.
     */
    static List<String> diesWithThisProcess(List<String> command) {
        if (!canTieToThisProcess()) {
            if (WARNED.compareAndSet(false, true)) {
                LoggerHolder.LOG.warn("setsid or setpriv (util-linux) not found: a PostgreSQL tool would outlive "
                        + "this process if it were killed; install util-linux");
            }
            return command;
        }
        List<String> cmd = new ArrayList<>(List.of(
                SETSID.get().toString(),
                "--wait",
                SETPRIV.get().toString(),
                "--pdeathsig",
                "TERM",
                "--",
                SH.toString(),
                "-c",
                DIE_WITH_PARENT,
                "drkit-tool",
                String.valueOf(ProcessHandle.current().pid())));
        cmd.addAll(command);
        return cmd;
    }

    /** Starts a process from the spawner thread (see {@link #diesWithThisProcess}). */
    static Process start(ProcessBuilder pb) throws IOException {
        Future<Process> started = SPAWNER.submit(pb::start);
        boolean interrupted = false;
        try {
            while (true) {
                try {
                    return started.get(); // starting takes milliseconds; a started tool is never lost
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            throw e.getCause() instanceof RuntimeException re ? re : new IllegalStateException(e.getCause());
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /**
     * Kills a process started through {@link #diesWithThisProcess} and everything it started.
     * SIGTERM first: the wrapper's trap then kills its whole process group, which also reaches a
     * tool the wrapper is starting at this very moment. A list of descendants taken now would
     * miss that one, and a wrapper killed with SIGKILL runs no trap: the tool, handed to init,
     * would live on with nothing tying it to this process any more (a backup that failed a few
     * milliseconds after starting pg_dump left one in about 5% of tries). Then, after at most
     * {@link #TERM_GRACE}, SIGKILL to whatever is left.
     */
    static void killTree(Process process) {
        process.destroy();
        boolean interrupted = false;
        try {
            process.waitFor(TERM_GRACE.toMillis(), TimeUnit.MILLISECONDS);
        } catch (InterruptedException e) {
            interrupted = true;
        }
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        process.destroyForcibly();
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    static boolean root() {
        return ServerProcesses.root();
    }

    /** A free loopback port. */
    static int freePort() throws IOException {
        return ServerProcesses.freePort();
    }

    /**
     * Runs a command, through {@code runuser -u user} when this process is root and a user is
     * given; its output goes to a temporary file, so the timeout holds even when a child it
     * started keeps the output open.
     *
     * @param serverLog a log whose last lines a failure message also quotes, or null
     */
    static void run(List<String> command, String user, int timeoutSeconds, Path serverLog) {
        ServerProcesses.run(command, user, Duration.ofSeconds(timeoutSeconds), serverLog);
    }
}
