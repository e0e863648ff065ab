package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.ConfigException;
import dev.drkit.CopyResult;
import dev.drkit.DrEvent;
import dev.drkit.DrKit;
import dev.drkit.DrListener;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.storage.FileStorageBackend;
import dev.drkit.testkit.PostgresServer;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A base backup on a primary stores the WAL it needs itself, without waiting for archive_command. */
class PhysicalBackupIT {
    @TempDir
    Path dir;

    @Test
    void aBackupHoldsItsWalEvenWhenArchiveCommandFailsAndSaysSo() throws Exception {
        try (PostgresServer pg = PostgresServer.start(Map.of("archive_mode", "on", "archive_command", "false"))) {
            pg.execute(
                    "postgres",
                    "CREATE TABLE accounts AS SELECT i AS id, md5(i::text) AS owner "
                            + "FROM generate_series(1, 20000) i");
            Settings connection = Settings.builder()
                    .set("url", pg.jdbcUrl("postgres"))
                    .set("user", PostgresServer.SUPERUSER)
                    .set("password-file", pg.passwordFile(dir).toString())
                    .build();
            try (DrKit kit =
                    DrKit.builder().repository(dir.resolve("repo").toString()).build()) {
                long t0 = System.nanoTime();
                BackupResult b = kit.backup(new TargetSpec(
                        "db",
                        "postgres",
                        connection.toBuilder()
                                .set("data-dir", pg.dataDir().toString())
                                .set("wal-timeout", "60s")
                                .build()));
                double seconds = (System.nanoTime() - t0) / 1e9;
                assertThat(seconds)
                        .as("no wait for an archive_command that never succeeds")
                        .isLessThan(60);
                assertThat(b.manifest().metadata())
                        .containsEntry("archiverFailing", true)
                        .containsKeys("walStart", "walStop");

                // the backup alone restores: its WAL is in the repository
                VerifyReport tested = kit.verify(
                        "db",
                        b.id(),
                        VerifyLevel.RESTORE,
                        connection.toBuilder()
                                .set("server-bin-dir", pg.binDir().toString())
                                .add("validate", "SELECT count(*) = 20000 FROM accounts")
                                .build());
                assertThat(tested.passed()).as(tested.problems().toString()).isTrue();

                // an offsite copy takes the WAL along, so the copy alone restores too
                CopyResult copy = kit.copy("db", b.id(), false, new FileStorageBackend(dir.resolve("offsite")));
                assertThat(copy.archiveFilesCopied()).isPositive();
                try (DrKit offsite = DrKit.builder()
                        .repository(dir.resolve("offsite").toString())
                        .build()) {
                    VerifyReport there = offsite.verify(
                            "db",
                            b.id(),
                            VerifyLevel.RESTORE,
                            connection.toBuilder()
                                    .set("server-bin-dir", pg.binDir().toString())
                                    .add("validate", "SELECT count(*) = 20000 FROM accounts")
                                    .build());
                    assertThat(there.passed()).as(there.problems().toString()).isTrue();
                }
            }
        }
    }

