package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.internal.repo.ManifestCodec;
import dev.drkit.spi.support.Json;
import dev.drkit.testkit.PostgresServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The restore test counts the rows of each table a logical backup's manifest lists. The keys are
 * SQL (quoted identifiers) and were run as they stood, so a forged manifest ran statements of its
 * own (a superuser role, {@code COPY ... TO PROGRAM}) with the verifier's credentials, while
 * verification is what one runs on backups not yet trusted. Only two identifiers are run now;
 * tables whose names need quoting still verify.
 */
class ForgedRowCountsIT {
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

    private Settings connection(String db) throws Exception {
        return Settings.builder()
                .set("url", pg.jdbcUrl(db))
                .set("user", PostgresServer.SUPERUSER)
                .set("password-file", pg.passwordFile(dir).toString())
                .set("bin-dir", pg.binDir().toString())
                .build();
    }

    private boolean roleExists(String role) throws Exception {
        try (Connection c = pg.connect("postgres");
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM pg_roles WHERE rolname = '" + role + "'")) {
            rs.next();
            return rs.getLong(1) > 0;
        }
    }

    @Test
    void aForgedRowCountKeyRunsNothingAndFailsTheVerification() throws Exception {
        String db = "intel_" + Long.toHexString(System.nanoTime());
        pg.createDatabase(db);
        pg.execute(
                db,
                "CREATE SCHEMA \"My Schema\"; CREATE TABLE \"My Schema\".\"Odd; \"\"Name\"\"\" (id int); "
                        + "INSERT INTO \"My Schema\".\"Odd; \"\"Name\"\"\" VALUES (1), (2); CREATE TABLE t (id int); "
                        + "INSERT INTO t VALUES (1);");
        try (DrKit kit =
                DrKit.builder().repository(dir.resolve("repo").toString()).build()) {
            BackupResult b = kit.backup(new TargetSpec("intel", "postgres-logical", connection(db)));
            VerifyReport genuine = kit.verify("intel", b.id(), VerifyLevel.RESTORE, connection("postgres"));
            assertThat(genuine.passed()).as(genuine.problems().toString()).isTrue();

            // where the server's user can write: the program's mark must be possible
            Path pwned = Path.of(System.getProperty("java.io.tmpdir"), "drkit-forged-" + System.nanoTime());
            String role = "forged_" + Long.toHexString(System.nanoTime());
            Path manifest = dir.resolve("repo/backups/intel/" + b.id() + "/manifest.json");
            BackupManifest m = Json.read(Files.readAllBytes(manifest), BackupManifest.class);
            Map<String, Object> meta = new LinkedHashMap<>(m.metadata());
            meta.put(
                    "rowCounts",
                    Map.of(
                            "public.t; CREATE ROLE " + role + " SUPERUSER LOGIN PASSWORD 'x'; "
                                    + "COPY (SELECT 1) TO PROGRAM 'touch " + pwned + "'; SELECT 1",
                            1));
            byte[] forged = Json.write(new BackupManifest(
                    m.format(),
                    m.id(),
                    m.target(),
                    m.type(),
                    m.kind(),
                    m.parent(),
                    m.dependsOn(),
                    m.startedAt(),
                    m.finishedAt(),
                    m.drkitVersion(),
                    m.host(),
                    m.artifacts(),
                    meta));
            Files.delete(manifest);
            Files.write(manifest, forged);
            Path checksum = manifest.resolveSibling("manifest.json.sha256");
            Files.delete(checksum);
            Files.write(checksum, ManifestCodec.checksumFile(forged, "manifest.json"));

            VerifyReport report = kit.verify("intel", b.id(), VerifyLevel.RESTORE, connection("postgres"));
            boolean ran = Files.deleteIfExists(pwned);
            boolean made = roleExists(role);
            if (made) {
                pg.execute("postgres", "DROP ROLE " + role);
            }
            assertThat(List.of(ran, made))
                    .as("[a program ran, a superuser was made]")
                    .containsExactly(false, false);
            assertThat(report.passed()).isFalse();
            assertThat(report.problems()).anyMatch(p -> p.contains("damaged or forged"));
        }
    }
}
