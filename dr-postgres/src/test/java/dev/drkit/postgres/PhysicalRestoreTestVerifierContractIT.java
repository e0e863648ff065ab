package dev.drkit.postgres;

import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.spi.VerifierProvider;
import dev.drkit.testkit.PostgresServer;
import dev.drkit.testkit.VerifierContract;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** {@code pg-physical-restore-test} meets the verifier contract on base backups of a real PostgreSQL 15 cluster. */
class PhysicalRestoreTestVerifierContractIT extends VerifierContract {
    static PostgresServer pg;

    private Path passwordFile;

    @BeforeAll
    static void startServer() throws Exception {
        // the backup stores the WAL it needs itself; no archive_command has to succeed
        pg = PostgresServer.start(Map.of("archive_mode", "on", "archive_command", "false"));
        pg.execute(
                "postgres",
                "CREATE TABLE accounts AS SELECT i AS id, md5(i::text) AS owner FROM generate_series(1, 2000) i");
    }

    @AfterAll
    static void stopServer() {
        if (pg != null) {
            pg.close();
        }
    }

    private Settings connection() {
        return Settings.builder()
                .set("url", pg.jdbcUrl("postgres"))
                .set("user", PostgresServer.SUPERUSER)
                .set("password-file", passwordFile.toString())
                .build();
    }

    @Override
    protected VerifierProvider provider() {
        return new PhysicalRestoreTest.Provider();
    }

    @Override
    protected TargetSpec prepareSource(Path work) throws Exception {
        passwordFile = pg.passwordFile(work);
        return new TargetSpec(
                "cluster",
                PostgresPhysicalTargetProvider.TYPE,
                connection().toBuilder()
                        .set("data-dir", pg.dataDir().toString())
                        .set("wal-timeout", "60s")
                        .build());
    }

    @Override
    protected Settings verifierOptions() {
        return connection().toBuilder()
                .set("server-bin-dir", pg.binDir().toString())
                .add("validate", "SELECT count(*) = 2000 FROM accounts")
                .build();
    }
}