    /**
     * A backup with setting 'fast' false waits for a spread checkpoint, minutes long, inside
     * pg_backup_start; an interrupt (a signal stopping the command, a scheduler closing) cancels
     * it on the server. Before, the JDBC read ignored the interrupt and the command outlasted its
     * grace period.
     */
    @Test
    void anInterruptCancelsTheSpreadCheckpointThatStartsTheBackup() throws Exception {
        try (PostgresServer pg = PostgresServer.start(Map.of(
                "archive_mode", "on",
                "archive_command", "true",
                "checkpoint_timeout", "30min",
                "checkpoint_completion_target", "0.9"))) {
            // dirty buffers (a plain INSERT keeps them in shared buffers) that a spread checkpoint
            // writes a few at a time, with pauses, for minutes
            pg.execute(
                    "postgres",
                    "CREATE TABLE t (id int, v text); CHECKPOINT;"
                            + "INSERT INTO t SELECT i, md5(i::text) FROM generate_series(1, 200000) i");
            TargetSpec spec = new TargetSpec(
                    "db",
                    "postgres",
                    Settings.builder()
                            .set("url", pg.jdbcUrl("postgres"))
                            .set("user", PostgresServer.SUPERUSER)
                            .set("password-file", pg.passwordFile(dir).toString())
                            .set("data-dir", pg.dataDir().toString())
                            .set("fast", "false")
                            .build());
            try (DrKit kit =
                    DrKit.builder().repository(dir.resolve("repo").toString()).build()) {
                AtomicReference<Throwable> outcome = new AtomicReference<>();
                Thread backup = new Thread(() -> {
                    try {
                        kit.backup(spec);
                    } catch (Throwable e) {
                        outcome.set(e);
                    }
                });
                backup.start();
                String starting = "SELECT count(*) FROM pg_stat_activity WHERE state = 'active' "
                        + "AND query LIKE 'SELECT pg_backup_start%'";
                long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
                while (count(pg, starting) == 0) {
                    assertThat(backup.isAlive())
                            .as("the backup ended: %s", outcome.get())
                            .isTrue();
                    assertThat(System.nanoTime()).as("pg_backup_start runs").isLessThan(deadline);
                    Thread.sleep(50);
                }
                Thread.sleep(500); // inside the checkpoint's pauses

                backup.interrupt();
                backup.join(TimeUnit.SECONDS.toMillis(15));

                assertThat(backup.isAlive())
                        .as("still waiting for the checkpoint")
                        .isFalse();
                assertThat(outcome.get()).hasMessageContaining("interrupted");
                assertThat(count(pg, starting))
                        .as("pg_backup_start still running")
                        .isZero();
                assertThat(kit.list("db")).isEmpty();
            }
        }
    }

