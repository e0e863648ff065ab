package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.DrStatus;
import dev.drkit.Objectives;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerificationResult;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.storage.FileStorageBackend;
import dev.drkit.testkit.PostgresServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A segment of WAL lost from the archive after a base backup, on a real PostgreSQL 15 cluster:
 * the backup's verification says where point-in-time recovery from it ends, and a base backup
 * taken after the gap verifies clean, as does the first one then, noting where its recovery ends.
 */
class WalContinuityIT {
    @TempDir
    Path dir;

    @Test
    void aSegmentLostAfterABackupFailsItsVerificationAndANewBackupAfterTheGapPasses() throws Exception {
        Path spool = spool();
        try (PostgresServer pg =
                PostgresServer.start(Map.of("archive_mode", "on", "archive_command", "cp %p '" + spool + "/%f'"))) {
            pg.execute("postgres", "CREATE TABLE t (i int)");
            Settings connection = connection(pg, dir);
            try (DrKit kit =
                    DrKit.builder().repository(dir.resolve("repo").toString()).build()) {
                TargetSpec spec = new TargetSpec("db", PostgresPhysicalTargetProvider.TYPE, connection);
                BackupResult first = kit.backup(spec);
                // ten more segments, archived as archive_command with wal-push would store them
                List<String> after = switchSegments(pg, 10);
                WalArchive wal = new WalArchive(kit.archive(WalArchive.AREA));
                awaitSpooled(pg, spool, after);
                for (String name : after) {
                    wal.push(spool.resolve(name), pg.dataDir());
                }
                Settings options = Settings.builder().set("wal-in-flight", "2").build();
                VerificationResult clean = continuity(kit.verify("db", first.id(), VerifyLevel.CHECKSUM, options));
                assertThat(clean.passed()).as(clean.problems().toString()).isTrue();
                assertThat(clean.details()).containsEntry("walNewest", after.get(after.size() - 1));
                // status judges the RPO on the WAL archived since: the time its newest segment was stored
                Map<String, Objectives> hourly = Map.of("db", new Objectives(Duration.ofHours(1), null));
                DrStatus.Target status = kit.status(hourly).targets().get(0);
                assertThat(status.recoveryPointAt())
                        .isEqualTo(kit.archive(WalArchive.AREA)
                                .storedAt(WalArchive.path(
                                        WalArchive.systemIdentifier(pg.dataDir()), after.get(after.size() - 1)))
                                .orElseThrow());
                assertThat(status.rpoMet()).isTrue();
                // an offsite copy, made later, keeps when each segment was archived: status there
                // judges the same point, not the time the copy ran
                kit.copy("db", first.id(), false, new FileStorageBackend(dir.resolve("offsite")));
                try (DrKit offsite = DrKit.builder()
                        .repository(dir.resolve("offsite").toString())
                        .build()) {
                    assertThat(offsite.status(hourly).targets().get(0).recoveryPointAt())
                            .isEqualTo(status.recoveryPointAt());
                }

                // one segment in the middle goes (a careless clean-up, a disk that lost it)
                String lost = after.get(4);
                kit.archive(WalArchive.AREA).delete(WalArchive.path(WalArchive.systemIdentifier(pg.dataDir()), lost));
                VerificationResult broken = continuity(kit.verify("db", first.id(), VerifyLevel.CHECKSUM, options));
                assertThat(broken.status()).isEqualTo(VerificationResult.Status.FAILED);
                assertThat(broken.problems())
                        .singleElement()
                        .asString()
                        .contains("segment " + lost + " is missing")
                        .contains("point-in-time recovery from this backup ends at")
                        .contains("Take a new base backup");

                // a base backup after the gap covers the time after it
                BackupResult second = kit.backup(spec);
                VerificationResult fresh = continuity(kit.verify("db", second.id(), VerifyLevel.CHECKSUM, options));
                assertThat(fresh.passed()).as(fresh.problems().toString()).isTrue();
                // and the first backup, whole for the time before the gap, passes again: where its
                // recovery ends is noted, with the backup that covers the time after
                VerificationResult covered = continuity(kit.verify("db", first.id(), VerifyLevel.CHECKSUM, options));
                assertThat(covered.passed()).as(covered.problems().toString()).isTrue();
                assertThat(covered.details().get("pointInTimeRecoveryEndsAt").toString())
                        .contains("segment " + lost + " missing")
                        .contains("backup " + second.id() + " covers the time after it");
            }
        } finally {
            FileTrees.delete(spool);
        }
    }

