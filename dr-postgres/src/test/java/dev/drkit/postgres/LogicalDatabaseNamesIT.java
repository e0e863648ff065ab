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
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Database names that pg_dump and pg_restore would read as something else on their command line:
 * one that looks like an option was taken for one (a database called {@code --schema-only} was
 * backed up without its rows), and one that holds {@code =} was taken for a connection string
 * (a restore into a new database called {@code dbname=live} went into the database {@code live},
 * over its data, without force).
 */
class LogicalDatabaseNamesIT {
    static PostgresServer pg;

    @TempDir
    Path dir;

    Path passwordFile;
    DrKit kit;

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

    @BeforeEach
    void setUp() throws Exception {
        passwordFile = pg.passwordFile(dir);
        kit = DrKit.builder().repository(dir.resolve("repo").toString()).build();
    }

    private Settings connection(String db) {
        return Settings.builder()
                .set(
                        "url",
                        pg.jdbcUrl(URLEncoder.encode(db, StandardCharsets.UTF_8).replace("+", "%20")))
                .set("user", PostgresServer.SUPERUSER)
                .set("password-file", passwordFile.toString())
                .set("bin-dir", pg.binDir().toString())
                .build();
    }

    private String databaseWithRows(String name, int rows) throws Exception {
        pg.createDatabase(name);
        pg.execute(name, "CREATE TABLE t (id int PRIMARY KEY); INSERT INTO t SELECT generate_series(1, " + rows + ")");
        return name;
    }

    private static long rows(String db) throws Exception {
        try (Connection c =
                        pg.connect(URLEncoder.encode(db, StandardCharsets.UTF_8).replace("+", "%20"));
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM t")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void aDatabaseNamedLikeAnOptionIsBackedUpWithItsRows() throws Exception {
        String db = databaseWithRows("--schema-only", 7);
        BackupResult b = kit.backup(new TargetSpec("odd", "postgres-logical", connection(db)));
        String copy = "copy_" + Long.toHexString(System.nanoTime());
        kit.restore(new RestoreRequest(
                "odd",
                b.id(),
                connection("postgres").toBuilder().set("to-database", copy).build(),
                false));
        assertThat(rows(copy)).as("rows of the restored copy").isEqualTo(7);
    }

    @Test
    void aNewDatabaseNamedLikeAConnectionStringIsRestoredIntoAndNoOtherOne() throws Exception {
        String source = databaseWithRows("src_" + Long.toHexString(System.nanoTime()), 5);
        BackupResult b = kit.backup(new TargetSpec("odd", "postgres-logical", connection(source)));
        String live = "live_" + Long.toHexString(System.nanoTime());
        pg.createDatabase(live);
        pg.execute(live, "CREATE TABLE kept (x int); INSERT INTO kept VALUES (42)");
        String odd = "dbname=" + live;
        kit.restore(new RestoreRequest(
                "odd",
                b.id(),
                connection("postgres").toBuilder().set("to-database", odd).build(),
                false));
        assertThat(rows(odd)).as("rows of the new database %s", odd).isEqualTo(5);
        try (Connection c = pg.connect(live);
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_tables WHERE tablename = 't'")) {
            rs.next();
            assertThat(rs.getLong(1)).as("tables the restore put into %s", live).isZero();
        }
    }

    @Test
    void aParallelRestoreIntoADatabaseNamedLikeAConnectionStringGoesThere() throws Exception {
        String source = databaseWithRows("psrc_" + Long.toHexString(System.nanoTime()), 3);
        BackupResult b = kit.backup(new TargetSpec("odd", "postgres-logical", connection(source)));
        String odd = "-x dbname=postgres '\"\n";
        kit.restore(new RestoreRequest(
                "odd",
                b.id(),
                connection("postgres").toBuilder()
                        .set("to-database", odd)
                        .set("jobs", "2")
                        .build(),
                false));
        assertThat(rows(odd)).isEqualTo(3);
    }

    @Test
    void hostileSchemaAndTableNamesPassTheRestoreTestWithTheirRowCounts() throws Exception {
        String db = "names_" + Long.toHexString(System.nanoTime());
        pg.createDatabase(db);
        String longName = "\u00e9".repeat(31) + "x"; // 63 bytes in UTF-8, the longest name
        pg.execute(
                db,
                String.join(
                        "\n",
                        "CREATE SCHEMA \"-n x; \"\"q\"\"\n'\";",
                        "CREATE TABLE \"-n x; \"\"q\"\"\n'\".\"--table=\\\\ \r\t\" (id int);",
                        "INSERT INTO \"-n x; \"\"q\"\"\n'\".\"--table=\\\\ \r\t\" SELECT generate_series(1, 4);",
                        "CREATE TABLE public.\"" + longName + "\" (id int);",
                        "INSERT INTO public.\"" + longName + "\" SELECT generate_series(1, 6);",
                        "CREATE TABLE public.\"Select\" (id int); INSERT INTO public.\"Select\" VALUES (1);"));
        BackupResult b = kit.backup(new TargetSpec("odd", "postgres-logical", connection(db)));
        @SuppressWarnings("unchecked")
        Map<String, Object> counts =
                (Map<String, Object>) b.manifest().metadata().get("rowCounts");
        assertThat(counts).hasSize(3).containsValues(4L, 6L, 1L);
        VerifyReport report = kit.verify("odd", b.id(), VerifyLevel.RESTORE, connection("postgres"));
        assertThat(report.passed()).as("%s", report.problems()).isTrue();
        assertThat(report.results().stream()
                        .filter(r -> r.verifier().equals("pg-restore-test"))
                        .findFirst()
                        .orElseThrow()
                        .details())
                .containsEntry("tablesCompared", 3);
    }
}
