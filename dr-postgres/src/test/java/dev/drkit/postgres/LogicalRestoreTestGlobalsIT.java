package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.testkit.PostgresServer;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restore test runs beside the live databases, on their server, and restores into a scratch
 * database only. A verification may be given the target's settings (the CLI merges a setup's
 * target settings into them), and with them {@code globals}: the restore test then ran the
 * backup's {@code globals.sql} on the live server, every week putting the roles back as they
 * were at backup time (passwords, attributes, limits), and with a forged one, as its writer chose.
 */
class LogicalRestoreTestGlobalsIT {
    static PostgresServer pg;

    @TempDir
    Path dir;

    @BeforeAll
    static void startServer() throws Exception {
        pg = PostgresServer.start();
    }

    @AfterAll
    static void stopServer() {
        if (pg != null) {
            pg.close();
        }
    }

    @Test
    void aRestoreTestNeverRestoresRolesOnTheServerItRunsOn() throws Exception {
        String db = "roles_" + Long.toHexString(System.nanoTime());
        String role = "app_" + Long.toHexString(System.nanoTime());
        pg.createDatabase(db);
        pg.execute(db, "CREATE TABLE t (id int); INSERT INTO t VALUES (1), (2)");
        pg.execute("postgres", "CREATE ROLE " + role + " CONNECTION LIMIT 5");
        Settings target = Settings.builder()
                .set("url", pg.jdbcUrl(db))
                .set("user", PostgresServer.SUPERUSER)
                .set("password-file", pg.passwordFile(dir).toString())
                .set("bin-dir", pg.binDir().toString())
                .set("globals", "true")
                .build();
        try (DrKit kit =
                DrKit.builder().repository(dir.resolve("repo").toString()).build()) {
            BackupResult b = kit.backup(new TargetSpec("roles", "postgres-logical", target));
            assertThat(b.manifest().artifact(PostgresLogicalTarget.GLOBALS)).isPresent();
            // the live role changes after the backup, as roles do
            pg.execute("postgres", "ALTER ROLE " + role + " CONNECTION LIMIT 9");

            VerifyReport report = kit.verify(
                    "roles",
                    b.id(),
                    VerifyLevel.RESTORE,
                    target.toBuilder().set("url", pg.jdbcUrl("postgres")).build());

            assertThat(report.passed()).as("%s", report.problems()).isTrue();
        }
        try (Connection c = pg.connect("postgres");
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT rolconnlimit FROM pg_roles WHERE rolname = '" + role + "'")) {
            assertThat(rs.next()).isTrue();
            assertThat(rs.getInt(1))
                    .as("the live role's connection limit after the restore test")
                    .isEqualTo(9);
        }
    }
}
