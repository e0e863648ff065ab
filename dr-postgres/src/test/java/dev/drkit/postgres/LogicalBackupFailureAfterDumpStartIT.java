package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupManifest;
import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.Settings;
import dev.drkit.spi.BackupContext;
import dev.drkit.testkit.PostgresServer;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.PrintWriter;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.logging.Logger;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * A logical backup starts pg_dump before its other queries and the artifact: what is left when
 * the backup fails between pg_dump's start and the drain (nothing: no pg_dump, no session).
 */
class LogicalBackupFailureAfterDumpStartIT {
    static PostgresServer pg;

    @TempDir
    Path dir;

    @BeforeAll
    static void startServer() throws Exception {
        pg = PostgresServer.start();
    }

    @AfterAll
    static void stopServer() {
        if (pg != null) {
            pg.close();
        }
    }

    private String freshDatabase() throws Exception {
        String db = "early_" + Long.toHexString(System.nanoTime());
        pg.createDatabase(db);
        pg.execute(db, "CREATE TABLE t (id int); INSERT INTO t SELECT generate_series(1, 100000);");
        return db;
    }

    private Settings connection(String db, Path binDir) throws IOException {
        return Settings.builder()
                .set("url", pg.jdbcUrl(db))
                .set("user", PostgresServer.SUPERUSER)
                .set("password-file", pg.passwordFile(dir).toString())
                .set("bin-dir", binDir.toString())
                .build();
    }

    /** A context whose newArtifact and metadata do what the test says. */
    static final class FakeContext implements BackupContext {
        final List<String> artifacts = new ArrayList<>();
        IOException newArtifactFailure;
        BiConsumer<String, Object> onMetadata = (k, v) -> {};

        @Override
        public String targetName() {
            return "t";
        }

        @Override
        public String backupId() {
            return "b";
        }

        @Override
        public OutputStream newArtifact(String name) throws IOException {
            artifacts.add(name);
            if (newArtifactFailure != null) {
                throw newArtifactFailure;
            }
            return new ByteArrayOutputStream();
        }

        @Override
        public void metadata(String key, Object value) {
            onMetadata.accept(key, value);
        }

        @Override
        public void kind(String kind) {}

        @Override
        public void parent(String backupId) {}

        @Override
        public void dependsOn(String backupId) {}

        @Override
        public void expectBytes(long total) {}

        @Override
        public Optional<BackupManifest> previous() {
            return Optional.empty();
        }

        @Override
        public InputStream openArtifact(BackupManifest earlier, String name) {
            throw new UnsupportedOperationException();
        }

        @Override
        public Clock clock() {
            return Clock.systemUTC();
        }
    }

    /** pg_dump processes of this database anywhere on the host (children, or orphans reparented). */
    private static List<ProcessHandle> pgDumpsOf(String db) {
        return ProcessHandle.allProcesses()
                .filter(p -> p.info()
                                .arguments()
                                .map(a -> String.join(" ", a))
                                .orElse("")
                                .contains("--snapshot=")
                        && p.info()
                                .arguments()
                                .map(a -> List.of(a).contains(db))
                                .orElse(false))
                .toList();
    }

    static String describe(ProcessHandle p) {
        boolean mine = ProcessHandle.current().descendants().anyMatch(d -> d.pid() == p.pid());
        return p.pid() + " parent=" + p.parent().map(ProcessHandle::pid).orElse(-1L) + " descendantOfThisJvm=" + mine
                + " alive=" + p.isAlive() + " cmd=" + p.info().command().orElse("?") + " args="
                + p.info().arguments().map(List::of).orElse(List.of());
    }