    private static long count(PostgresServer pg, String sql) throws Exception {
        try (var c = pg.connect("postgres");
                var st = c.createStatement();
                var rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /**
     * A page corrupted on disk (cluster stopped, a byte flipped, cluster started) is reported by
     * the next backup with its file and block, in the manifest, a warning and status; the
     * backup itself succeeds, and an incremental that reads the page again reports it again.
     */
    @Test
    void aCorruptPageOfTheLiveClusterIsReportedWithItsFileAndBlock() throws Exception {
        try (DamagedCluster damaged = DamagedCluster.start()) {
            String file = damaged.file();
            List<String> warnings = new CopyOnWriteArrayList<>();
            try (DrKit kit = DrKit.builder()
                    .repository(dir.resolve("repo").toString())
                    .listener(new DrListener() {
                        @Override
                        public void onEvent(DrEvent e) {
                            if (e.type() == DrEvent.Type.BACKUP_WARNING) {
                                warnings.add(e.message());
                            }
                        }
                    })
                    .build()) {
                Settings connection = damaged.connection(dir);
                BackupResult b = kit.backup(new TargetSpec("db", "postgres", connection));
                assertThat(b.manifest().metadata())
                        .containsEntry("dataChecksums", true)
                        .containsEntry("pageChecksumFailures", 1L);
                assertThat(b.manifest()
                                .metadata()
                                .get(BackupManifest.SOURCE_CORRUPTION)
                                .toString())
                        .contains(file + " block 3");
                assertThat(warnings)
                        .singleElement()
                        .asString()
                        .contains(file + " block 3")
                        .contains("corrupt");
                assertThat(kit.status(Map.of()).targets().get(0).problems())
                        .anySatisfy(p -> assertThat(p)
                                .contains("found the source damaged")
                                .contains(file + " block 3"));

                // the next incremental reads the (changed) file again and reports it again; a
                // clean file is not reported
                damaged.pg().execute("postgres", "UPDATE victim SET v = 'x' WHERE ctid = '(0,1)'; CHECKPOINT;");
                BackupResult incr = kit.backup(new TargetSpec(
                        "db",
                        "postgres",
                        connection.toBuilder().set("incremental", "true").build()));
                assertThat(incr.manifest().kind()).isEqualTo("incremental");
                assertThat(incr.manifest().metadata()).containsEntry("pageChecksumFailures", 1L);
            }
        }
    }

    /**
     * A damaged page stays reported while no backup reads it again: an incremental that takes
     * its file unchanged (damage from the storage leaves size and date as they were) reports
     * what the previous backup found in it, and a synthetic full backup, which reads nothing
     * of the cluster, what the backup it was built from reported. Status looks at the newest
     * backup; before, the warning was gone after the next incremental (or synthetic full).
     */
    @Test
    void aCorruptPageStaysReportedThroughIncrementalsAndASyntheticFull() throws Exception {
        try (DamagedCluster damaged = DamagedCluster.start()) {
            String file = damaged.file();
            try (DrKit kit =
                    DrKit.builder().repository(dir.resolve("repo").toString()).build()) {
                Settings connection = damaged.connection(dir);
                BackupResult full = kit.backup(new TargetSpec("db", "postgres", connection));
                assertThat(full.manifest().metadata()).containsEntry("pageChecksumFailures", 1L);

                damaged.pg().execute("postgres", "UPDATE bystander SET id = -id WHERE id < 10; CHECKPOINT;");
                Settings incremental =
                        connection.toBuilder().set("incremental", "true").build();
                BackupResult incr = kit.backup(new TargetSpec("db", "postgres", incremental));
                assertThat(incr.manifest().kind()).isEqualTo("incremental");
                assertDamageReported(kit, incr, file);

                BackupResult synthetic = kit.backup(new TargetSpec(
                        "db",
                        "postgres",
                        incremental.toBuilder().set("synthetic-full", "true").build()));
                assertThat(synthetic.manifest().metadata()).containsEntry("builtFrom", incr.id());
                assertDamageReported(kit, synthetic, file);

                // the next incremental builds on the synthetic full and still takes the file unchanged
                assertDamageReported(kit, kit.backup(new TargetSpec("db", "postgres", incremental)), file);
            }
        }
    }

    /**
     * A page whose LSN field is damaged (its highest byte: far past anything the server wrote)
     * fails its checksum and is reported: no page on disk has an LSN past the backup's end.
     * Before, its LSN, after the backup's start, made it pass for a page written during the
     * backup, which WAL replay replaces, and the damage went unreported.
     */
    @Test
    void aCorruptPageWhoseLsnIsDamagedPastTheBackupsEndIsReported() throws Exception {
        try (DamagedCluster damaged = DamagedCluster.start(3 * 8192 + 3, 0x70)) {
            try (DrKit kit =
                    DrKit.builder().repository(dir.resolve("repo").toString()).build()) {
                BackupResult full = kit.backup(new TargetSpec("db", "postgres", damaged.connection(dir)));
                assertDamageReported(kit, full, damaged.file());
                assertThat(String.valueOf(full.manifest().metadata().get(BackupManifest.SOURCE_CORRUPTION)))
                        .contains("after the backup's end");
            }
        }
    }

    /** {@code backup}, the newest, reports block 3 of {@code file} damaged, and so does status. */
    private static void assertDamageReported(DrKit kit, BackupResult backup, String file) {
        Map<String, Object> metadata = backup.manifest().metadata();
        assertThat(metadata.get("pageChecksumFailures"))
                .as("pageChecksumFailures of %s", backup.id())
                .isInstanceOfSatisfying(
                        Number.class, n -> assertThat(n.longValue()).isEqualTo(1));
        assertThat(String.valueOf(metadata.get(BackupManifest.SOURCE_CORRUPTION)))
                .contains(file + " block 3");
        assertThat(kit.status(Map.of()).targets().get(0).problems())
                .anySatisfy(p -> assertThat(p)
                        .contains("newest backup " + backup.id() + " found the source damaged")
                        .contains(file + " block 3"));
    }

    /**
     * A cluster with data checksums (no autovacuum: nothing rewrites its files unasked) whose
     * table victim has a byte of block 3 flipped on disk while it was stopped, the file dated an
     * hour back so that an incremental backup takes it unchanged from the one before.
     */
    private record DamagedCluster(PostgresServer first, PostgresServer pg, String file) implements AutoCloseable {
        static DamagedCluster start() throws Exception {
            return start(3 * 8192 + 5000, 0x5a); // inside block 3, past the header
        }

        /** As {@link #start()}, with byte {@code at} of the file XOR-ed with {@code mask}. */
        static DamagedCluster start(long at, int mask) throws Exception {
            PostgresServer first = PostgresServer.startWithDataChecksums(
                    Map.of("archive_mode", "on", "archive_command", "true", "autovacuum", "off"));
            try {
                first.execute(
                        "postgres",
                        "CREATE TABLE victim AS SELECT i AS id, md5(i::text) AS v FROM generate_series(1, 20000) i;"
                                + "CREATE TABLE bystander AS SELECT i AS id FROM generate_series(1, 1000) i;");
                String file;
                try (var c = first.connect("postgres");
                        var st = c.createStatement();
                        var rs = st.executeQuery("SELECT pg_relation_filepath('victim')")) {
                    rs.next();
                    file = rs.getString(1);
                }
                first.execute("postgres", "CHECKPOINT");
                first.crash();
                Path data = first.dataDir();
                try (var ch = FileChannel.open(data.resolve(file), StandardOpenOption.READ, StandardOpenOption.WRITE)) {
                    ByteBuffer b = ByteBuffer.allocate(1);
                    ch.read(b, at);
                    b.put(0, (byte) (b.get(0) ^ mask)).rewind();
                    ch.write(b, at);
                }
                Files.setLastModifiedTime(
                        data.resolve(file), FileTime.from(Instant.now().minus(Duration.ofHours(1))));
                return new DamagedCluster(
                        first, PostgresServer.startExisting(first.binDir(), data, first.password()), file);
            } catch (Exception | Error e) {
                first.close();
                throw e;
            }
        }

        Settings connection(Path dir) throws IOException {
            return Settings.builder()
                    .set("url", pg.jdbcUrl("postgres"))
                    .set("user", PostgresServer.SUPERUSER)
                    .set("password-file", pg.passwordFile(dir).toString())
                    .set("data-dir", first.dataDir().toString())
                    .set("wal-timeout", "60s")
                    .build();
        }

        @Override
        public void close() {
            try {
                pg.close();
            } finally {
                first.close();
            }
        }
    }

    /**
     * A synthetic full backup rebuilds the cluster under setting 'scratch-dir' (for clusters too
     * big for java.io.tmpdir), leaves nothing of it there, and restores; a scratch-dir that is
     * no directory is refused by name.
     */
    @Test
    void aSyntheticFullRebuildsInTheScratchDirectoryAndLeavesNothingThere() throws Exception {
        try (PostgresServer pg = PhysicalChecks.startWithAccounts("")) {
            Settings connection = PhysicalChecks.incremental(pg, dir);
            Path scratch = Files.createDirectories(dir.resolve("big-disk"));
            try (DrKit kit =
                    DrKit.builder().repository(dir.resolve("repo").toString()).build()) {
                kit.backup(new TargetSpec("db", "postgres", connection));
                Thread.sleep(2100); // mtime granularity: the next backup must see the files as older
                pg.execute("postgres", "UPDATE accounts SET owner = 'x' WHERE id % 100 = 0; CHECKPOINT;");
                BackupResult incremental = kit.backup(new TargetSpec("db", "postgres", connection));
                assertThat(incremental.manifest().kind()).isEqualTo("incremental");

                Path notADirectory = Files.writeString(dir.resolve("a-file"), "");
                assertThatThrownBy(() -> kit.backup(new TargetSpec(
                                "db",
                                "postgres",
                                connection.toBuilder()
                                        .set("synthetic-full", "true")
                                        .set("scratch-dir", notADirectory.toString())
                                        .build())))
                        .isInstanceOf(ConfigException.class)
                        .hasMessageContaining("setting 'scratch-dir'");

                BackupResult synthetic = kit.backup(new TargetSpec(
                        "db",
                        "postgres",
                        connection.toBuilder()
                                .set("synthetic-full", "true")
                                .set("scratch-dir", scratch.toString())
                                .build()));
                assertThat(synthetic.manifest().kind()).isEqualTo("full");
                assertThat(synthetic.manifest().metadata())
                        .containsEntry("synthetic", true)
                        .containsEntry("builtFrom", incremental.id());
                // the rebuilt cluster went to the scratch directory's private area and is gone again
                Path area = scratch.resolve("drkit-" + Files.getAttribute(scratch, "unix:uid"));
                assertThat(area).isDirectory();
                try (Stream<Path> left = Files.walk(area)) {
                    assertThat(left.filter(Files::isRegularFile)).isEmpty();
                }
                PhysicalChecks.assertRestores(
                        kit, synthetic.id(), pg, connection, "SELECT count(*) = 200 FROM accounts WHERE owner = 'x'");
            }
        }
    }

    @Test
    void aSyntheticFullRefusesAScratchDirectoryWithoutRoomBeforeWritingAnything() {
        assertThatThrownBy(() -> SyntheticFull.checkRoom(dir, 5L << 30, 1L << 30))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("5120 MiB")
                .hasMessageContaining("1024 MiB free")
                .hasMessageContaining("setting 'scratch-dir'");
        SyntheticFull.checkRoom(dir, 1L << 30, 5L << 30); // room enough: no error
    }
}
