package dev.drkit.postgres;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finds and runs the PostgreSQL client tools (pg_dump, pg_dumpall, pg_restore, psql) with a
 * private environment: the password travels in a 0600 pgpass file in a private temporary
 * directory that is removed afterwards, never in arguments.
 */
final class PgTools {
    private static final class LoggerHolder {
        static final org.slf4j.Logger LOG = org.slf4j.LoggerFactory.getLogger(PgTools.class);
    }

    private static final Pattern VERSION = Pattern.compile("\\(PostgreSQL\\)\\s+(\\d+)(?:\\.(\\d+))?");

    private final Path binDir;

    private PgTools(Path binDir) {
        this.binDir = binDir;
    }

    /** Tools from {@code bin-dir}, else {@code PG_BIN}, else PATH, else the newest /usr/lib/postgresql/N/bin. */
    static PgTools find(String configured) {
        if (configured != null && !configured.isBlank()) {
            return checked(Path.of(configured), "--bin-dir");
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
                + "postgresql-client) or give --bin-dir / PG_BIN");
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

    /** The major version of a tool, e.g. 15. */
    int majorVersion(String tool) throws IOException, InterruptedException {
        Process p = new ProcessBuilder(tool(tool).toString(), "--version").redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor();
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
                    + serverMajor + " server; use " + tool + " " + serverMajor + " or newer (--bin-dir DIR or PG_BIN)");
        }
    }

    /** A started tool with its private directory; close removes the directory and kills the process. */
    static final class Run implements AutoCloseable {
        final Process process;
        private final Path privateDir;
        private final Thread errReader;
        private final ByteArrayOutputStream err = new ByteArrayOutputStream();
        private final PgConnection connection;

        Run(Process process, Path privateDir, PgConnection connection) {
            this.process = process;
            this.privateDir = privateDir;
            this.connection = connection;
            this.errReader = new Thread(() -> keepTail(process.getErrorStream()), "drkit-pg-stderr");
            this.errReader.setDaemon(true);
            this.errReader.start();
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

        /** Waits for the tool and returns its exit code. */
        int await() throws InterruptedException {
            int code = process.waitFor();
            errReader.join(5000);
            return code;
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
            if (process.isAlive()) {
                process.destroyForcibly();
            }
            try {
                dev.drkit.core.files.FileTrees.delete(privateDir); // the pgpass file goes with it
            } catch (RuntimeException e) {
                LoggerHolder.LOG.warn("could not remove {}: {}", privateDir, e.getMessage());
            }
        }
    }

    /** Starts {@code tool args...} against {@code connection}; stdout is left to the caller. */
    Run start(PgConnection connection, String tool, List<String> args) throws IOException {
        Path privateDir = Files.createTempDirectory("drkit-pg-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try {
            List<String> cmd = new ArrayList<>();
            cmd.add(tool(tool).toString());
            cmd.addAll(args);
            ProcessBuilder pb = new ProcessBuilder(cmd);
            Map<String, String> env = pb.environment();
            env.remove("PGPASSWORD"); // only the private pgpass file carries it
            if (connection != null) {
                env.putAll(connection.toolEnvironment(privateDir.resolve("pgpass")));
            }
            return new Run(pb.start(), privateDir, connection);
        } catch (IOException | RuntimeException e) {
            Files.deleteIfExists(privateDir.resolve("pgpass"));
            Files.deleteIfExists(privateDir);
            throw e;
        }
    }
}
