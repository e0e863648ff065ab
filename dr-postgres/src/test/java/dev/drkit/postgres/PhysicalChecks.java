package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.testkit.PostgresServer;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Map;

/** What the physical backup integration tests share: settings for a test server, and a restore test. */
final class PhysicalChecks {
    private PhysicalChecks() {}

    /**
     * A server that archives nowhere (WAL is not what these tests restore), with table accounts
     * of 20000 rows (id, owner) and whatever {@code more} creates, checkpointed.
     */
    static PostgresServer startWithAccounts(String more) throws Exception {
        PostgresServer pg = PostgresServer.start(Map.of("archive_mode", "on", "archive_command", "true"));
        try {
            pg.execute(
                    "postgres",
                    "CREATE TABLE accounts AS SELECT i AS id, md5(i::text) AS owner FROM generate_series(1, 20000) i;"
                            + more + "CHECKPOINT;");
            return pg;
        } catch (Exception | Error e) {
            pg.close();
            throw e;
        }
    }

    /** Settings for physical backups of {@code pg} (its password file goes to {@code dir}), to add to. */
    static Settings.Builder physical(PostgresServer pg, Path dir) throws IOException {
        return Settings.builder()
                .set("url", pg.jdbcUrl("postgres"))
                .set("user", PostgresServer.SUPERUSER)
                .set("password-file", pg.passwordFile(dir).toString())
                .set("data-dir", pg.dataDir().toString());
    }

    /** Settings for incremental physical backups of {@code pg} (its password file goes to {@code dir}). */
    static Settings incremental(PostgresServer pg, Path dir) throws IOException {
        return physical(pg, dir).set("incremental", "true").build();
    }

    /** A restore test of backup {@code id} of target db passes with {@code validate}. */
    static void assertRestores(DrKit kit, String id, PostgresServer pg, Settings connection, String validate) {
        VerifyReport tested = kit.verify(
                "db",
                id,
                VerifyLevel.RESTORE,
                connection.toBuilder()
                        .set("server-bin-dir", pg.binDir().toString())
                        .add("validate", validate)
                        .build());
        assertThat(tested.passed()).as(tested.problems().toString()).isTrue();
    }
}
