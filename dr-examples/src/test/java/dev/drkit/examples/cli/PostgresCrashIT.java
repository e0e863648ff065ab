package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.spi.support.Json;
import dev.drkit.testkit.PostgresServer;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * kill -9 of the drkit process during a PostgreSQL logical backup or a parallel restore: no
 * file in its temporary directory holds the password or dump data afterwards, no pg_dump or
 * pg_restore outlives it, and the next restore into the same database succeeds.
 */
class PostgresCrashIT {
    private static final String MARKER = "crash-row-" + hex(6);
    private static final String SOURCE = "crash_src";

    @TempDir
    static Path work;

    private static final Map<Process, Path> LOGS = new ConcurrentHashMap<>();

    static PostgresServer pg;
    static Path repo;
    static Path password;
    static Path tmp;

    @BeforeAll
    static void setUp() throws Exception {
        pg = PostgresServer.start();
        repo = work.resolve("repo");
        password = pg.passwordFile(work);
        tmp = Files.createDirectories(work.resolve("java-tmp"));
        pg.createDatabase(SOURCE);
        // a few MB of rows that all carry MARKER, so that dump data is recognisable in any file;
        // the index on gate calls slow_key, which sleeps while the role setting asks for it, so a
        // restore can be caught in the middle of its post-data section
        pg.execute(
                SOURCE,
                String.join(
                        "\n",
                        "CREATE TABLE notes (id serial PRIMARY KEY, body text NOT NULL);",
                        "INSERT INTO notes (body) SELECT '" + MARKER + " ' || i || ' ' || repeat(md5(i::text), 4)",
                        "  FROM generate_series(1, 40000) i;",
                        "CREATE FUNCTION slow_key(i int) RETURNS int LANGUAGE plpgsql IMMUTABLE AS $$",
                        "BEGIN IF current_setting('drkit_test.slow', true) = 'on' THEN PERFORM pg_sleep(1); END IF;",
                        "RETURN i; END $$;",
                        "CREATE TABLE gate (id int PRIMARY KEY);",
                        "INSERT INTO gate SELECT generate_series(1, 120);",
                        "CREATE INDEX gate_slow ON gate (slow_key(id));"));
        ok(drkit(conn(SOURCE, "backup", "postgres-logical", "--name", "crash")));
    }

