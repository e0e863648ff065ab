package dev.drkit.postgres.launcher;

import dev.drkit.DrException;
import dev.drkit.spi.support.OrphanGuard;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A local PostgreSQL cluster: created with initdb (UTF-8, locale C, SCRAM passwords over TCP,
 * superuser {@value #SUPERUSER}) or an existing data directory (a restored one), started with
 * {@code pg_ctl} on a loopback port, stopped cleanly or as if the machine lost power.
 *
 * <p>PostgreSQL refuses to run as root. Run as root, the programs run as
 * {@link ServerProcesses#serviceUser()} (the {@code postgres} system user when there is one,
 * else {@code nobody}) via {@code runuser}, and the caller gives that user the directories
 * with {@link ServerProcesses#giveToServiceUser(Path)}.
 *
 * <p>A started cluster lives as long as this process: if the process dies without stopping it
 * (SIGKILL, the OOM killer), a small guard process stops the server ({@link OrphanGuard}); its
 * files stay.
 *
 * <p>A failing program raises a {@link DrException} quoting its last lines and the server log's.
 * Not thread-safe; one instance per cluster.
 */
public final class PostgresLauncher {
    private static final Logger LOG = LoggerFactory.getLogger(PostgresLauncher.class);

    /** The superuser of a cluster this class creates. */
    public static final String SUPERUSER = "postgres";

    private final Path bin;
    private final Path data;
    private final Path log;
    private final int port;
    private final String password;
    private final Path socketDir;
    private final Map<String, String> serverOptions;
    private final Duration startTimeout;
    private final boolean dataChecksums;
    private boolean running;
    /** Stops the server if this process dies without stopping it; null while none runs. */
    private OrphanGuard guard;

    private PostgresLauncher(Builder b) throws IOException {
        this.bin = b.bin;
        this.data = b.data;
        this.log = b.log != null ? b.log : b.data.resolveSibling(b.data.getFileName() + ".log");
        this.port = b.port > 0 ? b.port : ServerProcesses.freePort();
        this.password = b.password != null ? b.password : randomPassword();
        this.socketDir = b.socketDir;
        this.serverOptions = Map.copyOf(b.serverOptions);
        this.startTimeout = b.startTimeout;
        this.dataChecksums = b.dataChecksums;
    }

    /**
     * A cluster in {@code dataDir} run with the server binaries in {@code bin}.
     *
     * @param bin the directory holding initdb, pg_ctl and postgres (see {@link PostgresBinaries})
     * @param dataDir the data directory: a new one for {@link #initdb}, or an existing one
     */
    public static Builder builder(Path bin, Path dataDir) {
        return new Builder(bin, dataDir);
    }

    /** How to run a cluster; {@link #build()} picks a free port and a password unless given. */
    public static final class Builder {
        private final Path bin;
        private final Path data;
        private Path log;
        private int port;
        private String password;
        private Path socketDir;
        private final Map<String, String> serverOptions = new LinkedHashMap<>();
        private Duration startTimeout = Duration.ofMinutes(10);
        private boolean dataChecksums;

        private Builder(Path bin, Path data) {
            this.bin = requireNonNull(bin, "bin");
            this.data = requireNonNull(data, "dataDir");
        }

        /** The server log; default {@code <dataDir>.log} beside the data directory. */
        public Builder log(Path log) {
            this.log = requireNonNull(log, "log");
            return this;
        }

        /** The superuser password: the one of the cluster an existing data directory came from; default random. */
        public Builder password(String password) {
            this.password = requireNonNull(password, "password");
            return this;
        }

        /** Where the server's Unix socket goes; default none (TCP on loopback only). */
        public Builder socketDirectory(Path dir) {
            this.socketDir = requireNonNull(dir, "dir");
            return this;
        }

        /** A setting given to the server on its command line at every start ({@code -c name=value}). */
        public Builder serverOption(String name, String value) {
            serverOptions.put(requireNonNull(name, "name"), requireNonNull(value, "value"));
            return this;
        }

        /** How long {@link #start()} waits for the server to accept connections; default 10 minutes. */
        public Builder startTimeout(Duration timeout) {
            if (timeout.isNegative() || timeout.isZero()) {
                throw new IllegalArgumentException("start timeout must be positive: " + timeout);
            }
            this.startTimeout = timeout;
            return this;
        }

        /** Whether {@link #initdb} turns data page checksums on ({@code --data-checksums}); default off. */
        public Builder dataChecksums(boolean on) {
            this.dataChecksums = on;
            return this;
        }

        /** The launcher; nothing is run yet. */
        public PostgresLauncher build() throws IOException {
            return new PostgresLauncher(this);
        }
    }

    /**
     * Creates the cluster with initdb and appends {@code settings} to its
     * {@code postgresql.conf} (values quoted as needed). The data directory's parent holds a
     * password file for the moment initdb runs; when root, give the parent to
     * {@link ServerProcesses#serviceUser()} first.
     */
    public void initdb(Map<String, String> settings) throws IOException {
        Path pwfile = data.toAbsolutePath().resolveSibling("." + data.getFileName() + ".pwfile");
        Files.deleteIfExists(pwfile);
        Files.createFile(pwfile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(pwfile, password + "\n");
        try {
            ServerProcesses.own(pwfile);
            List<String> command = new ArrayList<>(List.of(
                    bin.resolve("initdb").toString(),
                    "-D",
                    data.toString(),
                    "-U",
                    SUPERUSER,
                    "--pwfile=" + pwfile,
                    "--auth-local=trust",
                    "--auth-host=scram-sha-256",
                    "-E",
                    "UTF8",
                    "--locale=C",
                    "--no-sync"));
            if (dataChecksums) {
                command.add("--data-checksums");
            }
            run(command, Duration.ofMinutes(2));
        } finally {
            Files.deleteIfExists(pwfile);
        }
        if (!settings.isEmpty()) {
            StringBuilder conf = new StringBuilder("\n# drkit launcher settings\n");
            settings.forEach((k, v) ->
                    conf.append(k).append(" = '").append(v.replace("'", "''")).append("'\n"));
            Files.writeString(data.resolve("postgresql.conf"), conf.toString(), StandardOpenOption.APPEND);
        }
    }

    /**
     * Starts the server on its loopback port and waits until it accepts connections (a
     * restored cluster recovers as its signal files and settings say).
     */
    public void start() {
        StringBuilder options = new StringBuilder("-p " + port + " -c listen_addresses=127.0.0.1");
        options.append(socketDir == null ? " -c unix_socket_directories=''" : " -k " + socketDir);
        serverOptions.forEach(
                (k, v) -> options.append(" -c ").append(k).append('=').append(v));
        // guarded from the moment it writes its pid file, not only once it accepts connections
        // (a recovery may take minutes), and also when the start times out
        closeGuard(); // one started before, by a start that did not stop
        try {
            guard = OrphanGuard.serverOnly("QUIT");
        } catch (IOException e) {
            LOG.warn(
                    "the server of {} is not guarded ({}): if this process dies, stop it with pg_ctl",
                    data,
                    e.getMessage());
        }
        try (OrphanGuard.Watch watch =
                guard == null ? null : guard.watch(data.resolve("postmaster.pid"), data, "postgres")) {
            run(
                    List.of(
                            bin.resolve("pg_ctl").toString(),
                            "-D",
                            data.toString(),
                            "-l",
                            log.toString(),
                            "-w",
                            "-t",
                            String.valueOf(startTimeout.toSeconds()),
                            "-o",
                            options.toString(),
                            "start"),
                    startTimeout.plusMinutes(1));
        }
        running = true;
        if (guard != null && !guard.known()) {
            LOG.warn("the server of {} is not guarded: if this process dies, stop it with pg_ctl", data);
        }
    }

    private void closeGuard() {
        OrphanGuard.close(guard);
        guard = null;
    }

    /**
     * Stops the server if this launcher started it or its {@code postmaster.pid} says it runs:
     * {@code fast} (clean shutdown, a checkpoint) or, with {@code crash}, {@code immediate} (as
     * if the machine lost power: recovery runs at the next start).
     */
    public void stop(boolean crash) {
        if (running || Files.exists(data.resolve("postmaster.pid"))) {
            run(
                    List.of(
                            bin.resolve("pg_ctl").toString(),
                            "-D",
                            data.toString(),
                            "-m",
                            crash ? "immediate" : "fast",
                            "-w",
                            "stop"),
                    Duration.ofMinutes(2));
            running = false;
        }
        closeGuard();
    }

    /**
     * Makes {@code standbyData} (which must not exist) a streaming standby of this cluster and
     * returns its launcher, not started: the same binaries, server options and superuser password,
     * a free port, its log beside its data directory. Works with any server binaries (no
     * {@code pg_basebackup} needed): this cluster is stopped cleanly, its data directory copied and
     * it is started again (a second or two), so call it before clients connect. The standby
     * replicates as the superuser over loopback ({@code primary_conninfo} with a 0600
     * {@code passfile} beside its data directory, owned by the service user) and runs as a hot
     * standby ({@code standby.signal}). When root, the caller gives the standby's parent directory
     * to {@link ServerProcesses#serviceUser()} first, as for {@link #initdb}.
     *
     * @param standbyData a path without spaces or quotes (it goes into a connection string)
     * @throws IOException when the copy fails
     * @throws IllegalArgumentException when {@code standbyData} exists or has spaces or quotes
     */
    public PostgresLauncher createStandby(Path standbyData) throws IOException {
        Path abs = standbyData.toAbsolutePath();
        if (Files.exists(abs, LinkOption.NOFOLLOW_LINKS)) {
            throw new IllegalArgumentException("the standby's data directory must not exist yet: " + abs);
        }
        if (abs.toString().matches(".*[\\s'\"\\\\].*")) {
            throw new IllegalArgumentException("the standby's data directory must have no spaces or quotes: " + abs);
        }
        boolean wasRunning = running || Files.exists(data.resolve("postmaster.pid"));
        stop(false); // a clean shutdown: the copy is consistent without a backup label
        try {
            copyTree(data, abs);
        } finally {
            if (wasRunning) {
                start();
            }
        }
        Files.deleteIfExists(abs.resolve("postmaster.pid"));
        Files.deleteIfExists(abs.resolve("postmaster.opts"));
        Path passfile = abs.resolveSibling("." + abs.getFileName() + ".pgpass");
        Files.deleteIfExists(passfile);
        Files.createFile(passfile, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(passfile, "127.0.0.1:" + port + ":*:" + SUPERUSER + ":" + password + "\n");
        Files.writeString(
                abs.resolve("postgresql.auto.conf"),
                "\n# drkit launcher: streaming standby\nprimary_conninfo = 'host=127.0.0.1 port=" + port + " user="
                        + SUPERUSER + " passfile=" + passfile + " application_name=drkit_standby'\n",
                StandardOpenOption.APPEND);
        Files.createFile(abs.resolve("standby.signal"));
        ServerProcesses.own(abs);
        ServerProcesses.own(passfile);
        Builder b = builder(bin, abs).password(password).startTimeout(startTimeout);
        serverOptions.forEach(b::serverOption);
        return b.build();
    }

    private static void copyTree(Path from, Path to) throws IOException {
        try (Stream<Path> walk = Files.walk(from)) {
            for (Path p : walk.toList()) {
                Files.copy(
                        p,
                        to.resolve(from.relativize(p).toString()),
                        StandardCopyOption.COPY_ATTRIBUTES,
                        LinkOption.NOFOLLOW_LINKS);
            }
        }
    }

    /** Waits until recovery has finished and the server accepts writes. */
    public void awaitPromotion(Duration timeout) throws SQLException {
        awaitPromotion(() -> connect("postgres"), timeout, "; see " + log);
    }

    /** A source of connections to a server that may still be starting. */
    @FunctionalInterface
    public interface Connector {
        /** A new connection. */
        Connection open() throws SQLException;
    }

    /**
     * Polls {@code pg_is_in_recovery()} until it is false.
     *
     * @param hint ends the message of a timeout
     * @throws SQLException when the server still recovers (or cannot be reached) after {@code timeout}
     */
    public static void awaitPromotion(Connector server, Duration timeout, String hint) throws SQLException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try (Connection c = server.open();
                    Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SELECT pg_is_in_recovery()")) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    return;
                }
            } catch (SQLException e) {
                if (System.nanoTime() > deadline) {
                    throw new SQLException(e.getMessage() + hint, e);
                }
            }
            if (System.nanoTime() > deadline) {
                throw new SQLException("recovery did not finish within " + timeout.toSeconds() + " s" + hint);
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SQLException("interrupted while waiting for recovery", e);
            }
        }
    }

    public Path dataDir() {
        return data;
    }

    public Path log() {
        return log;
    }

    public Path binDir() {
        return bin;
    }

    public int port() {
        return port;
    }

    /** The superuser's password; keep it out of logs. */
    public String password() {
        return password;
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    /** A new connection as the superuser. */
    public Connection connect(String database) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(database), SUPERUSER, password);
    }

    /** Writes the superuser password to a new 0600 file, as a {@code password-file} setting reads it. */
    public Path writePasswordFile(Path file) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, password + "\n");
        return file;
    }

    @Override
    public String toString() {
        return "PostgresLauncher[" + data + ", port " + port + "]";
    }

    private void run(List<String> command, Duration timeout) {
        // from beside the data directory, which the service user can enter, whatever this process's directory
        ServerProcesses.run(
                command,
                ServerProcesses.serviceUser(),
                timeout,
                log,
                data.toAbsolutePath().getParent());
    }

    private static String randomPassword() {
        byte[] secret = new byte[12];
        new SecureRandom().nextBytes(secret);
        return HexFormat.of().formatHex(secret);
    }

    private static <T> T requireNonNull(T value, String what) {
        if (value == null) {
            throw new IllegalArgumentException(what + " is required");
        }
        return value;
    }
}