    private static long sessions(String db, String where) throws SQLException {
        try (Connection c = pg.connect("postgres");
                PreparedStatement s = c.prepareStatement(
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid() AND "
                                + where)) {
            s.setString(1, db);
            try (ResultSet rs = s.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    private static void assertNothingLeft(String db) throws Exception {
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline && (!pgDumpsOf(db).isEmpty() || sessions(db, "true") > 0)) {
            Thread.sleep(50);
        }
        assertThat(pgDumpsOf(db)).as("pg_dump processes left").isEmpty();
        assertThat(sessions(db, "true")).as("sessions left on " + db).isZero();
    }

    /**
     * A failure milliseconds after pg_dump's start: killing the wrapper with SIGKILL at once
     * (its trap never ran) left the pg_dump it was forking at that moment running, handed to
     * init, in 1 to 9 of 100-200 tries; {@link PgProcesses#killTree} now sends SIGTERM first.
     */
    @Test
    void aRepositoryThatRefusesTheArtifactLeavesNoPgDumpAndNoSession() throws Exception {
        String db = freshDatabase();
        PostgresLogicalTarget target = new PostgresLogicalTarget(connection(db, pg.binDir()));
        List<String> orphans = new ArrayList<>();
        for (int i = 0; i < 120; i++) {
            FakeContext ctx = new FakeContext();
            ctx.newArtifactFailure = new IOException("the repository refused the artifact " + i);
            assertThatThrownBy(() -> target.backup(ctx)).hasMessage("the repository refused the artifact " + i);
            // right away: a pg_dump started before newArtifact that is no child of this JVM any more
            // and still runs half a second on (one killed with its group is handed to init while
            // it dies, for a moment on a loaded host; an escaped one lived on for seconds)
            for (ProcessHandle p : pgDumpsOf(db)) {
                boolean mine = ProcessHandle.current().descendants().anyMatch(d -> d.pid() == p.pid());
                if (p.isAlive() && !mine && p.info().command().orElse("").endsWith("pg_dump")) {
                    String seen = describe(p);
                    // polled here: the JDK looks at a process that is not its child only every 300 ms
                    // or so, and counts a zombie waiting for init as alive
                    long end = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(500);
                    while (PgToolsTest.running(p) && System.nanoTime() - end < 0) {
                        Thread.sleep(10);
                    }
                    if (PgToolsTest.running(p)) {
                        orphans.add("run " + i + ": " + seen);
                        p.onExit().get(30, TimeUnit.SECONDS);
                    }
                }
            }
            assertNothingLeft(db);
        }
        assertThat(orphans).as("pg_dump processes that escaped Run.close").isEmpty();
    }

    /**
     * An interrupt between pg_dump's start and the drain either fails the backup as interrupted
     * (pg_dump still running at await) or, when pg_dump has already exited, is left set for the
     * caller; in both cases nothing is left running.
     */
    @Test
    void anInterruptBetweenPgDumpsStartAndTheDrainLeavesNothingAndKeepsTheFlag() throws Exception {
        String db = freshDatabase();
        PostgresLogicalTarget target = new PostgresLogicalTarget(connection(db, pg.binDir()));
        for (int i = 0; i < 10; i++) {
            FakeContext ctx = new FakeContext();
            ctx.onMetadata = (k, v) -> {
                if (k.equals("databaseSize")) {
                    Thread.currentThread().interrupt(); // a host cancelling the backup at this moment
                }
            };
            Throwable failed = null;
            try {
                target.backup(ctx);
            } catch (Throwable t) {
                failed = t;
            }
            assertThat(Thread.interrupted()).as("interrupt kept").isTrue();
            if (failed != null) {
                assertThat(failed).isInstanceOf(DrException.class).hasMessageContaining("interrupted");
            }
            assertNothingLeft(db);
        }
    }

    @Test
    void aFailingQueryOnTheSnapshotConnectionAfterPgDumpsStartKillsIt() throws Exception {
        String db = freshDatabase();
        PGSimpleDataSource real = new PGSimpleDataSource();
        real.setUrl(pg.jdbcUrl(db));
        real.setUser(PostgresServer.SUPERUSER);
        real.setPassword(pg.password());
        DataSource failing = failingOn(real, "pg_database_size");
        PostgresLogicalTarget target = PostgresLogicalTarget.builder()
                .dataSource(failing)
                .settings(Settings.builder()
                        .set("password-file", pg.passwordFile(dir).toString())
                        .set("bin-dir", pg.binDir().toString())
                        .build())
                .build();
        assertThatThrownBy(() -> target.backup(new FakeContext()))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("injected failure");
        assertNothingLeft(db);
    }

    @Test
    void anOldPgDumpIsRefusedBeforeItDumpsAnything() throws Exception {
        String db = freshDatabase();
        Path bin = Files.createDirectories(dir.resolve("old-bin"));
        Path calls = dir.resolve("calls");
        Path tool = bin.resolve("pg_dump");
        Files.writeString(
                tool,
                "#!/bin/sh\necho \"$*\" >> '" + calls + "'\n"
                        + "if [ \"$1\" = --version ]; then echo 'pg_dump (PostgreSQL) 13.2'; exit 0; fi\n"
                        + "exec '" + pg.binDir().resolve("pg_dump") + "' \"$@\"\n");
        Files.setPosixFilePermissions(tool, PosixFilePermissions.fromString("rwxr-xr-x"));
        PostgresLogicalTarget target = new PostgresLogicalTarget(connection(db, bin));
        assertThatThrownBy(() -> target.backup(new FakeContext()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("pg_dump 13 (" + tool + ") cannot dump a PostgreSQL 15 server");
        assertThat(Files.readAllLines(calls)).containsExactly("--version");
        assertNothingLeft(db);
    }

    private static long openFds() throws IOException {
        try (var s = Files.list(Path.of("/proc/self/fd"))) {
            return s.count();
        }
    }

    @Test
    void theVersionAskedEarlyLeavesNoProcessAndNoDescriptorWhenTheConnectionFails() throws Exception {
        String db = freshDatabase();
        Path wrong = Files.writeString(dir.resolve("wrong"), "wrong-password\n");
        Files.setPosixFilePermissions(wrong, PosixFilePermissions.fromString("rw-------"));
        Settings s = connection(db, pg.binDir()).toBuilder()
                .set("password-file", wrong.toString())
                .build();
        PostgresLogicalTarget target = new PostgresLogicalTarget(s);
        assertThatThrownBy(() -> target.backup(new FakeContext())); // warm: classes, threads
        long before = openFds();
        for (int i = 0; i < 30; i++) {
            assertThatThrownBy(() -> target.backup(new FakeContext())).hasMessageContaining("password");
        }
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (System.nanoTime() < deadline && !pgDumpChildren().isEmpty()) {
            Thread.onSpinWait(); // versions asked early end by themselves
        }
        assertThat(pgDumpChildren()).as("pg_dump children left").isEmpty();
        assertThat(openFds()).as("descriptors after 30 failed backups").isLessThanOrEqualTo(before + 5);
    }

    private static List<ProcessHandle.Info> pgDumpChildren() {
        return ProcessHandle.current()
                .descendants()
                .filter(ProcessHandle::isAlive)
                .filter(p -> p.info().command().orElse("").endsWith("pg_dump"))
                .map(ProcessHandle::info)
                .toList();
    }

    /** A DataSource whose connections fail any statement whose SQL contains {@code marker}. */
    static DataSource failingOn(DataSource real, String marker) {
        return (DataSource) Proxy.newProxyInstance(
                LogicalBackupFailureAfterDumpStartIT.class.getClassLoader(),
                new Class<?>[] {DataSource.class},
                (proxy, m, args) -> {
                    if (m.getName().equals("getConnection")) {
                        Connection c = (Connection) invoke(m, real, args);
                        return failingConnection(c, marker);
                    }
                    if (m.getName().equals("getParentLogger")) {
                        return Logger.getGlobal();
                    }
                    if (m.getName().equals("getLogWriter")) {
                        return (PrintWriter) null;
                    }
                    return invoke(m, real, args);
                });
    }

    private static Connection failingConnection(Connection c, String marker) {
        return (Connection) Proxy.newProxyInstance(
                LogicalBackupFailureAfterDumpStartIT.class.getClassLoader(),
                new Class<?>[] {Connection.class},
                (proxy, m, args) -> {
                    if (m.getName().equals("prepareStatement") && ((String) args[0]).contains(marker)) {
                        throw new SQLException("injected failure of " + marker, "XX000");
                    }
                    if (m.getName().equals("createStatement")) {
                        Statement s = (Statement) invoke(m, c, args);
                        return Proxy.newProxyInstance(
                                LogicalBackupFailureAfterDumpStartIT.class.getClassLoader(),
                                new Class<?>[] {Statement.class},
                                (p2, m2, a2) -> {
                                    if (a2 != null
                                            && a2.length > 0
                                            && a2[0] instanceof String sql
                                            && sql.contains(marker)) {
                                        throw new SQLException("injected failure of " + marker, "XX000");
                                    }
                                    return invoke(m2, s, a2);
                                });
                    }
                    return invoke(m, c, args);
                });
    }

    private static Object invoke(Method m, Object target, Object[] args) throws Throwable {
        try {
            return m.invoke(target, args);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }
}
