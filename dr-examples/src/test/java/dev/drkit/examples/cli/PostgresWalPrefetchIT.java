package dev.drkit.examples.cli;

import static dev.drkit.examples.cli.PostgresCliRuns.chownToPostgres;
import static dev.drkit.examples.cli.PostgresCliRuns.java;
import static dev.drkit.examples.cli.PostgresCliRuns.text;
import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.spi.support.FileTrees;
import dev.drkit.testkit.PostgresServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Point-in-time recovery through the read-ahead wal-fetch: a base backup, 36 WAL segments with
 * rows in each, a restore to a time before a DELETE with {@code --prefetch-wal}, whose
 * restore_command moves read-ahead segments in the shell; the recovered rows are exactly those
 * of that time, and most segments never started Java. Runs as the cluster's owner, as on a
 * database host.
 */
class PostgresWalPrefetchIT {
    static final boolean ROOT = PostgresCliRuns.ROOT;
    static final int SEGMENTS = 36;

    Path work;
    Path jar;
    Path repo;
    PostgresServer live;
    PostgresServer restored;

    @AfterEach
    void tearDown() throws InterruptedException {
        if (restored != null) {
            restored.close();
        }
        if (live != null) {
            live.close();
        }
        // an archive_command started just before the server stopped may still be writing
        for (int attempt = 0; work != null; attempt++) {
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
    void recoveryReadsAheadAndMovesMostSegmentsInTheShell() throws Exception {
        work = Files.createTempDirectory(
                Path.of("/tmp"),
                "drkit-prefetch-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwxr-xr-x")));
        jar = work.resolve("drkit.jar");
        Files.copy(CliProcess.JAR, jar, StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(jar, PosixFilePermissions.fromString("rw-r--r--"));
        repo = work.resolve("repo");
        Path bin = PostgresServer.binaries("15");
        String archive = "'" + java() + "' -jar '" + jar + "' --repo '" + repo + "' wal-push %p";
        live = PostgresServer.start(bin, Map.of("archive_mode", "on", "archive_command", archive));
        Path password = live.passwordFile(work);
        chownToPostgres(work);

        live.execute("postgres", "CREATE TABLE t (seg int, note text)");
        CliProcess.Result backup = drkit(CliProcess.pgMainBackup(live.jdbcUrl("postgres"), password));
        assertThat(backup.exit()).as(backup.err()).isZero();
        for (int i = 1; i <= SEGMENTS; i++) {
            live.execute(
                    "postgres",
                    "INSERT INTO t SELECT " + i + ", 'segment " + i + " row ' || g FROM generate_series(1, 100) g");
            text(live, "SELECT pg_switch_wal()::text");
        }
        String expected = text(live, "SELECT md5(string_agg(seg || ':' || note, ',' ORDER BY seg, note)) FROM t");
        Thread.sleep(300);
        String t =
                text(live, "SELECT to_char(clock_timestamp() AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.US\"Z\"')");
        Thread.sleep(1100);
        live.execute("postgres", "DELETE FROM t");
        switchAndAwaitArchive(live);

        // the restore's own command: a background fill keeps the spool filled while PostgreSQL replays
        Path target = work.resolve("restored");
        Path spool = work.resolve("restored.drkit-fetch");
        long java = recover(bin, target, spool, expected, "async", "--time", t, "--prefetch-wal", "8");
        // the restore primed the spool and started the fill: recovery's first calls (a history lookup,
        // the backup's first segment) were the shell's
        List<String> asyncCalls = Files.readAllLines(work.resolve("async-calls.log"));
        assertThat(asyncCalls.subList(0, 3)).containsExactly("call", "call", "call");
        // the segments here replay in a few milliseconds, so recovery can overtake the fill and start Java
        // for a segment still on its way; still, most calls are the shell's
        assertThat(java).isBetween(0L, SEGMENTS / 3L);

        // each call that misses reads its batch ahead before it returns
        restored.close();
        restored = null;
        Path batchTarget = work.resolve("restored-batch");
        Path batchSpool = work.resolve("restored-batch.drkit-fetch");
        String batchCommand = "'" + java() + "' -jar '" + jar + "' --repo '" + repo + "' wal-fetch --spool '"
                + batchSpool + "' --prefetch 8 %f %p";
        long batchJava = recover(
                bin,
                batchTarget,
                batchSpool,
                expected,
                "batch",
                "--time",
                t,
                "--prefetch-wal",
                "8",
                "--restore-command",
                batchCommand);
        // 8 read ahead per Java call: one segment in 9 starts Java, and the re-read of the segment holding
        // the target; the restore primed the spool (no fill: this command reads ahead in batches), the end
        // is answered by the shell
        assertThat(batchJava).isBetween(1L, SEGMENTS / 9 + 3L);
        List<String> batchCalls = Files.readAllLines(work.resolve("batch-calls.log"));
        assertThat(batchCalls.subList(0, 3)).containsExactly("call", "call", "call");
        Path spoolDir = batchSpool;

        // exit codes: 1 for what the repository does not hold, 255 for errors, 2 for usage
        assertThat(drkit(
                                "wal-fetch",
                                "--spool",
                                spool.toString(),
                                "0000000A00000000000000FF",
                                "x",
                                "--pgdata",
                                target.toString())
                        .exit())
                .isEqualTo(1);
        CliProcess.Result broken = drkit(
                "wal-fetch",
                "--spool",
                spoolDir.toString(),
                "000000010000000000000001",
                "x",
                "--pgdata",
                work.resolve("no-such-cluster").toString());
        assertThat(broken.exit()).as(broken.err()).isEqualTo(255);
        assertThat(broken.err()).contains("pg_control");
        assertThat(drkit("wal-fetch", "--prefetch", "4", "000000010000000000000001", "x")
                        .exit())
                .isEqualTo(2);
    }

    /**
     * Restores the backup into {@code target} with {@code args}, counts the restore_command calls
     * and those that started Java, starts it, and checks its rows; returns the Java count.
     */
    private long recover(Path bin, Path target, Path spool, String expected, String mode, String... args)
            throws Exception {
        List<String> restoreArgs = new ArrayList<>(List.of("restore", "--name", "pg-main", "--latest", "--to"));
        restoreArgs.add(target.toString());
        restoreArgs.addAll(List.of(args));
        CliProcess.Result restore = drkit(restoreArgs.toArray(String[]::new));
        assertThat(restore.exit()).as(restore.out() + restore.err()).isZero();
        Path autoConf = target.resolve("postgresql.auto.conf");
        String conf = Files.readString(autoConf);
        assertThat(conf)
                .contains("restore_command = 'mv ''" + spool + "/%f'' ''%p'' 2>/dev/null || ")
                .contains("wal-fetch --spool ''" + spool + "'' --prefetch 8 ");
        assertThat(Files.getPosixFilePermissions(spool)).isEqualTo(PosixFilePermissions.fromString("rwx------"));

        // count the calls, and those that started Java
        Path calls = work.resolve(mode + "-calls.log");
        String counted = conf.replace("restore_command = '", "restore_command = 'echo call >> " + calls + "; ");
        int fetch = counted.lastIndexOf("} || { "); // the last alternative runs Java
        Files.writeString(
                autoConf,
                counted.substring(0, fetch) + "} || { echo java >> " + calls + "; " + counted.substring(fetch + 7)
                        // the promoted copy must not archive a timeline 2 into the repository the next recovery reads
                        + "archive_mode = off\n");
        chownToPostgres(autoConf);
        long started = System.nanoTime();
        restored = PostgresServer.startExisting(bin, target, live.password());
        restored.awaitRecoveryEnd(Duration.ofMinutes(5));
        long recoveryMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started);

        assertThat(text(restored, "SELECT md5(string_agg(seg || ':' || note, ',' ORDER BY seg, note)) FROM t"))
                .isEqualTo(expected);
        assertThat(text(restored, "SELECT count(DISTINCT seg)::text FROM t")).isEqualTo(String.valueOf(SEGMENTS));
        List<String> lines = Files.readAllLines(calls);
        long all = lines.stream().filter("call"::equals).count();
        long java = lines.stream().filter("java"::equals).count();
        System.out.printf(
                "%s: recovery of %d segments in %d ms: %d restore_command calls, %d answered by the shell, "
                        + "%d ran Java%n",
                mode, SEGMENTS, recoveryMillis, all, all - java, java);
        assertThat(all).isGreaterThanOrEqualTo(SEGMENTS);
        return java;
    }

    /** Runs the jar as the cluster's owner. */
    private CliProcess.Result drkit(String... args) throws IOException, InterruptedException {
        return PostgresCliRuns.drkitAsOwner(jar, repo, work, args);
    }

    /** Switches WAL and waits until the archiver has stored the segment it closed. */
    private static void switchAndAwaitArchive(PostgresServer live) throws Exception {
        String segment = text(live, "SELECT pg_walfile_name(pg_switch_wal())");
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(300);
        while (text(live, "SELECT coalesce(last_archived_wal, '') FROM pg_stat_archiver")
                        .compareTo(segment)
                < 0) {
            assertThat(System.nanoTime()).as("segment " + segment + " archived").isLessThan(deadline);
            Thread.sleep(200);
        }
    }
}
