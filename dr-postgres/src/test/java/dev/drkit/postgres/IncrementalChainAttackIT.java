package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.testkit.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Block-level incrementals when the chain they would build on is broken. */
class IncrementalChainAttackIT {
    @TempDir
    Path dir;

    /**
     * The full backup an incremental takes files from is gone (deleted by hand, or lost): the
     * next incremental must not reference it again, or it could never be restored.
     */
    @Test
    void anIncrementalAfterItsChainLostABackupIsTakenInFull() throws Exception {
        try (PostgresServer pg = PostgresServer.start(Map.of("archive_mode", "on", "archive_command", "true"))) {
            pg.execute(
                    "postgres",
                    "CREATE TABLE accounts AS SELECT i AS id, md5(i::text) AS owner FROM generate_series(1, 20000) i;"
                            + "CREATE TABLE untouched AS SELECT i FROM generate_series(1, 20000) i; CHECKPOINT;");
            Settings connection = Settings.builder()
                    .set("url", pg.jdbcUrl("postgres"))
                    .set("user", PostgresServer.SUPERUSER)
                    .set("password-file", pg.passwordFile(dir).toString())
                    .set("data-dir", pg.dataDir().toString())
                    .set("incremental", "true")
                    .build();
            Path repo = dir.resolve("repo");
            try (DrKit kit = DrKit.builder().repository(repo.toString()).build()) {
                BackupResult full = kit.backup(new TargetSpec("db", "postgres", connection));
                Thread.sleep(2100); // mtime granularity: the next backup must see the files as older
                pg.execute("postgres", "UPDATE accounts SET owner = 'x' WHERE id % 100 = 0; CHECKPOINT;");
                BackupResult first = kit.backup(new TargetSpec("db", "postgres", connection));
                assertThat(first.manifest().kind()).isEqualTo("incremental");
                assertThat(first.manifest().parent()).isEqualTo(full.id());

                FileTrees.delete(repo.resolve("backups").resolve("db").resolve(full.id()));
                assertThat(repo.resolve("backups").resolve("db").resolve(full.id()))
                        .doesNotExist();

                pg.execute("postgres", "UPDATE accounts SET owner = 'y' WHERE id % 100 = 1; CHECKPOINT;");
                BackupResult next = kit.backup(new TargetSpec("db", "postgres", connection));
                assertThat(next.manifest().dependsOn()).doesNotContain(full.id());
                assertThat(next.manifest().parent()).isNotEqualTo(full.id());
                assertThat(String.join(
                                "\n",
                                Files.readAllLines(repo.resolve("backups")
                                        .resolve("db")
                                        .resolve(next.id())
                                        .resolve("manifest.json"))))
                        .doesNotContain(full.id());
                VerifyReport tested = kit.verify(
                        "db",
                        next.id(),
                        VerifyLevel.RESTORE,
                        connection.toBuilder()
                                .set("server-bin-dir", pg.binDir().toString())
                                .add("validate", "SELECT count(*) = 20000 FROM untouched")
                                .build());
                assertThat(tested.passed()).as(tested.problems().toString()).isTrue();
            }
        }
    }
}