    @AfterAll
    static void tearDown() {
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void killDuringPgDumpLeavesNoPasswordNoDataAndNoPgDump() throws Exception {
        try (Connection blocker = sequenceLocked()) {
            Process backup = start(conn(SOURCE, "backup", "postgres-logical", "--name", "crash"));
            awaitOrFail(backup, () -> pgDumpWaitingForLock(), "pg_dump waiting for the sequence lock");
            List<ProcessHandle> tools = toolsUnder(backup.toHandle(), "pg_dump");
            assertThat(tools).as("pg_dump processes of the backup").isNotEmpty();
            List<ProcessHandle> all = backup.toHandle().descendants().toList();

            backup.destroyForcibly(); // SIGKILL
            backup.waitFor();

            awaitAllDead(all);
            blocker.rollback();
        }
        ok(drkit(conn(SOURCE, "backup", "postgres-logical", "--name", "crash")));
        assertNoSecretOrDataUnder(tmp);
    }

    @Test
    void sigtermDuringAPgDumpWaitingForALockStopsItAndStoresNothing() throws Exception {
        // drkit reads pg_dump's stdout, which an interrupt does not end: pg_dump waiting on a lock
        // for minutes kept the command past its grace period, and the JVM halted without a word
        int before = backups();
        try (Connection blocker = sequenceLocked()) {
            Process backup = start(conn(SOURCE, "backup", "postgres-logical", "--name", "crash"));
            awaitOrFail(backup, () -> pgDumpWaitingForLock(), "pg_dump waiting for the sequence lock");
            List<ProcessHandle> all = backup.toHandle().descendants().toList();

            backup.destroy(); // SIGTERM
            assertThat(backup.waitFor(60, TimeUnit.SECONDS)).as(output(backup)).isTrue();
            awaitAllDead(all);
            blocker.rollback();

            assertThat(backup.exitValue()).as(output(backup)).isEqualTo(143);
            assertThat(output(backup))
                    .contains("stopped by a signal (Ctrl-C or SIGTERM)")
                    .doesNotContain("Exception");
        }
        assertThat(backups()).as("backups listed").isEqualTo(before);
        assertNoSecretOrDataUnder(tmp);
    }

    /**
     * A parallel restore into {@code into}, caught in its index build, which sleeps a second per
     * row (the role setting the slow index function reads is on for the restore's sessions only).
     */
    private static Process caughtInIndexBuild(String into) throws Exception {
        pg.execute("postgres", "ALTER ROLE postgres SET drkit_test.slow = 'on'");
        try {
            Process restore = start(
                    conn("postgres", "restore", "--name", "crash", "--latest", "--to-database", into, "--jobs", "2"));
            awaitOrFail(restore, () -> activeQuery(into, "CREATE INDEX gate_slow%"), "the restore's index build");
            assertThat(toolsUnder(restore.toHandle(), "pg_restore"))
                    .as("pg_restore processes")
                    .isNotEmpty();
            return restore;
        } finally {
            pg.execute("postgres", "ALTER ROLE postgres RESET drkit_test.slow");
        }
    }

    /**
     * A connection whose open transaction holds the notes sequence locked: pg_dump reads the
     * sequence's value while it builds its table of contents, so a backup stops there (after
     * drkit counted the rows) until the transaction ends.
     */
    private static Connection sequenceLocked() throws SQLException {
        Connection blocker = pg.connect(SOURCE);
        blocker.setAutoCommit(false);
        try (Statement s = blocker.createStatement()) {
            s.execute("ALTER SEQUENCE notes_id_seq OWNER TO postgres");
        }
        return blocker;
    }

    /** How many backups of the test's target the repository lists. */
    private static int backups() throws Exception {
        CliProcess.Result list = drkit("--json", "list", "--name", "crash");
        ok(list);
        return Json.mapper().readTree(list.out()).size();
    }

    @Test
    void killAtRandomPointsOfALogicalBackupLeavesNothingBehind() throws Exception {
        Random random = new Random(20261202L);
        int tries = 5;
        int whilePgDumpRan = 0;
        for (int i = 0; i < tries; i++) {
            Process backup = start(conn(SOURCE, "backup", "postgres-logical", "--name", "crash"));
            awaitOrFail(backup, () -> !toolsUnder(backup.toHandle(), "pg_dump").isEmpty(), "pg_dump to start");
            Thread.sleep(random.nextInt(300));
            List<ProcessHandle> all = backup.toHandle().descendants().toList();
            if (all.stream().anyMatch(p -> isTool(p, "pg_dump") && running(p))) {
                whilePgDumpRan++;
            }
            backup.destroyForcibly();
            backup.waitFor();
            awaitAllDead(all);
            assertNoSecretOrDataUnder(tmp.resolve("drkit-" + uid()), false);
        }
        ok(drkit(conn(SOURCE, "backup", "postgres-logical", "--name", "crash")));
        assertNoSecretOrDataUnder(tmp);
        System.out.printf(
                "kill -9 during logical backup: %d random points tried (%d while pg_dump ran), "
                        + "0 secrets/plaintext left, 0 tools running%n",
                tries, whilePgDumpRan);
    }

    @Test
    void killDuringParallelRestoreThenTheNextRestoreIntoTheSameDatabaseSucceeds() throws Exception {
        String into = "crash_into";
        Process restore = caughtInIndexBuild(into);
        List<ProcessHandle> all = restore.toHandle().descendants().toList();
        assertSpoolIsPrivate();
        restore.destroyForcibly();
        restore.waitFor();
        awaitAllDead(all);
        assertThat(pg.databases())
                .as("the half-restored database is still there")
                .contains(into);

        CliProcess.Result again =
                drkit(conn("postgres", "restore", "--name", "crash", "--latest", "--to-database", into, "--jobs", "2"));
        ok(again);
        assertThat(again.err())
                .as("names the database of the interrupted restore it dropped")
                .contains(into)
                .contains("interrupted restore");
        try (Connection c = pg.connect(into);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(
                        "SELECT count(*), count(*) FILTER (WHERE body LIKE '" + MARKER + "%') FROM notes")) {
            rs.next();
            assertThat(rs.getLong(1)).isEqualTo(40000);
            assertThat(rs.getLong(2)).isEqualTo(40000);
        }
        try (Connection c = pg.connect("postgres");
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT shobj_description(oid, 'pg_database') FROM pg_database "
                        + "WHERE datname = '" + into + "'")) {
            rs.next();
            assertThat(rs.getString(1))
                    .as("the in-progress comment is gone after success")
                    .isNull();
        }
        assertNoSecretOrDataUnder(tmp);
    }

