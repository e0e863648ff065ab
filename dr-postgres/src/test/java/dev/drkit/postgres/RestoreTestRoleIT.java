package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.Capability;
import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.RestoreContext;
import dev.drkit.testkit.PostgresServer;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the README advises for restore tests of backups nobody signed: a role of their own with
 * CREATEDB only, and setting {@code no-owner}. A real backup passes its restore test with it, and
 * a forged archive's SQL runs with that role's rights only: its {@code COPY ... TO PROGRAM} fails
 * the test instead of running on the server, as it would for a superuser.
 */
class RestoreTestRoleIT {
    static PostgresServer pg;

    @TempDir
    Path dir;

    @BeforeAll
    static void startServer() throws Exception {
        pg = PostgresServer.start();
        pg.execute("postgres", "CREATE ROLE restore_tester LOGIN CREATEDB PASSWORD 'tester-secret'");
    }

    @AfterAll
    static void stopServer() {
        if (pg != null) {
            pg.close();
        }
    }

    private Settings tester() throws IOException {
        Path password = Files.writeString(dir.resolve("tester-password"), "tester-secret");
        Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
        return Settings.builder()
                .set("url", pg.jdbcUrl("postgres"))
                .set("user", "restore_tester")
                .set("password-file", password.toString())
                .set("bin-dir", pg.binDir().toString())
                .set("no-owner", "true")
                .build();
    }

    @Test
    void aBackupPassesTheRestoreTestOfARoleWithCreatedbOnly() throws Exception {
        String db = "app_" + Long.toHexString(System.nanoTime());
        pg.createDatabase(db);
        pg.execute(
                db,
                "CREATE SCHEMA s; CREATE TABLE s.t (id int PRIMARY KEY, v text);"
                        + "INSERT INTO s.t SELECT g, 'v' || g FROM generate_series(1, 50) g;"
                        + "CREATE VIEW s.v AS SELECT count(*) AS n FROM s.t;");
        try (DrKit kit =
                DrKit.builder().repository(dir.resolve("repo").toString()).build()) {
            BackupResult b = kit.backup(new TargetSpec(
                    "app",
                    "postgres-logical",
                    Settings.builder()
                            .set("url", pg.jdbcUrl(db))
                            .set("user", PostgresServer.SUPERUSER)
                            .set("password-file", pg.passwordFile(dir).toString())
                            .set("bin-dir", pg.binDir().toString())
                            .build()));
            VerifyReport report = kit.verify(
                    "app",
                    b.id(),
                    VerifyLevel.RESTORE,
                    tester().toBuilder().add("validate", "SELECT n FROM s.v").build());
            assertThat(report.passed()).as("%s", report.problems()).isTrue();
        }
        assertThat(pg.databases()).noneMatch(d -> d.startsWith(ScratchDatabases.PREFIX));
    }

    @Test
    void aForgedArchiveRunsNoProgramWithTheRightsOfThatRole() throws Exception {
        Path pwned = Path.of("/tmp", "drkit-role-" + Long.toHexString(System.nanoTime()));
        byte[] forged = new SyntheticPgDump(14)
                .statement(1, "COMMENT", "x", "COPY (SELECT 1) TO PROGRAM 'touch " + pwned + "';\n")
                .bytes();
        Path repo = dir.resolve("forged-repo");
        String id;
        try (DrKit forger = DrKit.builder()
                .repository(repo.toString())
                .register(forging(forged))
                .build()) {
            id = forger.backup(new TargetSpec("app", "postgres-logical", Settings.empty()))
                    .id();
        }
        try (DrKit kit = DrKit.builder().repository(repo.toString()).build()) {
            VerifyReport report = kit.verify("app", id, VerifyLevel.RESTORE, tester());
            assertThat(report.passed()).isFalse();
            assertThat(report.problems()).anyMatch(p -> p.contains("pg_execute_server_program"));
        } finally {
            boolean ran = Files.exists(pwned);
            Files.deleteIfExists(pwned);
            assertThat(ran).as("the forged program ran on the server").isFalse();
        }
        assertThat(pg.databases()).noneMatch(d -> d.startsWith(ScratchDatabases.PREFIX));
    }

    private static BackupTargetProvider forging(byte[] archive) {
        return new BackupTargetProvider() {
            @Override
            public String type() {
                return "postgres-logical";
            }

            @Override
            public BackupTarget create(Settings settings) {
                return new BackupTarget() {
                    @Override
                    public String type() {
                        return "postgres-logical";
                    }

                    @Override
                    public Set<Capability> capabilities() {
                        return EnumSet.of(Capability.FULL);
                    }

                    @Override
                    public void backup(BackupContext context) throws IOException {
                        try (var out = context.newArtifact(PostgresLogicalTarget.ARCHIVE)) {
                            out.write(archive);
                        }
                    }

                    @Override
                    public void restore(RestoreContext context) {
                        throw new UnsupportedOperationException();
                    }
                };
            }
        };
    }
}
