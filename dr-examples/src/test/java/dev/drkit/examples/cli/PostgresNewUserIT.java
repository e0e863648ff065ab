package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.ResultSet;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The PostgreSQL logical issue's "tried as a new user would", through the real jar. */
class PostgresNewUserIT {
    @TempDir
    Path work;

    PostgresServer pg;
    Path repo;
    Path password;

    @BeforeEach
    void setUp() throws Exception {
        pg = PostgresServer.start();
        repo = work.resolve("repo");
        password = pg.passwordFile(work);
        pg.createDatabase("corporate_intel");
        pg.execute(
                "corporate_intel",
                String.join(
                        "\n",
                        "CREATE TABLE companies (id serial PRIMARY KEY, name text NOT NULL, sector text);",
                        "CREATE TABLE filings (id serial PRIMARY KEY, company_id int REFERENCES companies(id), kind text);",
                        "INSERT INTO companies (name, sector) SELECT 'co ' || i, 's' || (i % 9) FROM generate_series(1, 5000) i;",
                        "INSERT INTO filings (company_id, kind) SELECT 1 + i % 5000, '10-K' FROM generate_series(1, 20000) i;"));
    }

    @AfterEach
    void tearDown() {
        pg.close();
    }

    private String[] conn(String db, String... more) {
        String[] base = {
            "--url",
            pg.jdbcUrl(db),
            "--user",
            "postgres",
            "--password-file",
            password.toString(),
            "--bin-dir",
            pg.binDir().toString()
        };
        String[] all = new String[base.length + more.length];
        System.arraycopy(more, 0, all, 0, more.length);
        System.arraycopy(base, 0, all, more.length, base.length);
        return all;
    }

    private long companies() throws Exception {
        try (Connection c = pg.connect("corporate_intel");
                ResultSet rs = c.createStatement().executeQuery("SELECT count(*) FROM companies")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Test
    void backupVerifyByRestoreAndRecoverOneDroppedTable() throws Exception {
        CliProcess.Result backup =
                CliProcess.run(repo, conn("corporate_intel", "backup", "postgres-logical", "--name", "postgres-main"));
        assertThat(backup.exit()).as(backup.err()).isZero();
        String id = backup.lastLine();

        CliProcess.Result verify = CliProcess.run(
                repo,
                conn(
                        "postgres",
                        "verify",
                        "--name",
                        "postgres-main",
                        "--id",
                        id,
                        "--level",
                        "restore",
                        "--validate",
                        "SELECT COUNT(*) FROM companies"));
        assertThat(verify.exit()).as(verify.out() + verify.err()).isZero();
        assertThat(verify.out()).contains("pg-restore-test").contains("PASSED").contains("restoreSeconds");
        assertThat(pg.databases()).noneMatch(d -> d.startsWith("drkit_verify_"));

        pg.execute("corporate_intel", "DROP TABLE companies CASCADE");
        CliProcess.Result restore = CliProcess.run(
                repo,
                conn(
                        "postgres",
                        "restore",
                        "--name",
                        "postgres-main",
                        "--latest",
                        "--to-database",
                        "corporate_intel",
                        "--table",
                        "companies",
                        "--force"));
        assertThat(restore.exit()).as(restore.err()).isZero();
        assertThat(companies()).isEqualTo(5000);

        Path artifact = repo.resolve("backups/postgres-main/" + id + "/database.dump.zst");
        byte[] data = Files.readAllBytes(artifact);
        data[data.length / 3] ^= 0x01;
        Files.write(artifact, data);
        CliProcess.Result corrupt = CliProcess.run(repo, "verify", "--name", "postgres-main", "--id", id);
        assertThat(corrupt.exit()).isEqualTo(1);
        assertThat(corrupt.err()).contains("database.dump.zst");
    }

    @Test
    void wrongPasswordSaysAuthenticationFailedAndRecordsNoBackup() throws Exception {
        Path wrong = Files.writeString(work.resolve("wrong"), "hunter2-is-wrong\n");
        Files.setPosixFilePermissions(wrong, PosixFilePermissions.fromString("rw-------"));
        CliProcess.Result r = CliProcess.run(
                repo,
                "backup",
                "postgres-logical",
                "--name",
                "postgres-main",
                "--url",
                pg.jdbcUrl("corporate_intel"),
                "--user",
                "postgres",
                "--password-file",
                wrong.toString(),
                "--bin-dir",
                pg.binDir().toString());
        assertThat(r.exit()).as("a password file to fix is a usage error").isEqualTo(2);
        assertThat(r.err()).contains("authentication failed").doesNotContain("hunter2-is-wrong");
        assertThat(r.out()).doesNotContain("hunter2-is-wrong");
        assertThat(CliProcess.run(repo, "list").out()).doesNotContain("postgres-main");
    }
}