    @Test
    void sigtermDuringParallelRestoreStopsItsToolsAndDropsTheDatabaseItCreated() throws Exception {
        // unlike kill -9, SIGTERM (or Ctrl-C) lets the restore fail as any failed restore does:
        // pg_restore and its workers stopped, the database it created dropped, the spool gone
        String into = "term_into";
        Process restore = caughtInIndexBuild(into);
        List<ProcessHandle> all = restore.toHandle().descendants().toList();
        restore.destroy(); // SIGTERM
        assertThat(restore.waitFor(60, TimeUnit.SECONDS)).as(output(restore)).isTrue();
        awaitAllDead(all);

        assertThat(restore.exitValue()).as(output(restore)).isEqualTo(143);
        assertThat(output(restore))
                .contains("stopped by a signal (Ctrl-C or SIGTERM)")
                .doesNotContain("Exception");
        assertThat(pg.databases())
                .as("the database the stopped restore created")
                .doesNotContain(into);
        assertThat(spools()).as("the restore's spool").isEmpty();
        assertNoSecretOrDataUnder(tmp);
    }

    @Test
    void killAtRandomPointsOfAParallelRestoreLeavesNothingBehind() throws Exception {
        String into = "crash_random";
        Random random = new Random(20261203L);
        int tries = 5;
        int withSpool = 0;
        int withPgRestore = 0;
        pg.execute("postgres", "ALTER ROLE postgres SET drkit_test.slow = 'on'");
        try {
            for (int i = 0; i < tries; i++) {
                Process restore = start(conn(
                        "postgres", "restore", "--name", "crash", "--latest", "--to-database", into, "--jobs", "2"));
                Thread.sleep(random.nextInt(5000));
                List<ProcessHandle> all = restore.toHandle().descendants().toList();
                assertThat(restore.isAlive())
                        .as("the restore runs until killed (its index build takes minutes); %s", output(restore))
                        .isTrue();
                withPgRestore += all.stream().anyMatch(p -> isTool(p, "pg_restore")) ? 1 : 0;
                withSpool += spools().isEmpty() ? 0 : 1;
                restore.destroyForcibly();
                restore.waitFor();
                awaitAllDead(all);
            }
        } finally {
            pg.execute("postgres", "ALTER ROLE postgres RESET drkit_test.slow");
        }
        ok(drkit(conn("postgres", "restore", "--name", "crash", "--latest", "--to-database", into, "--jobs", "2")));
        assertThat(query(into, "SELECT count(*) FROM notes")).isEqualTo(40000);
        assertNoSecretOrDataUnder(tmp);
        System.out.printf(
                "kill -9 during --jobs 2 restore: %d random points tried (%d with the spool written, "
                        + "%d while pg_restore ran), 0 secrets/plaintext left, 0 tools running, next restore succeeded%n",
                tries, withSpool, withPgRestore);
    }

    private static List<Path> spools() throws IOException {
        Path parent = tmp.resolve("drkit-" + uid());
        if (!Files.exists(parent)) {
            return List.of();
        }
        try (Stream<Path> walk = Files.walk(parent)) {
            return walk.filter(p -> p.getFileName().toString().endsWith(".dump"))
                    .toList();
        }
    }

