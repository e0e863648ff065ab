package dev.drkit.examples.cli;

import static dev.drkit.examples.cli.PostgresCliRuns.chownToPostgres;
import static dev.drkit.examples.cli.PostgresCliRuns.java;
import static dev.drkit.examples.cli.PostgresCliRuns.text;
import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrKit;
import dev.drkit.postgres.WalArchive;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.testkit.PostgresServer;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The asynchronous archive_command through the jar: a pgbench burst of more than 1 GiB of WAL
 * archived by the documented shell test of {@code SPOOL/%f.ok} or {@code drkit wal-push --spool SPOOL %p}, every archived
 * segment checked against the cluster's and a restore to the end of the WAL; and a batch killed
 * with SIGKILL half-way, whose acknowledged segments are all stored intact and whose rest the
 * next call stores.
 */
class WalPushAsyncIT {
    static final boolean ROOT = PostgresCliRuns.ROOT;
    static final long GIB = 1L << 30;

    Path work;
    Path jar;
    Path repo;
    Path spool;
    Path bin;
    PostgresServer live;
    PostgresServer restored;

    @BeforeEach
    void setUp() throws Exception {
        work = Files.createTempDirectory(
                Path.of("/tmp"),
                "drkit-walpush-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        jar = work.resolve("drkit.jar");
        Files.copy(CliProcess.JAR, jar, StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(jar, PosixFilePermissions.fromString("rw-r--r--"));
        repo = work.resolve("repo");
        spool = work.resolve("spool");
        bin = PostgresServer.binaries("15");
    }

    @AfterEach
    void tearDown() throws Exception {
        if (restored != null) {
            restored.close();
        }
        if (live != null) {
            live.close();
        }
        for (int attempt = 0; ; attempt++) { // an archive_command started just before the stop may still write
            try {
                FileTrees.delete(work);
                return;
            } catch (RuntimeException e) {
                if (attempt == 50) {
                    throw e;
                }
                Thread.sleep(200);
            }
        }
    }

    @Test
    void aBurstOfMoreThanOneGibOfWalIsArchivedWholeAndRestoresToItsEnd() throws Exception {
        // the documented fast path: the acknowledgement must name the very file pushed (PostgreSQL turns %% into %)
        // (each call that reaches Java is counted, so that a fast path that never matches fails the test)
        Path javaCalls = work.resolve("java-calls");
        String archive = "read -r ack 2>/dev/null < '" + spool
                + "/%f.ok' && test \"$ack\" = \"1 $(LC_ALL=C stat -c \"%%d %%i %%s %%.9Y %%.9Z\" %p)\" || { echo %f >> '"
                + javaCalls + "'; '" + java()
                + "' -jar '" + jar + "' --repo '" + repo + "' wal-push --spool '" + spool + "' --jobs 2 %p; }";
        live = PostgresServer.start(
                bin,
                Map.of(
                        "archive_mode", "on",
                        "archive_command", archive,
                        "max_wal_size", "16GB",
                        "checkpoint_timeout", "1h"));
        Path password = live.passwordFile(work);
        chownToPostgres(work);
        CliProcess.Result backup = drkit(CliProcess.pgMainBackup(live.jdbcUrl("postgres"), password));
        assertThat(backup.exit()).as(backup.err()).isZero();

        long t0 = System.nanoTime();
        long startLsn = WalArchive.parseLsn(text(live, "SELECT pg_current_wal_lsn()::text"));
        pgbench("-i", "-s", "90", "-q");
        pgbench("-n", "-c", "4", "-T", "10");
        live.execute("postgres", "CREATE TABLE marker AS SELECT 'the end' AS note");
        long endLsn = WalArchive.parseLsn(text(live, "SELECT pg_current_wal_lsn()::text"));
        assertThat(endLsn - startLsn).as("WAL written by the burst").isGreaterThanOrEqualTo(GIB);
        String last = text(live, "SELECT pg_walfile_name(pg_switch_wal())");
        awaitArchived(live, last, Duration.ofMinutes(10));
        System.out.printf(
                "WalPushAsyncIT: %d MiB of WAL written and archived in %.1f s%n",
                (endLsn - startLsn) >> 20, (System.nanoTime() - t0) / 1e9);
        String accounts = text(live, "SELECT count(*) || ' ' || sum(abalance) FROM pgbench_accounts");
        String history = text(live, "SELECT count(*) || ' ' || coalesce(sum(delta), 0) FROM pgbench_history");

        // every segment from the backup's first to the last is in the repository, and every one
        // PostgreSQL still holds (no checkpoint recycled any) has the cluster's bytes
        Path data = live.dataDir();
        long systemId = WalArchive.systemIdentifier(data);
        List<String> done = doneSegments(data);
        assertThat(done.size()).as("archived segments still in pg_wal").isGreaterThanOrEqualTo(64);
        try (DrKit kit = DrKit.builder().repository(repo.toString()).build()) {
            WalArchive wal = new WalArchive(kit.archive(WalArchive.AREA));
            List<String> stored =
                    kit.archive(WalArchive.AREA).list(Long.toUnsignedString(systemId) + "/00000001/").stream()
                            .map(p -> p.substring(p.lastIndexOf('/') + 1))
                            .filter(n -> n.length() == 24)
                            .toList();
            assertThat(stored).contains(last).containsAll(done);
            long calls = Files.readAllLines(javaCalls).size();
            System.out.printf("WalPushAsyncIT: %d of %d archive_command calls started Java%n", calls, stored.size());
            assertThat(calls)
                    .as("archive_command calls that started Java, of %d segments archived", stored.size())
                    .isPositive()
                    .isLessThan(stored.size() / 2);
            long first = segmentNumber(stored.get(0));
            for (int i = 0; i < stored.size(); i++) {
                assertThat(segmentNumber(stored.get(i)))
                        .as("no gap at " + stored.get(i))
                        .isEqualTo(first + i);
            }
            Path fetched = work.resolve("fetched");
            for (String name : done) {
                Files.deleteIfExists(fetched);
                assertThat(wal.fetch(name, fetched, data)).isTrue();
                assertThat(Files.mismatch(fetched, data.resolve("pg_wal").resolve(name)))
                        .as(name + " as stored")
                        .isEqualTo(-1L);
            }
            Files.deleteIfExists(fetched);
        }
        // the spool holds no failure, and no more acknowledgements than one batch
        try (Stream<Path> s = Files.list(spool)) {
            List<String> names = s.map(p -> p.getFileName().toString()).toList();
            assertThat(names).noneMatch(n -> n.endsWith(".error")).noneMatch(n -> n.startsWith(".tmp-"));
            assertThat(names.stream().filter(n -> n.endsWith(".ok"))).hasSizeLessThanOrEqualTo(64);
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(spool)))
                .isEqualTo("rwx------");
        CliProcess.Result status = drkit("status", "--wal-spool", spool.toString());
        assertThat(status.out()).doesNotContain("is not archived");
        // a failure a batch recorded makes status name the file and fail
        Path error = spool.resolve(done.get(0) + ".error");
        Files.writeString(error, "storing it failed: disk full\n");
        CliProcess.Result unhealthy = drkit("status", "--wal-spool", spool.toString());
        assertThat(unhealthy.exit()).isEqualTo(1);
        assertThat(unhealthy.out())
                .contains("WAL file " + done.get(0) + " is not archived: storing it failed: disk full")
                .contains("UNHEALTHY");
        Files.delete(error);

        // a restore of the base backup and all archived WAL has every row of the burst
        Path target = work.resolve("restored");
        CliProcess.Result restore =
                drkit("restore", "--name", "pg-main", "--latest", "--to", target.toString(), "--stage-wal");
        assertThat(restore.exit()).as(restore.out() + restore.err()).isZero();
        restored = PostgresServer.startExisting(bin, target, live.password());
        restored.awaitRecoveryEnd(Duration.ofMinutes(10));
        assertThat(text(restored, "SELECT note FROM marker")).isEqualTo("the end");
        assertThat(text(restored, "SELECT count(*) || ' ' || sum(abalance) FROM pgbench_accounts"))
                .isEqualTo(accounts);
        assertThat(text(restored, "SELECT count(*) || ' ' || coalesce(sum(delta), 0) FROM pgbench_history"))
                .isEqualTo(history);
    }

    @Test
    void aBatchKilledHalfWayLosesNoAcknowledgedSegmentAndTheNextCallStoresTheRest() throws Exception {
        live = PostgresServer.start(bin, Map.of("archive_mode", "on")); // no archive_command: segments stay ready
        live.execute("postgres", "CREATE TABLE t (x text)");
        for (int i = 0; i < 30; i++) {
            live.execute(
                    "postgres",
                    "INSERT INTO t SELECT md5(i::text) FROM generate_series(1, 20000) i; SELECT pg_switch_wal()");
        }
        Path data = live.dataDir();
        List<String> ready = readySegments(data);
        assertThat(ready).hasSizeGreaterThanOrEqualTo(30);

        Process push = walPush(data, ready.get(0), "--jobs", "1");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
        while (acknowledged().size() < 3) {
            assertThat(push.isAlive()).as("wal-push ended before it was killed").isTrue();
            assertThat(System.nanoTime())
                    .as("acknowledgements within 2 minutes")
                    .isLessThan(deadline);
            Thread.sleep(10);
        }
        push.destroyForcibly(); // SIGKILL
        assertThat(push.waitFor(30, TimeUnit.SECONDS)).isTrue();
        List<String> acked = acknowledged();
        assertThat(acked).as("killed half-way").hasSizeLessThan(ready.size());
        assertStoredIntact(data, acked);

        // PostgreSQL's next call is for the first segment without an acknowledgement
        String next = ready.stream().filter(n -> !acked.contains(n)).findFirst().orElseThrow();
        Process again = walPush(data, next, "--jobs", "2");
        assertThat(again.waitFor(5, TimeUnit.MINUTES)).isTrue();
        assertThat(again.exitValue())
                .as(new String(again.getInputStream().readAllBytes(), StandardCharsets.UTF_8))
                .isZero();
        assertThat(acknowledged()).containsAll(ready);
        assertStoredIntact(data, ready);
        try (Stream<Path> s = Files.list(spool)) {
            assertThat(s.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith(".tmp-"));
        }
    }

    /** wal-push of one segment in the data directory, as root (so that SIGKILL reaches the JVM itself). */
    private Process walPush(Path data, String name, String... more) throws IOException {
        List<String> cmd = new ArrayList<>(List.of(
                java(), "-jar", jar.toString(), "--repo", repo.toString(), "wal-push", "--spool", spool.toString()));
        cmd.addAll(List.of(more));
        cmd.add("pg_wal/" + name);
        return new ProcessBuilder(cmd)
                .directory(data.toFile())
                .redirectErrorStream(true)
                .start();
    }

    /**
     * An archive that always fails (the repository location is under a file): PostgreSQL keeps
     * every WAL file until pg_wal fills and the cluster stops. With --max-pending the files are
     * dropped once the waiting WAL is over the limit, loudly, and the cluster's WAL moves on.
     */
    @Test
    void anArchiveThatKeepsFailingDropsWalPastMaxPendingAndSaysSo() throws Exception {
        String archive = "'" + java() + "' -jar '" + jar + "' --repo /dev/null/repository wal-push --spool '" + spool
                + "' --max-pending 40MiB %p";
        live = PostgresServer.start(bin, Map.of("archive_mode", "on", "archive_command", archive));
        chownToPostgres(work);
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        // one 16 MiB file waiting, under the limit: its push fails, and PostgreSQL keeps it
        live.execute("postgres", "CREATE TABLE t (i int)");
        String first = text(live, "SELECT pg_walfile_name(pg_switch_wal())");
        while (Long.parseLong(text(live, "SELECT failed_count FROM pg_stat_archiver")) == 0) {
            assertThat(System.nanoTime()).as("no push failed").isLessThan(deadline);
            Thread.sleep(200);
        }
        assertThat(text(live, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver"))
                .as("nothing archived under the limit")
                .isEmpty();
        // three more files ready, 64 MiB waiting, over the limit: failing files are dropped, oldest
        // first, until 32 MiB waits (two files), under the limit again, whose pushes fail on
        List<String> switched = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            live.execute("postgres", "INSERT INTO t VALUES (" + i + ")");
            switched.add(text(live, "SELECT pg_walfile_name(pg_switch_wal())"));
        }
        String droppedUpTo = switched.get(0);
        while (text(live, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
                        .compareTo(droppedUpTo)
                < 0) {
            assertThat(System.nanoTime())
                    .as("the archiver never moved past the failures: %s", Files.readString(live.log()))
                    .isLessThan(deadline);
            text(live, "SELECT pg_reload_conf()::text"); // wakes an archiver waiting after three failures
            Thread.sleep(500);
        }
        Thread.sleep(2000);
        assertThat(text(live, "SELECT last_archived_wal FROM pg_stat_archiver"))
                .as("under the limit again, nothing more is dropped")
                .isEqualTo(droppedUpTo);
        try (Stream<Path> records = Files.list(spool)) {
            assertThat(records.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".dropped")))
                    .as("dropped files recorded in the spool")
                    .isNotEmpty();
        }
        assertThat(Files.readString(live.log())).contains("is DROPPED, not archived");
    }

    private void assertStoredIntact(Path data, List<String> names) throws IOException {
        try (DrKit kit = DrKit.builder().repository(repo.toString()).build()) {
            WalArchive wal = new WalArchive(kit.archive(WalArchive.AREA));
            Path fetched = work.resolve("fetched");
            for (String name : names) {
                Files.deleteIfExists(fetched);
                assertThat(wal.fetch(name, fetched, data)).as(name + " stored").isTrue();
                assertThat(Files.mismatch(fetched, data.resolve("pg_wal").resolve(name)))
                        .as(name + " intact")
                        .isEqualTo(-1L);
            }
            Files.deleteIfExists(fetched);
        }
    }

    private List<String> acknowledged() throws IOException {
        if (!Files.isDirectory(spool)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(spool)) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".ok") && !n.startsWith("."))
                    .map(n -> n.substring(0, n.length() - 3))
                    .sorted()
                    .toList();
        }
    }

    private static List<String> readySegments(Path data) throws IOException {
        return statusSegments(data, ".ready");
    }

    private static List<String> doneSegments(Path data) throws IOException {
        return statusSegments(data, ".done");
    }

    private static List<String> statusSegments(Path data, String suffix) throws IOException {
        try (Stream<Path> s = Files.list(data.resolve("pg_wal/archive_status"))) {
            return s.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(suffix))
                    .map(n -> n.substring(0, n.length() - suffix.length()))
                    .filter(n -> n.length() == 24)
                    .sorted()
                    .toList();
        }
    }

    private static long segmentNumber(String name) {
        return Long.parseLong(name.substring(8, 16), 16) * 0x100 + Long.parseLong(name.substring(16, 24), 16);
    }

    private void pgbench(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(
                bin.resolve("pgbench").toString(),
                "-h",
                "localhost",
                "-p",
                String.valueOf(live.port()),
                "-U",
                "postgres"));
        cmd.addAll(List.of(args));
        cmd.add("postgres");
        ProcessBuilder pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().put("PGPASSWORD", live.password());
        Process p = pb.start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(10, TimeUnit.MINUTES)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
    }

    private static void awaitArchived(PostgresServer pg, String segment, Duration timeout) throws Exception {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (text(pg, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
                        .compareTo(segment)
                < 0) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("segment " + segment + " was not archived; archiver: "
                        + text(
                                pg,
                                "SELECT failed_count || ' failures, last ' || coalesce(last_failed_wal, '-') "
                                        + "FROM pg_stat_archiver")
                        + "\n" + Files.readString(pg.log()));
            }
            Thread.sleep(200);
        }
    }

    /** Runs the jar as the cluster's owner. */
    private CliProcess.Result drkit(String... args) throws IOException, InterruptedException {
        return PostgresCliRuns.drkitAsOwner(jar, repo, work, args);
    }
}
