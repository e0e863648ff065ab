package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.testkit.PostgresServer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Block-level incremental chains of odd shapes, restored from the newest backup back. */
class IncrementalChainShapesIT {
    @TempDir
    Path dir;

    /**
     * An honest chain of three incrementals over a table whose file shrinks (VACUUM cuts its
     * empty tail), grows past its first size, then changes in place: the restore of the last
     * one, each page taken from the newest backup holding it, has the source's rows.
     */
    @Test
    void aChainThroughAFileThatShrinksAndGrowsRestoresTheSourceRows() throws Exception {
        try (PostgresServer pg = PostgresServer.start(Map.of("archive_mode", "on", "archive_command", "true"))) {
            pg.execute(
                    "postgres",
                    "CREATE TABLE accounts AS SELECT i AS id, md5(i::text) AS owner FROM generate_series(1, 20000) i;"
                            + "ALTER TABLE accounts SET (autovacuum_enabled = off); CHECKPOINT;");
            Settings connection = Settings.of(Map.of(
                    "url", pg.jdbcUrl("postgres"),
                    "user", PostgresServer.SUPERUSER,
                    "password-file", pg.passwordFile(dir).toString(),
                    "data-dir", pg.dataDir().toString(),
                    "incremental", "true"));
            try (DrKit kit =
                    DrKit.builder().repository(dir.resolve("repo").toString()).build()) {
                kit.backup(new TargetSpec("db", "postgres", connection));
                long first = size(pg);
                List<String> steps = List.of(
                        "DELETE FROM accounts WHERE id > 2000",
                        "INSERT INTO accounts SELECT i, md5((i * 3)::text) FROM generate_series(20001, 60000) i",
                        "UPDATE accounts SET owner = 'z' || id WHERE id % 7 = 0");
                List<Long> sizes = new ArrayList<>();
                BackupResult last = null;
                for (String step : steps) {
                    Thread.sleep(2100); // mtime granularity: the next backup must see the files as older
                    pg.execute("postgres", step);
                    pg.execute("postgres", "VACUUM accounts");
                    pg.execute("postgres", "CHECKPOINT");
                    sizes.add(size(pg));
                    last = kit.backup(new TargetSpec("db", "postgres", connection));
                    assertThat(last.manifest().kind()).isEqualTo("incremental");
                }
                assertThat(sizes.get(0)).as("shrank").isLessThan(first);
                assertThat(sizes.get(1)).as("grew past its first size").isGreaterThan(first);
                String rows = fingerprint(pg);
                Path restored = dir.resolve("restored");
                Map<String, String> options =
                        Map.of("to", restored.toString(), "stage-wal", "true", "immediate", "true");
                kit.restore(new RestoreRequest("db", last.id(), Settings.of(options), false));
                try (PostgresServer again = PostgresServer.startExisting(pg.binDir(), restored, pg.password())) {
                    again.awaitRecoveryEnd(Duration.ofMinutes(2));
                    assertThat(fingerprint(again)).isEqualTo(rows);
                }
                // and a restore test of the incremental reads the earlier backups' files as the restore does
                String validate =
                        "SELECT (SELECT count(*) || ':' || sum(hashtext(id || owner)) FROM accounts) = '" + rows + "'";
                VerifyReport tested = kit.verify(
                        "db",
                        last.id(),
                        VerifyLevel.RESTORE,
                        Settings.of(Map.of(
                                "url", pg.jdbcUrl("postgres"),
                                "user", PostgresServer.SUPERUSER,
                                "password-file", pg.passwordFile(dir).toString(),
                                "server-bin-dir", pg.binDir().toString(),
                                "validate", validate)));
                assertThat(tested.passed()).as(tested.problems().toString()).isTrue();
            }
        }
    }

    private static long size(PostgresServer pg) throws SQLException {
        return Long.parseLong(query(pg, "SELECT pg_relation_size('accounts')"));
    }

    private static String fingerprint(PostgresServer pg) throws SQLException {
        return query(pg, "SELECT count(*) || ':' || sum(hashtext(id || owner)) FROM accounts");
    }

    private static String query(PostgresServer pg, String sql) throws SQLException {
        try (Connection c = pg.connect("postgres");
                ResultSet rs = c.prepareStatement(sql).executeQuery()) {
            return rs.next() ? rs.getString(1) : null;
        }
    }
}