    /** The restore's plaintext spool is a 0600 file in 0700 directories of this user. */
    private static void assertSpoolIsPrivate() throws IOException {
        Path parent = tmp.resolve("drkit-" + uid());
        List<Path> spools = spools();
        assertThat(spools).hasSize(1);
        Path spool = spools.get(0);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(spool, LinkOption.NOFOLLOW_LINKS)))
                .isEqualTo("rw-------");
        for (Path dir = spool.getParent(); dir.startsWith(parent); dir = dir.getParent()) {
            assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS)))
                    .as(dir.toString())
                    .isEqualTo("rwx------");
        }
    }

    private static boolean pgDumpWaitingForLock() {
        return query(
                        SOURCE,
                        "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'drkit' "
                                + "AND wait_event_type = 'Lock' AND query LIKE '%notes_id_seq%'")
                > 0;
    }

    private static boolean activeQuery(String db, String like) {
        return query(
                        "postgres",
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = '" + db
                                + "' AND state = 'active' AND query LIKE '" + like + "'")
                > 0;
    }

    private static long query(String db, String sql) {
        try (Connection c = pg.connect(db);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String[] conn(String db, String... command) {
        List<String> all = new ArrayList<>(List.of(command));
        all.addAll(List.of(
                "--url",
                pg.jdbcUrl(db),
                "--user",
                "postgres",
                "--password-file",
                password.toString(),
                "--bin-dir",
                pg.binDir().toString()));
        return all.toArray(String[]::new);
    }

    private static List<String> jvm() {
        return List.of("-Djava.io.tmpdir=" + tmp);
    }

    private static CliProcess.Result drkit(String... args) throws Exception {
        return CliProcess.run(repo, jvm(), Map.of("TMPDIR", tmp.toString()), args);
    }

    private static Process start(String... args) throws IOException {
        ProcessBuilder pb = CliProcess.builder(repo, jvm(), args);
        pb.environment().put("TMPDIR", tmp.toString());
        Path log = work.resolve("child-" + System.nanoTime() + ".log");
        Process process =
                pb.redirectErrorStream(true).redirectOutput(log.toFile()).start();
        LOGS.put(process, log);
        return process;
    }

    /** What a child printed, for the message of a failed assertion about it. */
    private static String output(Process p) {
        try {
            return "exit " + (p.isAlive() ? "(running)" : p.exitValue()) + ", output:\n"
                    + Files.readString(LOGS.get(p));
        } catch (IOException e) {
            return "output unreadable: " + e.getMessage();
        }
    }

    private static void ok(CliProcess.Result r) {
        assertThat(r.exit()).as(r.out() + r.err()).isZero();
    }

    private static void awaitOrFail(Process p, BooleanSupplier condition, String what) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (!condition.getAsBoolean()) {
            assertThat(p.isAlive())
                    .as("drkit exited before %s: %s", what, output(p))
                    .isTrue();
            assertThat(System.nanoTime()).as("waiting for " + what).isLessThan(deadline);
            Thread.sleep(10);
        }
    }

    /** Waits up to 10 s for every process to be gone (a zombie nobody reaps counts as gone). */
    private static void awaitAllDead(List<ProcessHandle> processes) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        List<ProcessHandle> alive = processes;
        while (!(alive = alive.stream().filter(PostgresCrashIT::running).toList()).isEmpty()
                && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(alive.stream()
                        .map(p -> p.pid() + " " + p.info().commandLine().orElse("?"))
                        .toList())
                .as("processes of the killed drkit still running")
                .isEmpty();
    }

    private static boolean running(ProcessHandle p) {
        try {
            String stat = Files.readString(Path.of("/proc", String.valueOf(p.pid()), "stat"));
            char state = stat.charAt(stat.lastIndexOf(')') + 2);
            return state != 'Z' && state != 'X' && p.isAlive();
        } catch (IOException gone) {
            return false;
        }
    }

    private static List<ProcessHandle> toolsUnder(ProcessHandle parent, String tool) {
        return parent.descendants().filter(p -> isTool(p, tool)).toList();
    }

    private static boolean isTool(ProcessHandle p, String tool) {
        return p.info().command().map(c -> c.endsWith("/" + tool)).orElse(false);
    }

    private static void assertNoSecretOrDataUnder(Path root) throws IOException {
        assertNoSecretOrDataUnder(root, true);
    }

    private static void assertNoSecretOrDataUnder(Path root, boolean mustExist) throws IOException {
        if (!mustExist && !Files.exists(root)) {
            return;
        }
        List<String> found = new ArrayList<>();
        try (Stream<Path> walk = Files.walk(root)) {
            for (Path f : (Iterable<Path>) walk::iterator) {
                if (Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)
                        && containsAny(
                                f,
                                pg.password().getBytes(StandardCharsets.UTF_8),
                                MARKER.getBytes(StandardCharsets.UTF_8))) {
                    found.add(f + " (" + Files.size(f) + " bytes)");
                }
            }
        }
        assertThat(found)
                .as("files under %s holding the password or dump data", root)
                .isEmpty();
    }

    private static boolean containsAny(Path file, byte[]... needles) throws IOException {
        int keep = 0;
        for (byte[] n : needles) {
            keep = Math.max(keep, n.length);
        }
        byte[] buf = new byte[(1 << 16) + keep];
        int have = 0;
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            int n;
            while ((n = in.read(buf, have, buf.length - have)) > 0) {
                have += n;
                for (byte[] needle : needles) {
                    if (indexOf(buf, have, needle) >= 0) {
                        return true;
                    }
                }
                int tail = Math.min(have, keep - 1);
                System.arraycopy(buf, have - tail, buf, 0, tail);
                have = tail;
            }
        }
        return false;
    }

    private static int indexOf(byte[] hay, int length, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (hay[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static long uid() throws IOException {
        return ((Number) Files.getAttribute(Path.of("/proc/self"), "unix:uid")).longValue();
    }

    private static String hex(int bytes) {
        byte[] b = new byte[bytes];
        new SecureRandom().nextBytes(b);
        return HexFormat.of().formatHex(b);
    }
}