    /**
     * A standby promoted after the backup: its timeline's history file and the new timeline's
     * segments land in the archive. The backup's WAL
     * is followed onto the new timeline as a default restore follows it, and the new timeline's
     * copy of the switch segment is the one it needs.
     */
    @Test
    void theWalIsFollowedOntoThePromotedStandbysTimeline() throws Exception {
        Path spool = spool();
        try (PostgresServer pg = PostgresServer.start(
                        Map.of("archive_mode", "on", "archive_command", "cp %p '" + spool + "/%f'"));
                PostgresServer standby = pg.startStandby()) {
            pg.execute("postgres", "CREATE TABLE t (i int)");
            try (DrKit kit =
                    DrKit.builder().repository(dir.resolve("repo").toString()).build()) {
                BackupResult b =
                        kit.backup(new TargetSpec("db", PostgresPhysicalTargetProvider.TYPE, connection(pg, dir)));
                switchSegments(pg, 3);
                String primaryAt = single(pg, "SELECT pg_current_wal_lsn()::text");
                awaitTrue(standby, "SELECT pg_last_wal_replay_lsn() >= '" + primaryAt + "'::pg_lsn");
                single(standby, "SELECT pg_promote()::text");
                awaitTrue(standby, "SELECT NOT pg_is_in_recovery()");
                List<String> after = switchSegments(standby, 3);
                List<String> wanted = new ArrayList<>(after);
                wanted.add("00000002.history");
                awaitSpooled(standby, spool, wanted);
                WalArchive wal = new WalArchive(kit.archive(WalArchive.AREA));
                List<String> names;
                try (Stream<Path> files = Files.list(spool)) {
                    names = files.map(f -> f.getFileName().toString()).sorted().toList();
                }
                for (String name : names) {
                    wal.push(spool.resolve(name), pg.dataDir());
                }
                Settings options = Settings.builder().set("wal-in-flight", "1").build();
                VerificationResult followed = continuity(kit.verify("db", b.id(), VerifyLevel.CHECKSUM, options));
                assertThat(followed.passed()).as(followed.problems().toString()).isTrue();
                assertThat(followed.details())
                        .containsEntry("timelines", "1 > 2")
                        .containsEntry("walNewest", after.get(after.size() - 1));

                // the new timeline's first segment holds the records after the switch (here the switch
                // fell on its first byte, so the old timeline left no .partial copy of it)
                String switchSegment = names.stream()
                        .filter(n -> n.startsWith("00000002") && n.length() == 24)
                        .findFirst()
                        .orElseThrow();
                kit.archive(WalArchive.AREA)
                        .delete(WalArchive.path(WalArchive.systemIdentifier(pg.dataDir()), switchSegment));
                VerificationResult broken = continuity(kit.verify("db", b.id(), VerifyLevel.CHECKSUM, options));
                assertThat(broken.problems())
                        .singleElement()
                        .asString()
                        .contains("segment " + switchSegment + " is missing");
            }
        } finally {
            FileTrees.delete(spool);
        }
    }

    /** Where archive_command copies to: the server runs as its own user when the tests run as root. */
    private static Path spool() throws IOException {
        Path spool = Files.createTempDirectory(
                Path.of("/tmp"),
                "drkit-wal-gap-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Files.setPosixFilePermissions(spool, PosixFilePermissions.fromString("rwxrwxrwx"));
        return spool;
    }

    private static Settings connection(PostgresServer pg, Path dir) throws IOException {
        return Settings.builder()
                .set("url", pg.jdbcUrl("postgres"))
                .set("user", PostgresServer.SUPERUSER)
                .set("password-file", pg.passwordFile(dir).toString())
                .set("data-dir", pg.dataDir().toString())
                .set("wal-timeout", "60s")
                .build();
    }

    private static String single(PostgresServer pg, String sql) throws SQLException {
        try (Connection c = pg.connect("postgres");
                Statement st = c.createStatement();
                ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getString(1);
        }
    }

    private static void awaitTrue(PostgresServer pg, String sql) throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (!"t".equals(single(pg, sql)) && !"true".equals(single(pg, sql))) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("still not true after 60 s: " + sql);
            }
            Thread.sleep(50);
        }
    }

    private static String tail(Path log) throws IOException {
        List<String> lines = Files.readAllLines(log);
        return String.join("\n", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
    }

    private static VerificationResult continuity(VerifyReport report) {
        return report.results().stream()
                .filter(r -> r.verifier().equals(WalContinuity.NAME))
                .findFirst()
                .orElseThrow(() -> new AssertionError("no " + WalContinuity.NAME + " in " + report.results()));
    }

    /** Writes a little and switches to a new segment {@code n} times; the names of the segments finished. */
    private static List<String> switchSegments(PostgresServer pg, int n) throws Exception {
        List<String> names = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            pg.execute("postgres", "INSERT INTO t VALUES (" + i + ")");
            try (Connection c = pg.connect("postgres");
                    Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT pg_walfile_name(pg_switch_wal())")) {
                rs.next();
                names.add(rs.getString(1));
            }
        }
        return names;
    }

    private static void awaitSpooled(PostgresServer pg, Path spool, List<String> names)
            throws IOException, InterruptedException {
        long deadline = System.nanoTime() + 60_000_000_000L;
        while (true) {
            List<String> there;
            try (Stream<Path> files = Files.list(spool)) {
                there = files.map(p -> p.getFileName().toString()).toList();
            }
            if (there.containsAll(names)) {
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new AssertionError("archive_command did not copy " + names + "; the spool holds " + there
                        + "; the server's log ends: " + tail(pg.log()));
            }
            Thread.sleep(50);
        }
    }
}
