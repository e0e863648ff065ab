package dev.drkit.postgres;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.spi.support.InterruptWatch;
import dev.drkit.spi.support.PrivateScratch;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds and runs the PostgreSQL client tools (pg_dump, pg_dumpall, pg_restore, psql) with a
 * private environment.
 *
 * <p>The password travels in the tool's environment ({@code PGPASSWORD}), never in arguments
 * and never in a file: on Linux a process's environment is readable only by its own user and
 * root (/proc/PID/environ is 0400 and guarded by the same check as ptrace), who can read this
 * process's memory, where the password is anyway; and nothing is left on disk when drkit is
 * killed. A tool dies with this process, SIGKILL included (see
 * {@link PgProcesses#diesWithThisProcess}).
 */
final class PgTools {
    private static final class LoggerHolder {
        static final Logger LOG = LoggerFactory.getLogger(PgTools.class);
    }

    private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\)\\s+(\\d+)(?:\\.(\\d+))?");

    private static final int DUMP_BUFFER = 256 * 1024;

    private final Path binDir;
    private final Map<String, Integer> versions = new ConcurrentHashMap<>();
    // tools asked early (askVersionEarly), whose answer majorVersion reads
    private final Map<String, Process> asked = new ConcurrentHashMap<>();

    private PgTools(Path binDir) {
        this.binDir = binDir;
    }

    /** Tools from {@code bin-dir}, else {@code PG_BIN}, else PATH, else the newest /usr/lib/postgresql/N/bin. */
    static PgTools find(String configured) {
        // a run of a PostgreSQL tool removes what killed runs left in the private temporary directory
        PrivateScratch.current();
        if (configured != null && !configured.isBlank()) {
            return checked(Path.of(configured), "setting 'bin-dir'");
        }
        String env = System.getenv("PG_BIN");
        if (env != null && !env.isBlank() && Files.isExecutable(Path.of(env, "pg_dump"))) {
            return new PgTools(Path.of(env));
        }
        Optional<Path> found = PgBinaries.onPath("pg_dump").or(() -> PgBinaries.newestDebian("pg_dump"));
        if (found.isPresent()) {
            return new PgTools(found.get());
        }
        throw new ConfigException("pg_dump not found: install the PostgreSQL client (e.g. apt-get install "
                + "postgresql-client) or give setting 'bin-dir' or PG_BIN");
    }

    private static PgTools checked(Path dir, String what) {
        if (!Files.isExecutable(dir.resolve("pg_dump"))) {
            throw new ConfigException(what + " " + dir + " holds no pg_dump");
        }
        return new PgTools(dir);
    }

    Path tool(String name) {
        return binDir.resolve(name);
    }

    /** The major version of a tool, e.g. 15; asked once per tool (a backup asks twice before pg_dump starts). */
    int majorVersion(String tool) throws IOException, InterruptedException {
        Integer known = versions.get(tool);
        if (known == null) {
            Process early = asked.remove(tool);
            known = answer(tool, early != null ? early : ask(tool));
            versions.put(tool, known);
        }
        return known;
    }

    /**
     * Starts asking a tool's version, so that the answer is there when {@link #majorVersion} needs
     * it (a backup asks while its connection opens); a tool that cannot be started is asked again,
     * and reported, by {@link #majorVersion}.
     */
    void askVersionEarly(String tool) {
        if (versions.containsKey(tool) || asked.containsKey(tool)) {
            return;
        }
        try {
            Process p = ask(tool);
            if (asked.putIfAbsent(tool, p) != null) {
                p.destroyForcibly();
            }
        } catch (IOException e) {
            LoggerHolder.LOG.debug("could not ask {} for its version yet: {}", tool, e.getMessage());
        }
    }

    /** Drops the versions asked early and not read (a backup that failed before it needed them). */
    void dropAskedVersions() {
        for (String tool : List.copyOf(asked.keySet())) {
            Process p = asked.remove(tool);
            if (p != null) {
                p.destroyForcibly();
                closeQuietly(p.getInputStream());
            }
        }
    }

    private static void closeQuietly(InputStream in) {
        try {
            in.close();
        } catch (IOException ignored) {
            // a pipe of a process that is gone
        }
    }

    private Process ask(String tool) throws IOException {
        return new ProcessBuilder(tool(tool).toString(), "--version")
                .redirectErrorStream(true)
                .start();
    }

    private int answer(String tool, Process p) throws IOException, InterruptedException {
        String out;
        try (InputStream in = p.getInputStream()) {
            out = new String(in.readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
        } finally {
            p.destroyForcibly(); // already gone unless this thread was interrupted
        }
        Matcher m = VERSION.matcher(out);
        if (!m.find()) {
            throw new DrException(ErrorCode.TARGET, "cannot tell the version of " + tool(tool) + ": " + out.strip());
        }
        return Integer.parseInt(m.group(1));
    }

    /** Refuses a tool older than the server's major version. */
    void requireAtLeast(String tool, int serverMajor) throws IOException, InterruptedException {
        int mine = majorVersion(tool);
        if (mine < serverMajor) {
            throw new ConfigException(tool + " " + mine + " (" + tool(tool) + ") cannot dump a PostgreSQL "
                    + serverMajor + " server; use " + tool + " " + serverMajor
                    + " or newer (setting 'bin-dir' or PG_BIN)");
        }
    }

    /** A started tool; close kills it and whatever it started if it still runs. */
    static final class Run implements AutoCloseable {
        final Process process;
        private final Thread errReader;
        private final ByteArrayOutputStream err = new ByteArrayOutputStream();
        private final PgConnection connection;
        /** Set when the watcher stopped the tool because its thread was interrupted. */
        private volatile boolean stopped;

        /** Watches the thread that started the tool (and reads or writes its pipes) for an interrupt. */
        private final InterruptWatch watch;

        Run(Process process, PgConnection connection) {
            this.process = process;
            this.connection = connection;
            this.errReader = new Thread(() -> keepTail(process.getErrorStream()), "drkit-pg-stderr");
            this.errReader.setDaemon(true);
            this.errReader.start();
            this.watch = InterruptWatch.once("drkit-pg-interrupt", this::stopForInterrupt);
        }

        /**
         * Stops the tool (and what it started) once the thread that started it is interrupted (a
         * signal stopping the command, a scheduler's close): that thread may be blocked reading
         * or writing the tool's pipes, which an interrupt does not end, while the tool waits on
         * the server (a lock, a long index build) for minutes. The pipe then ends, and the thread
         * sees its interrupt at its next wait.
         */
        private void stopForInterrupt() {
            if (process.isAlive()) {
                stopped = true;
                PgProcesses.killTree(process);
            }
        }

        private void keepTail(InputStream in) {
            byte[] buf = new byte[8192];
            try {
                int n;
                while ((n = in.read(buf)) >= 0) {
                    synchronized (err) {
                        if (err.size() > 64 * 1024) {
                            err.reset();
                        }
                        err.write(buf, 0, n);
                    }
                }
            } catch (IOException ignored) {
                // process gone
            }
        }

        /**
         * Waits for the tool and returns its exit code.
         *
         * @throws InterruptedException when the thread is interrupted, or was while the tool ran
         *     (the tool was stopped for it, and its exit code says only that it was killed); the
         *     interrupt stays set
         */
        int await() throws InterruptedException {
            int code = process.waitFor();
            requireNotStopped();
            errReader.join(5000);
            return code;
        }

        /**
         * Throws when the tool was stopped because its thread was interrupted: its pipes then end
         * early or fail ("Stream closed"), which says nothing of the tool itself.
         */
        void requireNotStopped() throws InterruptedException {
            if (stopped) {
                throw new InterruptedException("interrupted while the tool ran");
            }
        }

        /** What the tool wrote to stderr, without the password. */
        String stderr() {
            synchronized (err) {
                String text = err.toString(StandardCharsets.UTF_8);
                return (connection == null ? text : connection.redact(text)).strip();
            }
        }

        @Override
        public void close() {
            watch.close();
            if (process.isAlive()) {
                PgProcesses.killTree(process);
            }
        }
    }

    /** Starts {@code tool args...} against {@code connection}; stdout is left to the caller. */
    Run start(PgConnection connection, String tool, List<String> args) throws IOException {
        List<String> cmd = new ArrayList<>();
        cmd.add(tool(tool).toString());
        cmd.addAll(args);
        ProcessBuilder pb = new ProcessBuilder(PgProcesses.diesWithThisProcess(cmd));
        Map<String, String> env = pb.environment();
        env.remove("PGPASSWORD"); // only the connection's own password, if any
        if (connection != null) {
            env.putAll(connection.toolEnvironment());
        }
        if (tool.equals("psql")) {
            // psql splits a script by its client encoding, which the environment would otherwise
            // choose: a client-only one (SJIS, BIG5, ...) hides quotes inside characters
            env.put("PGCLIENTENCODING", "UTF8");
        }
        return new Run(PgProcesses.start(pb), connection);
    }

    /** Runs a dump tool against {@code conn} with its stdout into {@code artifact}, which it closes. */
    void dump(PgConnection conn, String tool, List<String> args, OutputStream artifact)
            throws IOException, InterruptedException {
        try (Run run = start(conn, tool, args)) {
            drain(conn, tool, run, artifact);
        }
    }

    /**
     * Copies the stdout of a dump tool started with {@link #start} into {@code artifact}, which it
     * closes, and fails unless the tool exits 0. The caller closes {@code run}.
     */
    void drain(PgConnection conn, String tool, Run run, OutputStream artifact)
            throws IOException, InterruptedException {
        run.process.getOutputStream().close();
        try (OutputStream out = artifact;
                InputStream in = run.process.getInputStream()) {
            // larger than transferTo's 8 KiB: fewer calls through the counting, checksum and compression stages
            byte[] buffer = new byte[DUMP_BUFFER];
            int n;
            try {
                while ((n = in.read(buffer)) >= 0) {
                    out.write(buffer, 0, n);
                }
            } catch (IOException e) {
                run.requireNotStopped();
                throw e;
            }
            int code = run.await();
            if (code != 0) {
                throw new DrException(
                        ErrorCode.TARGET,
                        tool + " of " + conn + " failed (exit " + code + "): " + lastLines(run.stderr()));
            }
        }
    }

    /** Streams {@code data} into a tool's stdin; a checksum failure of the data stops the tool. */
    void feed(PgConnection conn, String tool, List<String> args, InputStream data) throws IOException {
        try (Run run = start(conn, tool, args);
                InputStream in = data) {
            Thread drainOut = new Thread(
                    () -> {
                        try {
                            run.process.getInputStream().transferTo(OutputStream.nullOutputStream());
                        } catch (IOException ignored) {
                            // process gone
                        }
                    },
                    "drkit-pg-stdout");
            drainOut.setDaemon(true);
            drainOut.start();
            try (OutputStream stdin = run.process.getOutputStream()) {
                in.transferTo(stdin);
            } catch (DrException e) {
                throw e; // our side failed (e.g. checksum mismatch): the tool is killed on close
            } catch (IOException e) {
                run.requireNotStopped();
                // the tool stopped reading: done early (a selective restore needs only part of the
                // archive) or failed (reported below); read the rest so the checksums are still checked
                if (!run.process.waitFor(30, TimeUnit.SECONDS)) {
                    throw e;
                }
                if (run.process.exitValue() == 0) {
                    in.transferTo(OutputStream.nullOutputStream());
                }
            }
            int code = run.await();
            if (code != 0) {
                throw new DrException(
                        ErrorCode.TARGET,
                        tool + " into " + conn + " failed (exit " + code + "): " + lastLines(run.stderr()));
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DrException(ErrorCode.INTERRUPTED, "interrupted while running " + tool);
        }
    }

    /**
     * The last five lines of a tool's output, on one line, with control characters shown as '?':
     * the output quotes what a backup holds ("Command was: ..."), which a forged one chooses, and
     * the line goes to logs, terminals and notifications.
     */
    static String lastLines(String text) {
        String[] lines = text.split("\n");
        int from = Math.max(0, lines.length - 5);
        return printable(String.join(" | ", Arrays.copyOfRange(lines, from, lines.length)));
    }

    /** {@code text} with each control character (escape sequences, carriage returns, ...) as '?'. */
    static String printable(String text) {
        StringBuilder b = new StringBuilder(text.length());
        text.codePoints().forEach(c -> b.appendCodePoint(Character.isISOControl(c) ? '?' : c));
        return b.toString();
    }
}
