package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.CopyResult;
import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.storage.FileStorageBackend;
import dev.drkit.testkit.PostgresServer;
import java.nio.file.Path;
import java.util.Map;
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
}
