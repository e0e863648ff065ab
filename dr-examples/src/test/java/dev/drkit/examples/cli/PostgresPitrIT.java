package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.spi.support.Json;
import dev.drkit.spi.support.LoopbackPorts;
import dev.drkit.testkit.PostgresServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The physical PostgreSQL issue's "tried as a new user would": archive_command runs the jar's
 * wal-push, a base backup, rows inserted, the time noted, half a table deleted, a point-in-time
 * restore to that time into a new directory, started: exactly the rows of that time, and the
 * live cluster untouched. Every drkit command runs as the cluster's owner, as it would on a
 * database host (the tests run as root in CI).
 */
class PostgresPitrIT {
    static final boolean ROOT = "root".equals(System.getProperty("user.name"));

    Path work;
    Path jar;
    Path repo;
    Path password;
    PostgresServer live;
    PostgresServer restored;
    Path bin;

    @BeforeEach
    void setUp() throws Exception {
        work = Files.createTempDirectory(
                Path.of("/tmp"),
                "drkit-pitr-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        jar = work.resolve("drkit.jar");
        Files.copy(CliProcess.JAR, jar, StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(jar, PosixFilePermissions.fromString("rw-r--r--"));
        repo = work.resolve("repo");
    }

    /** Starts the live cluster, archiving WAL with the jar's wal-push or not archiving at all. */
    private void startLive(String version, boolean archiveCommand) throws Exception {
        startLive(version, archiveCommand ? walPush() : null);
    }

    /** Starts the live cluster, archiving WAL with {@code archiveCommand} (none when null). */
    private void startLive(String version, String archiveCommand) throws Exception {
        bin = PostgresServer.binaries(version);
        live = PostgresServer.start(
                bin,
                archiveCommand != null ? Map.of("archive_mode", "on", "archive_command", archiveCommand) : Map.of());
        password = live.passwordFile(work);
        chownToPostgres(work);
    }

    /** The archive_command that pushes into the test's repository with the jar. */
    private String walPush() {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        return "'" + java + "' -jar '" + jar + "' --repo '" + repo + "' wal-push %p";
    }

    @AfterEach
    void tearDown() throws IOException {
        if (restored != null) {
            restored.close();
        }
        if (live != null) {
            live.close();
        }
        // an archive_command started just before the servers stopped may still be writing
        for (int attempt = 0; ; attempt++) {
            try {
                FileTrees.delete(work);
                return;
            } catch (RuntimeException e) {
                if (attempt == 50) {
                    throw e;
                }
                try {
                    Thread.sleep(200);
                } catch (InterruptedException interrupted) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private static void chownToPostgres(Path dir) throws IOException, InterruptedException {
        if (ROOT) {
            Process p = new ProcessBuilder("chown", "-R", "postgres:postgres", dir.toString())
                    .inheritIO()
                    .start();
            assertThat(p.waitFor()).isZero();
        }
    }

    /** Runs the jar as the cluster's owner. */
    private CliProcess.Result drkit(String... args) throws IOException, InterruptedException {
        Process p = drkitProcess(args);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(10, TimeUnit.MINUTES)).isTrue();
        return new CliProcess.Result(p.exitValue(), out, err);
    }

    private Process drkitProcess(Path log, String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (ROOT) {
            cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        cmd.addAll(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                jar.toString(),
                "--repo",
                repo.toString()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd)
                .directory(work.toFile())
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
    }

    private Process drkitProcess(String... args) throws IOException {
        List<String> cmd = new ArrayList<>();
        if (ROOT) {
            cmd.addAll(List.of("runuser", "-u", "postgres", "--"));
        }
        cmd.addAll(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                jar.toString(),
                "--repo",
                repo.toString()));
        cmd.addAll(List.of(args));
        return new ProcessBuilder(cmd).directory(work.toFile()).start();
    }

    /**
     * Waits up to a minute for a row of {@code pg_stat_replication} on {@code pg} matching
     * {@code where} (the streamer connected, or reported a position flushed); fails with the
     * streamer's log when it exits or the minute passes.
     */
    private static void awaitReplication(
            PostgresServer pg, String where, Process streamer, Callable<String> log, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (count(pg, "SELECT count(*) FROM pg_stat_replication WHERE " + where) == 0) {
            if (!streamer.isAlive()) {
                throw new AssertionError("wal-stream exited: " + log.call());
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError(what + ":\n" + log.call());
            }
            Thread.sleep(100);
        }
    }

    private static long count(PostgresServer pg, String sql) throws Exception {
        try (Connection c = pg.connect("postgres");
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** Waits up to 60 s until no WAL file waits for archive_command (no .ready status file). */
    private static void awaitArchiverIdle(PostgresServer pg) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        String ready = "SELECT count(*) FROM pg_ls_archive_statusdir() WHERE name LIKE '%.ready'";
        while (count(pg, ready) > 0) {
            assertThat(System.nanoTime())
                    .as("the archiver pushes every ready WAL file within 60 s")
                    .isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    private static String text(PostgresServer pg, String sql) throws Exception {
        try (Connection c = pg.connect("postgres");
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    /** Switches WAL and waits until the archiver has stored the segment it closed. */
    private static void switchAndAwaitArchive(PostgresServer live) throws Exception {
        // a commit first: with nothing written since the last switch (a backup's stop switches),
        // pg_switch_wal does nothing and names a segment that is not closed
        text(live, "SELECT pg_current_xact_id()::text");
        String segment = text(live, "SELECT pg_walfile_name(pg_switch_wal())");
        // one JVM start per segment: on a loaded machine a backlog takes minutes
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (true) {
            String last = text(live, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver");
            if (last.compareTo(segment) >= 0) {
                return;
            }
            if (System.nanoTime() > deadline) {
                Process ps = new ProcessBuilder("sh", "-c", "ps -eo pid,etime,args | grep '[w]al-push'")
                        .redirectErrorStream(true)
                        .start();
                String pushes = new String(ps.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
                throw new AssertionError("segment " + segment + " was not archived; wal-push processes:\n" + pushes
                        + "archiver: "
                        + text(
                                live,
                                "SELECT archived_count || ' archived, last ' || coalesce(last_archived_wal, '-') || ', '"
                                        + " || failed_count || ' failures, last ' || coalesce(last_failed_wal, '-') "
                                        + "FROM pg_stat_archiver")
                        + "\n" + Files.readString(live.log()));
            }
            Thread.sleep(200);
        }
    }

    static Stream<String> versions() {
        // -Dpitr.majors=18 runs one major only, while working on it
        String only = System.getProperty("pitr.majors", "");
        return Stream.of(
                        "15",
                        System.getProperty("pg16.version", "16.9.0"),
                        System.getProperty("pg17.version", "17.5.0"),
                        System.getProperty("pg18.version", "18.2.0"))
                .filter(v -> only.isEmpty() || Arrays.asList(only.split(",")).contains(v.split("\\.")[0]));
    }

    /**
     * The oldest and the newest major, for the longer scenarios: the page and WAL layouts they
     * read are the same from 15 to 18, and every major still runs the point-in-time restore. The
     * whole matrix costs about three CI minutes more: {@code -Dpitr.matrix=full}.
     */
    static Stream<String> edgeVersions() {
        List<String> all = versions().collect(Collectors.toList());
        if ("full".equals(System.getProperty("pitr.matrix", "")) || all.size() <= 2) {
            return all.stream();
        }
        return Stream.of(all.get(0), all.get(all.size() - 1));
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("versions")
    void pointInTimeRestoreBringsBackExactlyTheRowsOfThatTime(String version) throws Exception {
        startLive(version, true);
        live.execute(
                "postgres",
                "CREATE TABLE orders (id int PRIMARY KEY, note text);"
                        + "INSERT INTO orders SELECT i, 'before backup ' || i FROM generate_series(1, 1000) i;");

        backupPgMain();

        // restore test: a scratch cluster from the backup and its WAL, started, queried, removed
        CliProcess.Result verify = drkit(restoreTest("SELECT count(*) = 1000 FROM orders"));
        assertThat(verify.exit()).as(verify.out() + verify.err()).isZero();
        assertThat(verify.out())
                .contains("pg-physical-restore-test")
                .contains("restoreSeconds")
                .doesNotContain("FAILED");

        String t = insertNoteTheTimeAndDeleteHalf();

        // status judges the RPO on the WAL archived since the backup, and says how far it reaches
        CliProcess.Result status = drkit("status", "--no-checklist");
        assertThat(status.out())
                .as(status.err())
                .containsPattern(
                        "pg-main: point-in-time recovery reaches 20[0-9-]+ [0-9:]+Z \\([0-9.]+(s|min|h) ago, the "
                                + "newest WAL archived without a gap since the newest backup\\)");

        Path target = work.resolve("restored");
        CliProcess.Result restore =
                drkit("restore", "--name", "pg-main", "--latest", "--to", target.toString(), "--time", t);
        assertThat(restore.exit()).as(restore.out() + restore.err()).isZero();
        assertThat(Files.readString(target.resolve("postgresql.auto.conf")))
                .contains("recovery_target_time = '" + t.replace("T", " ").replace("Z", "+00:00"))
                .contains("wal-fetch %f %p");
        assertThat(target.resolve("recovery.signal")).exists();

        startRestoredWithTheRowsOfThatTime(target);
        assertThat(count(live, "SELECT count(*) FROM orders")).isEqualTo(1000); // the live cluster was not touched
        assertThat(Files.readString(restored.log())).contains("recovery stopping before commit");

        // the running copy is never overwritten without --force
        CliProcess.Result again =
                drkit("restore", "--name", "pg-main", "--latest", "--to", target.toString(), "--time", t);
        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.err()).contains("not empty").contains("--force");
        assertThat(count(restored, "SELECT count(*) FROM orders")).isEqualTo(2000);

        // restore_command's exit codes: 1 for a file the repository does not hold, 255 for errors
        assertThat(drkit("wal-fetch", "00000099.history", "x", "--pgdata", target.toString())
                        .exit())
                .isEqualTo(1);
        CliProcess.Result broken = drkit(
                "wal-fetch",
                "000000010000000000000001",
                "x",
                "--pgdata",
                work.resolve("no-such-cluster").toString());
        assertThat(broken.exit()).isEqualTo(255);
        assertThat(broken.err()).contains("pg_control").contains("--pgdata").doesNotContain("WalArchive");

        // a timeline switch: the promoted copy writes on timeline 2 and archives it; a second
        // restore from the same base backup follows the timeline history to a time on timeline 2
        assertThat(text(restored, "SELECT timeline_id FROM pg_control_checkpoint()"))
                .isEqualTo("2");
        restored.execute(
                "postgres", "INSERT INTO orders SELECT i, 'timeline 2 ' || i FROM generate_series(5001, 5500) i;");
        Thread.sleep(300);
        String t2 = text(
                restored, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
        Thread.sleep(1100);
        restored.execute("postgres", "DELETE FROM orders");
        switchAndAwaitArchive(restored);
        restored.close();
        restored = null;
        try (Stream<Path> s = Files.walk(repo.resolve("wal"))) {
            assertThat(s.map(p -> p.getFileName().toString())).contains("00000002.history.zst");
        }

        Path second = work.resolve("restored-2");
        CliProcess.Result onTimeline2 =
                drkit("restore", "--name", "pg-main", "--latest", "--to", second.toString(), "--time", t2);
        assertThat(onTimeline2.exit()).as(onTimeline2.err()).isZero();
        restored = PostgresServer.startExisting(bin, second, live.password());
        restored.awaitRecoveryEnd(Duration.ofMinutes(3));
        assertThat(count(restored, "SELECT count(*) FROM orders")).isEqualTo(2500);
        assertThat(text(restored, "SELECT timeline_id FROM pg_control_checkpoint()"))
                .isEqualTo("3");

        // WAL retention: with a newer base backup kept alone, WAL before its start goes, history files stay
        CliProcess.Result newer = drkit(
                "backup",
                "postgres",
                "--name",
                "pg-main",
                "--url",
                live.jdbcUrl("postgres"),
                "--user",
                "postgres",
                "--password-file",
                password.toString());
        assertThat(newer.exit()).as(newer.err()).isZero();
        // the backup history file of the newer backup is archived in the background: wait until
        // the archiver has nothing left, so that the listing below sees finished pushes only
        awaitArchiverIdle(live);
        String walStart = String.valueOf(
                Json.mapper()
                        .readTree(drkit("--json", "list", "--name", "pg-main").out())
                        .findValues("walStart")
                        .stream()
                        .map(n -> n.asText())
                        .max(String::compareTo)
                        .orElseThrow());
        CliProcess.Result dry = drkit("prune", "--name", "pg-main", "--keep-last", "1", "--dry-run");
        assertThat(dry.exit()).as(dry.err()).isZero();
        assertThat(dry.out()).contains("would be removed");
        CliProcess.Result prune = drkit("prune", "--name", "pg-main", "--keep-last", "1");
        assertThat(prune.exit()).as(prune.err()).isZero();
        assertThat(prune.out()).contains("archived WAL file(s) no kept backup needs removed");
        List<String> left;
        try (Stream<Path> s = Files.walk(repo.resolve("wal"))) {
            left = s.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".zst"))
                    .toList();
        }
        assertThat(left).contains(walStart + ".zst", "00000002.history.zst", "00000003.history.zst");
        assertThat(left)
                .allMatch(n -> n.contains(".history") || n.substring(8, 24).compareTo(walStart.substring(8)) >= 0);
        List<String> all; // nothing of a removed segment stays behind: no info document, no checksum file
        try (Stream<Path> s = Files.walk(repo.resolve("wal"))) {
            all = s.filter(Files::isRegularFile)
                    .map(p -> p.getFileName().toString())
                    .toList();
        }
        assertThat(all.stream().filter(n -> n.endsWith(".info.json")).map(n -> n.replace(".info.json", ".zst")))
                .containsExactlyInAnyOrderElementsOf(left);
        assertThat(all.stream().filter(n -> n.endsWith(".zst.sha256")).map(n -> n.replace(".sha256", "")))
                .containsExactlyInAnyOrderElementsOf(left);
    }

    @Test
    void aRestoreTestKilledWithSigkillLeavesNeitherItsServerNorTheCopyOfTheData() throws Exception {
        startLive("15", true);
        live.execute("postgres", "CREATE TABLE orders (id int PRIMARY KEY); INSERT INTO orders VALUES (1);");
        backupPgMain();
        List<Path> before = restoreTestScratch();
        // the validation query holds the restore test while its scratch cluster runs
        Path log = work.resolve("verify.log");
        Process verify = drkitProcess(log, restoreTest("SELECT pg_sleep(600) IS NOT NULL"));
        Path scratch = null;
        long postmaster = -1;
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
        while (postmaster < 0) {
            assertThat(verify.isAlive())
                    .as(Files.exists(log) ? Files.readString(log) : "")
                    .isTrue();
            assertThat(System.nanoTime()).as("the scratch cluster started").isLessThan(deadline);
            for (Path p : restoreTestScratch()) {
                Path pid = p.resolve("data").resolve("postmaster.pid");
                List<String> lines = Files.exists(pid) ? Files.readAllLines(pid) : List.of();
                if (!before.contains(p) && lines.size() > 7 && lines.get(7).contains("ready")) {
                    scratch = p; // the cluster accepts connections: recovery is over or under way
                    postmaster = Long.parseLong(lines.get(0).trim());
                }
            }
            Thread.sleep(100);
        }
        assertThat(ProcessHandle.of(postmaster).map(ProcessHandle::isAlive)).contains(true);
        // the JVM itself (under runuser when the test runs as root), with SIGKILL: no finally, no hook
        ProcessHandle jvm = Stream.concat(
                        Stream.of(verify.toHandle()), verify.toHandle().descendants())
                .filter(h -> h.info().command().orElse("").endsWith("/java"))
                .findFirst()
                .orElseThrow();
        jvm.destroyForcibly();
        assertThat(verify.waitFor(30, TimeUnit.SECONDS)).isTrue();

        // well before PostgreSQL's own check of its lock file (once a minute) would stop it
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while ((ProcessHandle.of(postmaster).map(ProcessHandle::isAlive).orElse(false) || Files.exists(scratch))
                && System.nanoTime() < end) {
            Thread.sleep(100);
        }
        assertThat(ProcessHandle.of(postmaster).map(ProcessHandle::isAlive))
                .as("the scratch cluster's postmaster")
                .isNotEqualTo(Optional.of(true));
        assertThat(scratch).as("the restored copy of the data").doesNotExist();
        assertThat(Files.readString(log)).doesNotContain("not guarded");
    }

    /**
     * SIGTERM (or Ctrl-C) during the restore of a block-incremental chain of two copy streams: the
     * restore stops as a failed one does (nothing of it left beside or at the destination, no
     * lock, the signal's status and a line saying so, the frame workers and readers joined), and
     * the next restore of the same chain brings back the whole cluster.
     */
    @Test
    void aChainRestoreStoppedBySigtermLeavesNothingAndTheNextRestoresWhole() throws Exception {
        startLive("15", true);
        live.execute(
                "postgres",
                "CREATE TABLE big (id int PRIMARY KEY, pad text);"
                        + "INSERT INTO big SELECT i, md5(i::text) || repeat(md5((i * 7)::text), 12) "
                        + "FROM generate_series(1, 700000) i; CHECKPOINT;");
        String[] conn = {"--url", live.jdbcUrl("postgres"), "--user", "postgres", "--password-file", password.toString()
        };
        CliProcess.Result full = drkit(concat(new String[] {"backup", "postgres", "--name", "pg-main"}, conn));
        assertThat(full.exit()).as(full.err()).isZero();
        for (int round = 0; round < 2; round++) {
            live.execute("postgres", "UPDATE big SET pad = pad || 'u' WHERE id % 50 = " + round + "; CHECKPOINT;");
            CliProcess.Result incr = drkit(concat(
                    new String[] {"backup", "postgres", "--name", "pg-main", "--incremental", "--jobs", "2"}, conn));
            assertThat(incr.exit()).as(incr.err()).isZero();
        }
        switchAndAwaitArchive(live);
        Set<String> before = names(work);
        Path target = work.resolve("restored");
        Path log = work.resolve("restore.log");
        Set<String> during = new HashSet<>(before);
        during.add(log.getFileName().toString());

        Process restore =
                drkitProcess(log, "restore", "--name", "pg-main", "--latest", "--to", target.toString(), "--immediate");
        while (!restoring(work, during)) {
            assertThat(restore.waitFor(1, TimeUnit.MILLISECONDS))
                    .as("the restore finished before it was seen writing: " + Files.readString(log))
                    .isFalse();
        }
        restore.destroy(); // SIGTERM (runuser, when the test runs as root, passes it on)
        assertThat(restore.waitFor(60, TimeUnit.SECONDS)).isTrue();

        String said = Files.readString(log);
        assertThat(restore.exitValue()).as(said).isEqualTo(143);
        assertThat(said).contains("stopped by a signal (Ctrl-C or SIGTERM)").doesNotContain("Exception");
        assertThat(names(work)).as("nothing left beside or at the destination").isEqualTo(during);
        assertThat(locks(repo)).as("no lock left").isEmpty();

        CliProcess.Result again =
                drkit("restore", "--name", "pg-main", "--latest", "--to", target.toString(), "--immediate");
        assertThat(again.exit()).as(again.err()).isZero();
        restored = PostgresServer.startExisting(bin, target, live.password());
        restored.awaitRecoveryEnd(Duration.ofMinutes(3));
        assertThat(text(restored, "SELECT count(*) || ' ' || sum(length(pad)) FROM big"))
                .isEqualTo(text(live, "SELECT count(*) || ' ' || sum(length(pad)) FROM big"));
    }

    /** The names in a directory. */
    private static Set<String> names(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.map(p -> p.getFileName().toString()).collect(Collectors.toSet());
        }
    }

    /** Whether a restore writes in {@code dir}: a file of over a megabyte below a name not in {@code before}. */
    private static boolean restoring(Path dir, Set<String> before) throws IOException {
        for (String name : names(dir)) {
            if (before.contains(name)) {
                continue;
            }
            try (Stream<Path> s = Files.walk(dir.resolve(name))) {
                if (s.anyMatch(p -> {
                    try {
                        return Files.isRegularFile(p) && Files.size(p) > (1 << 20);
                    } catch (IOException gone) {
                        return false; // renamed or removed meanwhile
                    }
                })) {
                    return true;
                }
            } catch (IOException | RuntimeException moving) {
                // the tree changed under the walk: look again
            }
        }
        return false;
    }

    /** The lock files left in a repository. */
    private static List<Path> locks(Path repo) throws IOException {
        Path dir = repo.resolve("locks");
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).toList();
        }
    }

    /**
     * With trusted keys a point-in-time recovery replays only WAL the archiving host signed: the
     * backup and every segment are signed, the restore's restore_command carries the trusted key,
     * and a segment whose signature is gone (or was never made) stops wal-fetch with 255.
     */
    @Test
    void withTrustedKeysRecoveryReplaysSignedWalAndRefusesASegmentWithoutItsSignature() throws Exception {
        CliProcess.Result keys = CliProcess.run(
                null, "key", "generate", "--out", work.resolve("keys").toString());
        assertThat(keys.exit()).as(keys.err()).isZero();
        String secret = work.resolve("keys/secret.asc").toString();
        String trusted = work.resolve("keys/public.asc").toString();
        startLive("15", walPush() + " --sign-with '" + secret + "'");
        live.execute(
                "postgres",
                "CREATE TABLE orders (id int PRIMARY KEY, note text);"
                        + "INSERT INTO orders SELECT i, 'before backup ' || i FROM generate_series(1, 1000) i;");
        CliProcess.Result backup =
                drkit(CliProcess.pgMainBackup(live.jdbcUrl("postgres"), password, "--sign-with", secret));
        assertThat(backup.exit()).as(backup.err()).isZero();
        String t = insertNoteTheTimeAndDeleteHalf();
        List<Path> signatures;
        try (Stream<Path> s = Files.walk(repo.resolve("wal"))) {
            signatures = s.filter(p -> p.getFileName().toString().matches("[0-9A-F]{24}\\.info\\.json\\.asc"))
                    .sorted()
                    .toList();
        }
        assertThat(signatures).as("every archived segment's record is signed").isNotEmpty();

        Path target = work.resolve("restored");
        CliProcess.Result restore = drkit(
                "restore",
                "--name",
                "pg-main",
                "--latest",
                "--to",
                target.toString(),
                "--time",
                t,
                "--trusted-key",
                trusted);
        assertThat(restore.exit()).as(restore.out() + restore.err()).isZero();
        assertThat(Files.readString(target.resolve("postgresql.auto.conf")))
                .contains("--trusted-key ''" + trusted + "''");
        startRestoredWithTheRowsOfThatTime(target);

        // a forger who can write the repository but holds no key: the newest segment's signature removed
        Path last = signatures.get(signatures.size() - 1);
        String segment = last.getFileName().toString().substring(0, 24);
        Files.delete(last);
        Path into = work.resolve("fetched");
        CliProcess.Result refused =
                drkit("wal-fetch", segment, into.toString(), "--pgdata", target.toString(), "--trusted-key", trusted);
        assertThat(refused.exit()).as(refused.err()).isEqualTo(255);
        assertThat(refused.err()).contains(segment).contains("not signed").doesNotContain("Exception");
        assertThat(into).doesNotExist();
        CliProcess.Result untrusted = drkit("wal-fetch", segment, into.toString(), "--pgdata", target.toString());
        assertThat(untrusted.exit())
                .as("without trusted keys, checksums only: " + untrusted.err())
                .isZero();

        // the same for the first segment of the backup's own WAL: its check says so before a restore would
        String start =
                backupJson(backup.lastLine()).get("metadata").get("walStart").asText();
        assertThat(drkit("verify", "--name", "pg-main", "--latest", "--trusted-key", trusted)
                        .exit())
                .isZero();
        Files.delete(signatures.stream()
                .filter(p -> p.getFileName().toString().startsWith(start + "."))
                .findFirst()
                .orElseThrow());
        CliProcess.Result verify = drkit("verify", "--name", "pg-main", "--latest", "--trusted-key", trusted);
        assertThat(verify.exit()).as(verify.out() + verify.err()).isEqualTo(1);
        assertThat(verify.out() + verify.err())
                .contains("pg-wal-continuity")
                .contains("record of WAL segment " + start + " cannot be trusted")
                .doesNotContain("Exception");
    }

    /**
     * A copy restored beside the live cluster kept its archive_command: promoted, it archived its
     * timeline 2 into the live cluster's repository, and every later restore of the live cluster
     * with the defaults (which follow the newest timeline) was written out whole and then failed
     * to start ("could not locate required checkpoint record"), with nothing said before.
     * {@code --archive-mode off} keeps such a copy from archiving, and a restore that cannot
     * follow the newest timeline says so before it writes anything.
     */
    @Test
    void aCopyPromotedBesideTheLiveClusterNeedsArchiveModeOffOrTheNextRestoreSaysWhyItCannotFollow() throws Exception {
        startLive("15", true);
        live.execute(
                "postgres",
                "CREATE TABLE orders (id int PRIMARY KEY, note text);"
                        + "INSERT INTO orders SELECT i, 'before backup ' || i FROM generate_series(1, 1000) i;");
        backupPgMain();
        String t = insertNoteTheTimeAndDeleteHalf();

        Path quiet = work.resolve("quiet");
        CliProcess.Result off = restorePgMain(quiet, "--time", t, "--archive-mode", "off");
        assertThat(off.exit()).as(off.err()).isZero();
        assertThat(Files.readString(quiet.resolve("postgresql.auto.conf"))).contains("archive_mode = 'off'");
        startRestoredWithTheRowsOfThatTime(quiet);
        restored.execute("postgres", "CHECKPOINT");
        assertThat(text(restored, "SHOW archive_mode")).isEqualTo("off");
        restored.close();
        restored = null;
        assertThat(historyFiles()).as("nothing archived by the copy").isEmpty();

        Path copy = work.resolve("copy");
        CliProcess.Result preserved = restorePgMain(copy, "--time", t);
        assertThat(preserved.exit()).as(preserved.err()).isZero();
        startRestoredWithTheRowsOfThatTime(copy);
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (historyFiles().isEmpty()) {
            assertThat(System.nanoTime())
                    .as("the promoted copy archives its history file")
                    .isLessThan(deadline);
            Thread.sleep(200);
        }
        restored.close();
        restored = null;

        backupPgMain();
        Path next = work.resolve("next");
        CliProcess.Result refused = restorePgMain(next);
        assertThat(refused.exit()).as(refused.out() + refused.err()).isEqualTo(1);
        assertThat(refused.err())
                .contains("timeline 2")
                .contains("before the backup started")
                .contains("target-timeline")
                .contains("Nothing was restored")
                .doesNotContain("Exception");
        assertThat(next).doesNotExist();
        CliProcess.Result current = restorePgMain(next, "--target-timeline", "current", "--immediate");
        assertThat(current.exit()).as(current.err()).isZero();
        // a restore test recovers from its own copy of the backup's WAL: the repository's newest
        // timeline is none of its business
        // (pg-wal-continuity fails it, rightly: a default restore cannot follow timeline 2)
        CliProcess.Result test = drkit(restoreTest("SELECT count(*) = 1000 FROM orders"));
        assertThat(test.out()).as(test.out() + test.err()).containsPattern("pg-physical-restore-test +PASSED");
        assertThat(test.out()).containsPattern("pg-wal-continuity +FAILED");
    }

    /** {@code drkit restore --name pg-main --latest --to DIR} and {@code more}. */
    private CliProcess.Result restorePgMain(Path to, String... more) throws Exception {
        List<String> args = new ArrayList<>(List.of("restore", "--name", "pg-main", "--latest", "--to", to.toString()));
        args.addAll(List.of(more));
        return drkit(args.toArray(String[]::new));
    }

    private List<Path> historyFiles() throws IOException {
        try (Stream<Path> s = Files.walk(repo.resolve("wal"))) {
            return s.filter(p -> p.getFileName().toString().startsWith("00000002.history"))
                    .toList();
        }
    }

    /**
     * The keys only in the setup file (as a host configured through it has them): WAL pushed and
     * the base backup encrypted to its public key, restored to a time with nothing but the setup
     * file. Recovery runs the restore_command in PostgreSQL's environment, with no setup file:
     * the command must carry the secret key file itself, or no encrypted segment can be read.
     */
    @Test
    void withTheKeysInTheSetupFileRecoveryReadsEncryptedWal() throws Exception {
        CliProcess.Result keys = CliProcess.run(
                null, "key", "generate", "--out", work.resolve("keys").toString());
        assertThat(keys.exit()).as(keys.err()).isZero();
        Path secret = work.resolve("keys/secret.asc");
        Path setup = Files.writeString(work.resolve("drkit.yaml"), """
                repository: %s
                encryption:
                  encrypt-to: [%s]
                  secret-key: [%s]
                targets:
                  notes: { type: files, path: %s }
                """.formatted(
                        repo, work.resolve("keys/public.asc"), secret, work.resolve("keys")));
        startLive("15", walPush() + " --config '" + setup + "'");
        live.execute(
                "postgres",
                "CREATE TABLE orders (id int PRIMARY KEY, note text);"
                        + "INSERT INTO orders SELECT i, 'before backup ' || i FROM generate_series(1, 1000) i;");
        List<String> backupArgs = new ArrayList<>(List.of("--config", setup.toString()));
        backupArgs.addAll(List.of(CliProcess.pgMainBackup(live.jdbcUrl("postgres"), password)));
        CliProcess.Result backup = drkit(backupArgs.toArray(String[]::new));
        assertThat(backup.exit()).as(backup.err()).isZero();
        String t = insertNoteTheTimeAndDeleteHalf();

        Path target = work.resolve("restored");
        CliProcess.Result restore = drkit(
                "--config",
                setup.toString(),
                "restore",
                "--name",
                "pg-main",
                "--latest",
                "--to",
                target.toString(),
                "--time",
                t);
        assertThat(restore.exit()).as(restore.out() + restore.err()).isZero();
        assertThat(Files.readString(target.resolve("postgresql.auto.conf")))
                .contains("--secret-key ''" + secret + "''");
        startRestoredWithTheRowsOfThatTime(target);
    }

    /** Starts the cluster restored at {@code target}: recovered to the time noted, it holds all 2000 orders. */
    private void startRestoredWithTheRowsOfThatTime(Path target) throws Exception {
        restored = PostgresServer.startExisting(bin, target, live.password());
        restored.awaitRecoveryEnd(Duration.ofMinutes(3));
        assertThat(count(restored, "SELECT count(*) FROM orders")).isEqualTo(2000);
        assertThat(count(restored, "SELECT count(*) FROM orders WHERE id % 2 = 0"))
                .isEqualTo(1000);
    }

    /**
     * After a backup of 1000 orders: 1000 more inserted, the time noted (returned, UTC), half of
     * all deleted a second later, and the WAL switched and archived.
     */
    private String insertNoteTheTimeAndDeleteHalf() throws Exception {
        live.execute(
                "postgres", "INSERT INTO orders SELECT i, 'after backup ' || i FROM generate_series(1001, 2000) i;");
        Thread.sleep(300);
        String t =
                text(live, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
        Thread.sleep(1100);
        live.execute("postgres", "DELETE FROM orders WHERE id % 2 = 0");
        switchAndAwaitArchive(live);
        return t;
    }

    /** A physical backup of the live cluster as {@code pg-main}, which must succeed. */
    private void backupPgMain() throws IOException, InterruptedException {
        CliProcess.Result backup = drkit(CliProcess.pgMainBackup(live.jdbcUrl("postgres"), password));
        assertThat(backup.exit()).as(backup.err()).isZero();
    }

    /** The arguments of a restore test of the newest {@code pg-main} backup, validated by {@code query}. */
    private String[] restoreTest(String query) {
        return new String[] {
            "verify",
            "--name",
            "pg-main",
            "--latest",
            "--level",
            "restore",
            "--user",
            "postgres",
            "--password-file",
            password.toString(),
            "--server-bin-dir",
            bin.toString(),
            "--validate",
            query
        };
    }

    /** The restore tests' scratch directories under /tmp. */
    private static List<Path> restoreTestScratch() throws IOException {
        try (Stream<Path> s = Files.list(Path.of("/tmp"))) {
            return s.filter(p -> p.getFileName().toString().startsWith("drkit-pg-verify-"))
                    .toList();
        }
    }

    @Test
    void incrementalBackupsCopyOnlyChangedFilesAndRestoreWhole() throws Exception {
        startLive("15", true);
        live.execute(
                "postgres",
                "CREATE TABLE big (id int PRIMARY KEY, pad text);"
                        + "INSERT INTO big SELECT i, repeat('x', 200) FROM generate_series(1, 200000) i;"
                        + "CREATE TABLE small (id int PRIMARY KEY, v text); INSERT INTO small VALUES (1, 'one');"
                        + "ALTER TABLE big SET (autovacuum_enabled = false);");
        // settle the big table (hint bits, visibility map) so that it really stays unchanged
        live.execute("postgres", "VACUUM (FREEZE, ANALYZE) big");
        live.execute("postgres", "CHECKPOINT");
        Thread.sleep(2500); // files written within 2 s of a backup's start are copied again by the next one
        String[] conn = {"--url", live.jdbcUrl("postgres"), "--user", "postgres", "--password-file", password.toString()
        };
        CliProcess.Result full = drkit(concat(new String[] {"backup", "postgres", "--name", "pg-main"}, conn));
        assertThat(full.exit()).as(full.err()).isZero();
        Thread.sleep(2500); // past the mtime margin
        live.execute(
                "postgres",
                "INSERT INTO small VALUES (2, 'two'); CREATE TABLE fresh AS SELECT 42 AS answer;" + "CHECKPOINT;");
        CliProcess.Result incr =
                drkit(concat(new String[] {"backup", "postgres", "--name", "pg-main", "--incremental"}, conn));
        assertThat(incr.exit()).as(incr.err()).isZero();
        var list = Json.mapper()
                .readTree(drkit("--json", "list", "--name", "pg-main").out());
        assertThat(list).hasSize(2);
        var first = list.get(0);
        var second = list.get(1);
        assertThat(second.get("kind").asText()).isEqualTo("incremental");
        assertThat(second.get("parent").asText()).isEqualTo(first.get("id").asText());
        assertThat(second.get("metadata").get("referencedFiles").asLong()).isGreaterThan(500);
        long fullRaw =
                first.findValues("rawSize").stream().mapToLong(n -> n.asLong()).sum();
        long incrRaw =
                second.findValues("rawSize").stream().mapToLong(n -> n.asLong()).sum();
        assertThat(incrRaw).as("incremental raw bytes").isLessThan(fullRaw / 3);

        Path target = work.resolve("restored");
        CliProcess.Result restore =
                drkit("restore", "--name", "pg-main", "--latest", "--to", target.toString(), "--immediate");
        assertThat(restore.exit()).as(restore.err()).isZero();
        restored = PostgresServer.startExisting(bin, target, live.password());
        restored.awaitRecoveryEnd(Duration.ofMinutes(3));
        assertThat(count(restored, "SELECT count(*) FROM big")).isEqualTo(200000);
        assertThat(count(restored, "SELECT count(*) FROM small")).isEqualTo(2);
        assertThat(count(restored, "SELECT answer FROM fresh")).isEqualTo(42);

        // files.tsv lists every file with size, mtime, CRC32C, and the backup and tar holding it
        String[] pgVersion = fileList(second.get("id").asText()).get("PG_VERSION");
        assertThat(pgVersion).hasSize(6);
        assertThat(pgVersion[3]).matches("[0-9a-f]{8}");
        assertThat(pgVersion[4]).isEqualTo(first.get("id").asText());

        // size and mtime can lie: a file changed behind its old mtime is referenced by a plain
        // incremental backup, and copied again with --checksum
        Path conf = live.dataDir().resolve("postgresql.conf");
        FileTime mtime = Files.getLastModifiedTime(conf);
        String text = Files.readString(conf);
        assertThat(text).contains("# - Connection Settings -");
        Files.writeString(conf, text.replaceFirst("# - Connection Settings -", "# - Connection Settingz -"));
        Files.setLastModifiedTime(conf, mtime);
        String plain =
                newBackup(concat(new String[] {"backup", "postgres", "--name", "pg-main", "--incremental"}, conn));
        assertThat(fileList(plain).get("postgresql.conf")[4]).isNotEqualTo(plain);
        String checked = newBackup(
                concat(new String[] {"backup", "postgres", "--name", "pg-main", "--incremental", "--checksum"}, conn));
        assertThat(fileList(checked).get("postgresql.conf")[4]).isEqualTo(checked);
        assertThat(fileList(checked).get("PG_VERSION")[4])
                .isEqualTo(first.get("id").asText());

        // the full backup cannot expire while the incremental that needs it is kept
        CliProcess.Result prune = drkit("prune", "--name", "pg-main", "--keep-last", "1");
        assertThat(prune.exit()).as(prune.err()).isZero();
        assertThat(Json.mapper()
                        .readTree(drkit("--json", "list", "--name", "pg-main").out()))
                .hasSizeGreaterThanOrEqualTo(2);
    }

    /**
     * Block incrementals under a concurrent write load: each stores only the changed pages, a
     * restore to a time inside the chain (full + two incrementals) brings back exactly the rows
     * of that time, and the chain's head restores with every rebuilt file checked.
     */
    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("edgeVersions")
    void blockIncrementalChainRestoresToATimeInsideIt(String version) throws Exception {
        startLive(version, true);
        live.execute(
                "postgres",
                "CREATE TABLE accounts (id int PRIMARY KEY, balance bigint NOT NULL, pad text);"
                        + "INSERT INTO accounts SELECT i, 0, repeat(md5(i::text), 3) FROM generate_series(1, 150000) i;"
                        + "CREATE TABLE ledger (id bigserial PRIMARY KEY, account int, amount int);"
                        + "ALTER TABLE accounts SET (autovacuum_enabled = false);");
        // settled first (hint bits, visibility map, frozen), as a table that has been in use is:
        // otherwise the first reads after the load rewrite every page, and every page changed
        live.execute("postgres", "VACUUM (FREEZE, ANALYZE) accounts");
        live.execute("postgres", "CHECKPOINT");
        String[] conn = {"--url", live.jdbcUrl("postgres"), "--user", "postgres", "--password-file", password.toString()
        };
        String full = newBackup(concat(new String[] {"backup", "postgres", "--name", "pg-main"}, conn));
        AtomicBoolean paused = new AtomicBoolean();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong committed = new AtomicLong();
        Semaphore idle = new Semaphore(0);
        Thread writer = new Thread(() -> {
            Random random = new Random(17);
            try (Connection c = live.connect("postgres");
                    Statement s = c.createStatement()) {
                while (!stop.get()) {
                    if (paused.get()) {
                        idle.release();
                        while (paused.get() && !stop.get()) {
                            Thread.onSpinWait();
                        }
                        continue;
                    }
                    int account = 1 + random.nextInt(15000); // the hot tenth of the table, as in production
                    s.execute("WITH u AS (UPDATE accounts SET balance = balance + 7 WHERE id = " + account
                            + " RETURNING id) INSERT INTO ledger (account, amount) SELECT id, 7 FROM u");
                    committed.incrementAndGet();
                }
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        });
        writer.start();
        List<String> incrementals = new ArrayList<>();
        String target = null;
        long[] atTarget = null;
        try {
            for (int i = 0; i < 3; i++) {
                long before = committed.get();
                while (committed.get() < before + 400) {
                    Thread.sleep(10);
                }
                incrementals.add(newBackup(
                        concat(new String[] {"backup", "postgres", "--name", "pg-main", "--incremental"}, conn)));
                if (i == 1) {
                    // a quiet moment inside the chain: nothing commits around the target time
                    paused.set(true);
                    assertThat(idle.tryAcquire(60, TimeUnit.SECONDS)).isTrue();
                    Thread.sleep(100);
                    target = now(live);
                    atTarget = new long[] {
                        count(live, "SELECT count(*) FROM ledger"), count(live, "SELECT sum(balance) FROM accounts")
                    };
                    Thread.sleep(100);
                    paused.set(false);
                }
            }
            long before = committed.get();
            while (committed.get() < before + 200) {
                Thread.sleep(10);
            }
        } finally {
            stop.set(true);
            writer.join();
        }
        assertThat(atTarget[0]).as("the writer committed before the target").isGreaterThan(400);
        switchAndAwaitArchive(live);

        var list = Json.mapper()
                .readTree(drkit("--json", "list", "--name", "pg-main").out());
        assertThat(list).hasSize(4);
        long fullStored = 0;
        for (var b : list) {
            long stored = b.findValues("storedSize").stream()
                    .mapToLong(n -> n.asLong())
                    .sum();
            if (b.get("id").asText().equals(full)) {
                fullStored = stored;
                continue;
            }
            assertThat(b.get("kind").asText()).isEqualTo("incremental");
            assertThat(b.get("metadata").get("pagedFiles").asLong())
                    .as("changed relation files stored by page")
                    .isPositive();
            long pages = b.get("metadata").get("pagesStored").asLong();
            long pagedBytes = b.get("metadata").get("pagedBytes").asLong();
            assertThat(pages).isPositive();
            assertThat(pages * 8192)
                    .as("only changed pages of the changed files")
                    .isLessThan(pagedBytes / 2);
            assertThat(stored)
                    .as("an incremental stores a fraction of the full")
                    .isLessThan(fullStored / 2);
        }
        // the chain's files: a paged file names its base copy and its deltas, oldest first
        Map<String, String[]> head = fileList(incrementals.get(2));
        String[] accountsFile = head.values().stream()
                .filter(f -> f.length == 7 && f[6].split(",").length == 3)
                .findFirst()
                .orElseThrow(() -> new AssertionError("no file rebuilt from three deltas"));
        assertThat(accountsFile[4]).isEqualTo(full);
        assertThat(accountsFile[6]).startsWith(incrementals.get(0) + "/pages-");

        Path restoredDir = work.resolve("restored");
        CliProcess.Result restore = drkit(
                "restore",
                "--name",
                "pg-main",
                "--id",
                incrementals.get(1),
                "--time",
                target,
                "--to",
                restoredDir.toString());
        assertThat(restore.exit()).as(restore.err()).isZero();
        restored = startWithoutArchiving(restoredDir);
        restored.awaitRecoveryEnd(Duration.ofMinutes(3));
        assertThat(count(restored, "SELECT count(*) FROM ledger")).isEqualTo(atTarget[0]);
        assertThat(count(restored, "SELECT sum(balance) FROM accounts")).isEqualTo(atTarget[1]);
        assertThat(count(restored, "SELECT sum(amount) FROM ledger")).isEqualTo(atTarget[1]);
        restored.close();
        restored = null;

        // the head of the chain restores too, every rebuilt file checked against its recorded CRC-32C;
        // a synthetic full built from the chain (no database reads) restores the same files, bit for bit
        Path headDir = work.resolve("restored-head");
        CliProcess.Result latest =
                drkit("restore", "--name", "pg-main", "--latest", "--to", headDir.toString(), "--immediate");
        assertThat(latest.exit()).as(latest.err()).isZero();
        String synthetic =
                newBackup(concat(new String[] {"backup", "postgres", "--name", "pg-main", "--synthetic-full"}, conn));
        var synth = backupJson(synthetic);
        assertThat(synth.get("kind").asText()).isEqualTo("full");
        assertThat(synth.get("metadata").get("builtFrom").asText()).isEqualTo(incrementals.get(2));
        Path synthDir = work.resolve("restored-synthetic");
        CliProcess.Result fromSynthetic =
                drkit("restore", "--name", "pg-main", "--id", synthetic, "--to", synthDir.toString(), "--immediate");
        assertThat(fromSynthetic.exit()).as(fromSynthetic.err()).isZero();
        assertSameFiles(headDir, synthDir);
        restored = startWithoutArchiving(headDir);
        restored.awaitRecoveryEnd(Duration.ofMinutes(3));
        assertThat(count(restored, "SELECT count(*) FROM accounts")).isEqualTo(150000);
        assertThat(count(restored, "SELECT sum(balance) FROM accounts"))
                .isEqualTo(count(restored, "SELECT sum(amount) FROM ledger"));
        restored.close();
        restored = null;

        // incremental forever: the next incremental builds on the synthetic full, and with
        // --max-chain 1 a new synthetic full follows it at once; pruning to the newest backup
        // leaves one that restores alone
        live.execute("postgres", "UPDATE accounts SET balance = balance + 1 WHERE id <= 100");
        live.execute("postgres", "INSERT INTO ledger (account, amount) SELECT id, 1 FROM generate_series(1, 100) id");
        String after = newBackup(concat(
                new String[] {"backup", "postgres", "--name", "pg-main", "--incremental", "--max-chain", "1"}, conn));
        assertThat(backupJson(after).get("parent").asText()).isEqualTo(synthetic);
        var listed = Json.mapper()
                .readTree(drkit("--json", "list", "--name", "pg-main").out());
        assertThat(listed)
                .as("full, 3 incrementals, synthetic, incremental, synthetic")
                .hasSize(7);
        var newest = listed.get(6);
        assertThat(newest.get("metadata").get("builtFrom").asText()).isEqualTo(after);
        CliProcess.Result prune = drkit("prune", "--name", "pg-main", "--keep-last", "1");
        assertThat(prune.exit()).as(prune.err()).isZero();
        assertThat(Json.mapper()
                        .readTree(drkit("--json", "list", "--name", "pg-main").out()))
                .hasSize(1);
        switchAndAwaitArchive(live);
        Path lastDir = work.resolve("restored-last");
        CliProcess.Result last =
                drkit("restore", "--name", "pg-main", "--latest", "--to", lastDir.toString(), "--immediate");
        assertThat(last.exit()).as(last.err()).isZero();
        restored = startWithoutArchiving(lastDir);
        restored.awaitRecoveryEnd(Duration.ofMinutes(3));
        assertThat(count(restored, "SELECT sum(balance) FROM accounts"))
                .isEqualTo(count(live, "SELECT sum(balance) FROM accounts"));
        assertThat(count(restored, "SELECT count(*) FROM ledger"))
                .isEqualTo(count(live, "SELECT count(*) FROM ledger"));
    }

    /**
     * Starts a restored cluster that does not archive into the live cluster's repository: its
     * new timeline's history would otherwise lead later restores of the live timeline astray.
     */
    private PostgresServer startWithoutArchiving(Path dataDir) throws Exception {
        Files.writeString(dataDir.resolve("postgresql.auto.conf"), "archive_mode = off\n", StandardOpenOption.APPEND);
        return PostgresServer.startExisting(bin, dataDir, live.password());
    }

    /** The backup of that id as {@code list --json} shows it. */
    private JsonNode backupJson(String id) throws Exception {
        for (var b : Json.mapper()
                .readTree(drkit("--json", "list", "--name", "pg-main").out())) {
            if (b.get("id").asText().equals(id)) {
                return b;
            }
        }
        throw new AssertionError("no backup " + id);
    }

    /** Two restored data directories hold the same files with the same bytes (but the restore's own note in postgresql.auto.conf). */
    private static void assertSameFiles(Path a, Path b) throws IOException {
        Map<String, Path> left = files(a);
        Map<String, Path> right = files(b);
        assertThat(right.keySet()).containsExactlyInAnyOrderElementsOf(left.keySet());
        long compared = 0;
        for (Map.Entry<String, Path> e : left.entrySet()) {
            if (e.getKey().equals("postgresql.auto.conf")) {
                continue;
            }
            assertThat(Files.mismatch(e.getValue(), right.get(e.getKey())))
                    .as("first differing byte of %s", e.getKey())
                    .isEqualTo(-1L);
            compared++;
        }
        assertThat(compared).isGreaterThan(500);
    }

    private static Map<String, Path> files(Path root) throws IOException {
        Map<String, Path> out = new HashMap<>();
        try (Stream<Path> walk = Files.walk(root)) {
            walk.filter(Files::isRegularFile)
                    .forEach(p -> out.put(root.relativize(p).toString(), p));
        }
        return out;
    }

    @Test
    void tablespacesAreBackedUpAndRestoredToANewLocation() throws Exception {
        startLive("15", true);
        Path ts = Files.createDirectory(work.resolve("ts1"));
        chownToPostgres(ts);
        live.execute(
                "postgres",
                "CREATE TABLESPACE fast LOCATION '" + ts + "';"
                        + "CREATE TABLE hot (id int PRIMARY KEY, v text) TABLESPACE fast;"
                        + "INSERT INTO hot SELECT i, 'v' || i FROM generate_series(1, 5000) i;");
        String oid = text(live, "SELECT oid::text FROM pg_tablespace WHERE spcname = 'fast'");
        backupPgMain();

        Path target = work.resolve("restored");
        CliProcess.Result inUse =
                drkit("restore", "--name", "pg-main", "--latest", "--to", target.toString(), "--immediate");
        assertThat(inUse.exit()).isEqualTo(1);
        assertThat(inUse.err()).contains("tablespace " + oid).contains("--tablespace");
        assertThat(target).doesNotExist();

        // restored to another location and started by drkit itself, which waits for recovery
        Path moved = work.resolve("ts1-restored");
        int port = LoopbackPorts.free(); // outside the ephemeral range: no outgoing connection takes it first
        CliProcess.Result restore = drkit(
                "restore",
                "--name",
                "pg-main",
                "--latest",
                "--to",
                target.toString(),
                "--immediate",
                "--tablespace",
                oid + "=" + moved,
                "--start",
                bin.toString(),
                "--start-port",
                String.valueOf(port));
        try {
            assertThat(restore.exit()).as(restore.err()).isZero();
            assertThat(Files.readSymbolicLink(target.resolve("pg_tblspc").resolve(oid)))
                    .isEqualTo(moved);
            try (Connection c = DriverManager.getConnection(
                            "jdbc:postgresql://127.0.0.1:" + port + "/postgres", "postgres", live.password());
                    Statement st = c.createStatement()) {
                ResultSet rs = st.executeQuery("SELECT count(*), pg_is_in_recovery() FROM hot");
                rs.next();
                assertThat(rs.getLong(1)).isEqualTo(5000);
                assertThat(rs.getBoolean(2)).isFalse();
                rs = st.executeQuery("SELECT pg_tablespace_location(oid) FROM pg_tablespace WHERE spcname = 'fast'");
                rs.next();
                assertThat(rs.getString(1)).isEqualTo(moved.toString());
            }
        } finally {
            List<String> stop = new ArrayList<>(
                    List.of(bin.resolve("pg_ctl").toString(), "-D", target.toString(), "-m", "immediate", "stop"));
            if (ROOT) {
                stop.addAll(0, List.of("runuser", "-u", "postgres", "--"));
            }
            new ProcessBuilder(stop).inheritIO().start().waitFor();
        }
    }

    /** Starts a streaming standby of the live cluster, with {@code conf} added to its settings. */
    private PostgresServer startStandby(String conf) throws Exception {
        Path standbyDir = work.resolve("standby");
        List<String> basebackup = new ArrayList<>(List.of(
                bin.resolve("pg_basebackup").toString(),
                "-D",
                standbyDir.toString(),
                "-R",
                "-X",
                "stream",
                "-h",
                "127.0.0.1",
                "-p",
                String.valueOf(live.port()),
                "-U",
                "postgres"));
        if (ROOT) {
            basebackup.addAll(0, List.of("runuser", "-u", "postgres", "--"));
        }
        ProcessBuilder pb = new ProcessBuilder(basebackup).redirectErrorStream(true);
        pb.environment().put("PGPASSWORD", live.password());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor()).as(out).isZero();
        Files.writeString(
                standbyDir.resolve("postgresql.auto.conf"),
                "primary_conninfo = 'host=127.0.0.1 port=" + live.port() + " user=postgres password=" + live.password()
                        + "'\n" + conf,
                StandardOpenOption.APPEND);
        return PostgresServer.startExisting(bin, standbyDir, live.password());
    }

    @Test
    void theStreamerFollowsAPromotionToANewTimeline() throws Exception {
        startLive("15", false);
        live.execute(
                "postgres",
                "CREATE TABLE orders (id int PRIMARY KEY, note text);"
                        + "INSERT INTO orders SELECT i, 'primary ' || i FROM generate_series(1, 1000) i;");
        // a standby of the live cluster, which the streamer follows
        PostgresServer standby = startStandby("");
        try {
            Path streamerLog = work.resolve("streamer.log");
            Process streamer = startStreamer(standby, streamerLog);
            try {
                awaitReplication(
                        standby,
                        "true",
                        streamer,
                        () -> Files.readString(streamerLog),
                        "the streamer did not connect to the standby");
                // a base backup of the primary, whose WAL reaches the repository through the standby
                backupWithStreamedWal();

                // the standby is promoted (timeline 2) and written to; the streamer follows
                standby.execute("postgres", "SELECT pg_promote()");
                standby.awaitRecoveryEnd(Duration.ofMinutes(1));
                standby.execute(
                        "postgres",
                        "INSERT INTO orders SELECT i, 'timeline 2 ' || i FROM generate_series(1001, 1500) i");
                // the insert position: with asynchronous commit the commit may not be written yet
                String lsn = text(standby, "SELECT pg_current_wal_insert_lsn()::text");
                awaitReplication(
                        standby,
                        "flush_lsn >= '" + lsn + "'",
                        streamer,
                        () -> Files.readString(streamerLog),
                        "the streamer did not follow timeline 2");
            } finally {
                stopGracefully(streamer);
            }
        } finally {
            standby.close();
        }
        List<String> stored;
        try (Stream<Path> s = Files.walk(repo.resolve("wal"))) {
            stored = s.map(x -> x.getFileName().toString()).toList();
        }
        assertThat(stored).contains("00000002.history.zst").anyMatch(n -> n.startsWith("00000002") && n.length() > 30);

        // the backup plus the streamed WAL of both timelines recover the rows written after the promotion
        restoreLatestAndRecover(live.password());
        assertThat(count(restored, "SELECT count(*) FROM orders")).isEqualTo(1500);
    }

    @Test
    void aPromotedStandbyArchivesIntoTheRepositoryTheStreamerFedAndTheRestoreReadsBoth() throws Exception {
        PostgresServer standby = liveWithAStandbyThatArchivesOncePromoted();
        String streamerRow = "application_name = 'drkit-wal-streamer'";
        String livePassword;
        try {
            Path streamerLog = work.resolve("streamer.log");
            Process streamer = startStreamer(live, streamerLog);
            try {
                awaitReplication(
                        live,
                        streamerRow,
                        streamer,
                        () -> Files.readString(streamerLog),
                        "the streamer did not connect");
                backupWithStreamedWal();
                live.execute(
                        "postgres", "INSERT INTO orders SELECT i, 'primary ' || i FROM generate_series(1001, 1200) i");
                // the insert position: with asynchronous commit the commit may not be written yet
                String lsn = text(live, "SELECT pg_current_wal_insert_lsn()::text");
                awaitReplication(
                        live,
                        streamerRow + " AND flush_lsn >= '" + lsn + "'",
                        streamer,
                        () -> Files.readString(streamerLog),
                        "the streamer did not receive the last rows");
                awaitReplication(
                        live,
                        "NOT (" + streamerRow + ") AND replay_lsn >= '" + lsn + "'",
                        streamer,
                        () -> Files.readString(streamerLog),
                        "the standby did not replay the last rows");
            } finally {
                // stopped first: what it received of the current segment goes into the repository
                stopGracefully(streamer);
            }
            String lastOfTimeline1 = text(live, "SELECT pg_walfile_name(pg_current_wal_insert_lsn())");
            livePassword = live.password();
            live.close(); // the primary is lost
            live = null;

            // the standby's archiver stores the old timeline's last segment as .partial, next to
            // the streamer's copy, and goes on with timeline 2
            standby.execute("postgres", "SELECT pg_promote()");
            standby.awaitRecoveryEnd(Duration.ofMinutes(1));
            standby.execute(
                    "postgres", "INSERT INTO orders SELECT i, 'timeline 2 ' || i FROM generate_series(1201, 1500) i");
            switchAndAwaitArchive(standby);
            assertThat(count(standby, "SELECT count(*) FROM orders"))
                    .as("the promoted standby holds every row (else the restore below cannot)")
                    .isEqualTo(1500);
            assertThat(text(
                            standby,
                            "SELECT failed_count || ' ' || coalesce(last_failed_wal, '-') FROM pg_stat_archiver"))
                    .isEqualTo("0 -");
            List<String> stored;
            try (Stream<Path> s = Files.walk(repo.resolve("wal"))) {
                stored = s.map(x -> x.getFileName().toString()).toList();
            }
            assertThat(stored)
                    .contains(
                            lastOfTimeline1 + ".stream.zst", lastOfTimeline1 + ".partial.zst", "00000002.history.zst");
        } finally {
            standby.close();
        }

        CliProcess.Result restore = restoreLatestAndRecover(livePassword);
        // a failure here has been seen once and not reproduced since: say what the restore had
        assertThat(count(restored, "SELECT count(*) FROM orders"))
                .as(() ->
                        recoveryDiagnostics(restore, work.resolve("restored.drkit-wal"), work.resolve("streamer.log")))
                .isEqualTo(1500);
    }

    @Test
    void aRestoreAlongThePromotedStandbysTimelineNeverReplaysWhatTheOldPrimaryWroteAfterTheBranch() throws Exception {
        PostgresServer standby = liveWithAStandbyThatArchivesOncePromoted();
        String streamerRow = "application_name = 'drkit-wal-streamer'";
        String livePassword;
        try {
            Path streamerLog = work.resolve("streamer.log");
            Process streamer = startStreamer(live, streamerLog);
            try {
                Callable<String> log = () -> Files.readString(streamerLog);
                awaitReplication(live, streamerRow, streamer, log, "the streamer did not connect");
                backupWithStreamedWal();
                live.execute(
                        "postgres",
                        "SET synchronous_commit = on;"
                                + "INSERT INTO orders SELECT i, 'primary ' || i FROM generate_series(1001, 1200) i");
                String lsn = text(live, "SELECT pg_current_wal_insert_lsn()::text");
                awaitReplication(
                        live,
                        "NOT (" + streamerRow + ") AND replay_lsn >= '" + lsn + "'",
                        streamer,
                        log,
                        "the standby did not replay the rows");
                // the standby loses the primary, which writes on: only the streamer receives it
                standby.execute("postgres", "ALTER SYSTEM SET primary_conninfo = ''");
                standby.execute("postgres", "SELECT pg_reload_conf()");
                awaitReplication(
                        live,
                        streamerRow + " AND (SELECT count(*) FROM pg_stat_replication) = 1",
                        streamer,
                        log,
                        "the standby did not disconnect");
                live.execute(
                        "postgres",
                        "SET synchronous_commit = on;"
                                + "INSERT INTO orders SELECT i, 'old-primary-only ' || i FROM generate_series(1201, 1250) i");
                lsn = text(live, "SELECT pg_current_wal_insert_lsn()::text");
                awaitReplication(
                        live,
                        streamerRow + " AND flush_lsn >= '" + lsn + "'",
                        streamer,
                        log,
                        "the streamer did not receive the old primary's last rows");
            } finally {
                stopGracefully(streamer); // stores its copy of timeline 1's last segment, past the branch
            }
            livePassword = live.password();
            live.close(); // the old primary is lost
            live = null;
            // the standby is promoted in the same segment; timeline 2's first segment is not archived yet
            standby.execute("postgres", "SELECT pg_promote()");
            standby.awaitRecoveryEnd(Duration.ofMinutes(1));
            awaitArchiverIdle(standby);
            assertThat(count(standby, "SELECT count(*) FROM orders")).isEqualTo(1200);
        } finally {
            standby.close();
        }

        CliProcess.Result restore = restoreLatestAndRecover(livePassword);
        // exactly the promoted standby's rows: none the old primary wrote after the branch
        assertThat(count(restored, "SELECT count(*) FROM orders WHERE note LIKE 'old-primary-only%'"))
                .as(() ->
                        recoveryDiagnostics(restore, work.resolve("restored.drkit-wal"), work.resolve("streamer.log")))
                .isZero();
        assertThat(count(restored, "SELECT count(*) FROM orders")).isEqualTo(1200);
        restored.close();
        restored = null;

        // recovered along the old timeline instead, the old primary's last rows come back too
        Path alongOld = work.resolve("restored-timeline-1");
        CliProcess.Result old = drkit(
                "restore",
                "--name",
                "pg-main",
                "--latest",
                "--to",
                alongOld.toString(),
                "--target-timeline",
                "current");
        assertThat(old.exit()).as(old.err()).isZero();
        assertThat(Files.readString(alongOld.resolve("postgresql.auto.conf")))
                .contains("wal-fetch --target-timeline 1 ")
                .contains("recovery_target_timeline = 'current'");
        restored = PostgresServer.startExisting(bin, alongOld, livePassword);
        restored.awaitRecoveryEnd(Duration.ofMinutes(3));
        assertThat(count(restored, "SELECT count(*) FROM orders")).isEqualTo(1250);
    }

    /** What a failed recovery test needs to be understood: the restore's output, the WAL in the repository and staged, the logs. */
    private String recoveryDiagnostics(CliProcess.Result restore, Path staged, Path streamerLog) {
        StringBuilder b =
                new StringBuilder("restore said:\n").append(restore.out()).append(restore.err());
        try {
            b.append("\nrows by note: ")
                    .append(text(
                            restored,
                            "SELECT string_agg(n || ' ' || c, ', ') FROM (SELECT split_part(note, ' ', 1) n, "
                                    + "count(*) c FROM orders GROUP BY 1 ORDER BY 1) x"));
            for (Path dir : List.of(repo.resolve("wal"), staged)) {
                if (Files.isDirectory(dir)) {
                    try (Stream<Path> s = Files.walk(dir)) {
                        for (Path f : s.filter(Files::isRegularFile).sorted().toList()) {
                            b.append('\n')
                                    .append(dir.getFileName())
                                    .append(": ")
                                    .append(dir.relativize(f))
                                    .append(' ')
                                    .append(Files.size(f));
                        }
                    }
                }
            }
            b.append("\nrestored server's log:\n").append(Files.readString(restored.log()));
            if (Files.exists(streamerLog)) {
                b.append("\nstreamer's log:\n").append(Files.readString(streamerLog));
            }
        } catch (Exception e) {
            b.append("\n(could not gather more: ").append(e).append(')');
        }
        return b.toString();
    }

    /** Starts {@code wal-stream} from {@code pg} into the repository, its output in {@code log}. */
    private Process startStreamer(PostgresServer pg, Path log) throws IOException {
        return drkitProcess(
                log,
                "-v",
                "wal-stream",
                "--url",
                pg.jdbcUrl("postgres"),
                "--user",
                "postgres",
                "--password-file",
                password.toString(),
                "--spool",
                work.resolve("spool").toString());
    }

    /** A base backup of the live cluster whose WAL reaches the repository through the streamer. */
    private void backupWithStreamedWal() throws Exception {
        CliProcess.Result backup =
                drkit(CliProcess.pgMainBackup(live.jdbcUrl("postgres"), password, "--wal-source", "stream"));
        assertThat(backup.exit()).as(backup.err()).isZero();
    }

    /** Runs a backup and returns its id. */
    private String newBackup(String... args) throws Exception {
        CliProcess.Result r = drkit(args);
        assertThat(r.exit()).as(r.err()).isZero();
        return r.lastLine();
    }

    /** The files.tsv of a backup, by file name. */
    private Map<String, String[]> fileList(String backupId) throws Exception {
        Path stored = repo.resolve("backups/pg-main/" + backupId + "/files.tsv.zst");
        Map<String, String[]> out = new HashMap<>();
        CliProcess.sh(work, "zstd -dc '" + stored + "'").lines().forEach(l -> out.put(l.split("\t")[0], l.split("\t")));
        return out;
    }

    private static String[] concat(String[] a, String[] b) {
        String[] all = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, all, a.length, b.length);
        return all;
    }

    private static String now(PostgresServer pg) throws Exception {
        return text(pg, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
    }

    @ParameterizedTest(name = "first run stopped gracefully: {0}")
    @ValueSource(booleans = {true, false})
    void twoRunsOfTheStreamerInOneSegmentLeaveEverythingBothReceivedInTheRepository(boolean graceful) throws Exception {
        startLive("15", false);
        live.execute(
                "postgres",
                "CREATE TABLE orders (id int PRIMARY KEY, note text);"
                        + "INSERT INTO orders SELECT i, 'before backup ' || i FROM generate_series(1, 1000) i;");
        String streamerRow = "application_name = 'drkit-wal-streamer'";
        Path firstLog = work.resolve("streamer-1.log");
        Process first = startStreamer(live, firstLog);
        String segment;
        try {
            awaitReplication(
                    live, streamerRow, first, () -> Files.readString(firstLog), "the streamer did not connect");
            backupWithStreamedWal();
            live.execute(
                    "postgres", "INSERT INTO orders SELECT i, 'first run ' || i FROM generate_series(1001, 1200) i");
            // the insert position: with asynchronous commit the write position may still be at the
            // start of the segment the backup switched to, which pg_walfile_name names as the one before
            segment = text(live, "SELECT pg_walfile_name(pg_current_wal_insert_lsn())");
            awaitFlushed(first, firstLog);
        } finally {
            if (graceful) {
                stopGracefully(first); // stores what it received of the segment as .stream
            } else {
                first.descendants().forEach(ProcessHandle::destroyForcibly);
                first.destroyForcibly();
                assertThat(first.waitFor(60, TimeUnit.SECONDS)).isTrue();
            }
        }
        long firstCopy = graceful ? Files.size(stored(segment + ".stream.zst")) : 0;

        // written while no streamer runs: the slot keeps it for the next run
        live.execute("postgres", "INSERT INTO orders SELECT i, 'no streamer ' || i FROM generate_series(1201, 1300) i");
        Path secondLog = work.resolve("streamer-2.log");
        Process second = startStreamer(live, secondLog);
        try {
            awaitReplication(
                    live, streamerRow, second, () -> Files.readString(secondLog), "the streamer did not reconnect");
            live.execute(
                    "postgres", "INSERT INTO orders SELECT i, 'second run ' || i FROM generate_series(1301, 1400) i");
            assertThat(text(live, "SELECT pg_walfile_name(pg_current_wal_insert_lsn())"))
                    .as("both runs end in the same segment (the test's premise)")
                    .isEqualTo(segment);
            awaitFlushed(second, secondLog);
        } finally {
            stopGracefully(second); // its longer copy of the segment replaces the first run's
        }
        assertThat(Files.size(stored(segment + ".stream.zst")))
                .as("the second run's copy replaced the first's")
                .isGreaterThan(firstCopy);
        String superuserPassword = live.password();
        live.close(); // the server is lost
        live = null;

        restoreLatestAndRecover(superuserPassword);
        assertThat(count(restored, "SELECT count(*) FROM orders")).isEqualTo(1400);
        assertThat(count(restored, "SELECT count(*) FROM orders WHERE note LIKE 'second run %'"))
                .isEqualTo(100);
    }

    /**
     * Starts the live cluster (PostgreSQL 15, no archive_command) with 1000 rows in {@code
     * orders}, and a standby of it that archives into the repository once it is promoted.
     */
    private PostgresServer liveWithAStandbyThatArchivesOncePromoted() throws Exception {
        startLive("15", false);
        live.execute(
                "postgres",
                "CREATE TABLE orders (id int PRIMARY KEY, note text);"
                        + "INSERT INTO orders SELECT i, 'primary ' || i FROM generate_series(1, 1000) i;");
        return startStandby("archive_mode = on\narchive_command = '" + walPush().replace("'", "''") + "'\n");
    }

    /**
     * Restores the latest backup into {@code restored} with its WAL staged beside it, starts it
     * and waits for the end of recovery; what the restore said.
     */
    private CliProcess.Result restoreLatestAndRecover(String superuserPassword) throws Exception {
        Path target = work.resolve("restored");
        CliProcess.Result restore =
                drkit("restore", "--name", "pg-main", "--latest", "--to", target.toString(), "--stage-wal");
        assertThat(restore.exit()).as(restore.out() + restore.err()).isZero();
        restored = PostgresServer.startExisting(bin, target, superuserPassword);
        restored.awaitRecoveryEnd(Duration.ofMinutes(3));
        return restore;
    }

    /** Waits until the streamer reports flushed everything the live cluster has inserted so far. */
    private void awaitFlushed(Process streamer, Path log) throws Exception {
        String lsn = text(live, "SELECT pg_current_wal_insert_lsn()::text");
        awaitReplication(
                live,
                "application_name = 'drkit-wal-streamer' AND flush_lsn >= '" + lsn + "'",
                streamer,
                () -> Files.readString(log),
                "the streamer did not report the last rows flushed");
    }

    /**
     * Stops a streamer as a service manager would (SIGTERM to its JVM) and waits until it has
     * stored what it received. When it runs under runuser (as root), only the JVM is signalled:
     * runuser, signalled itself, kills its child two seconds later, which a graceful stop that
     * takes longer (a loaded machine) does not survive.
     */
    private static void stopGracefully(Process streamer) throws InterruptedException {
        List<ProcessHandle> jvm = streamer.descendants().toList();
        if (jvm.isEmpty()) {
            streamer.destroy();
        } else {
            jvm.forEach(ProcessHandle::destroy);
        }
        assertThat(streamer.waitFor(60, TimeUnit.SECONDS)).isTrue();
    }

    /** The one file of the repository's WAL archive with this name. */
    private Path stored(String name) throws IOException {
        try (Stream<Path> s = Files.walk(repo.resolve("wal"))) {
            List<Path> found =
                    s.filter(p -> p.getFileName().toString().equals(name)).toList();
            assertThat(found).as("%s in the WAL archive", name).hasSize(1);
            return found.get(0);
        }
    }

    @ParameterizedTest(name = "PostgreSQL {0}")
    @MethodSource("edgeVersions")
    void withTheStreamerInsteadOfArchiveCommandRowsCommittedASecondBeforeTheDeleteComeBack(String version)
            throws Exception {
        startLive(version, false);
        live.execute(
                "postgres",
                "CREATE TABLE orders (id int PRIMARY KEY, note text);"
                        + "INSERT INTO orders SELECT i, 'before backup ' || i FROM generate_series(1, 1000) i;");
        Path spool = work.resolve("spool");
        String target;
        Process streamer = drkitProcess(
                "wal-stream",
                "--url",
                live.jdbcUrl("postgres"),
                "--user",
                "postgres",
                "--password-file",
                password.toString(),
                "--spool",
                spool.toString());
        try {
            Callable<String> log = () -> streamer.isAlive()
                    ? "(still running)"
                    : new String(streamer.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
            awaitReplication(
                    live, "application_name = 'drkit-wal-streamer'", streamer, log, "the streamer did not connect");
            backupWithStreamedWal();

            // the streamer reconnects when its connection is cut
            live.execute(
                    "postgres",
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_replication "
                            + "WHERE application_name = 'drkit-wal-streamer'");
            live.execute(
                    "postgres",
                    "INSERT INTO orders SELECT i, 'after backup ' || i FROM generate_series(1001, 2000) i;");
            Thread.sleep(1000);
            target = now(live); // rows committed one second before this point must come back
            live.execute("postgres", "DELETE FROM orders WHERE id % 2 = 0");
            // wait until the streamer has the DELETE durably (its reported flush position)
            // the insert position: with asynchronous commit the DELETE may not be written yet
            String lsn = text(live, "SELECT pg_current_wal_insert_lsn()::text");
            awaitReplication(
                    live,
                    "application_name = 'drkit-wal-streamer' AND flush_lsn >= '" + lsn + "'",
                    streamer,
                    log,
                    "the streamer did not report the DELETE flushed");
        } finally {
            // a graceful stop stores the segment being received as .stream
            stopGracefully(streamer);
        }
        try (Stream<Path> s = Files.walk(repo.resolve("wal"))) {
            assertThat(s.map(p -> p.getFileName().toString())).anyMatch(n -> n.endsWith(".stream.zst"));
        }
        String superuserPassword = live.password();
        live.close(); // the server is lost
        live = null;

        Path restoredDir = work.resolve("restored");
        CliProcess.Result restore = drkit(
                "restore",
                "--name",
                "pg-main",
                "--latest",
                "--to",
                restoredDir.toString(),
                "--time",
                target,
                "--stage-wal");
        assertThat(restore.exit()).as(restore.out() + restore.err()).isZero();
        Path staged = work.resolve("restored.drkit-wal");
        try (Stream<Path> s = Files.list(staged)) {
            assertThat(s.count()).isGreaterThanOrEqualTo(2); // the backup's segments and the streamed partial one
        }
        restored = PostgresServer.startExisting(bin, restoredDir, superuserPassword);
        restored.awaitRecoveryEnd(Duration.ofMinutes(3));
        assertThat(count(restored, "SELECT count(*) FROM orders")).isEqualTo(2000);
        assertThat(count(restored, "SELECT count(*) FROM orders WHERE id % 2 = 0"))
                .isEqualTo(1000);
        assertThat(Files.readString(restored.log())).doesNotContain("wal-fetch").contains("restored log file");
    }
}
