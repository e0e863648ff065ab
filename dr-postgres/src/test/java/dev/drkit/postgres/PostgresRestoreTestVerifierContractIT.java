package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyReport;
import dev.drkit.spi.VerifierProvider;
import dev.drkit.testkit.PostgresServer;
import dev.drkit.testkit.VerifierContract;
import java.nio.file.Path;
import java.sql.Connection;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** {@code pg-restore-test} meets the verifier contract, restoring into scratch databases of a real PostgreSQL 15. */
class PostgresRestoreTestVerifierContractIT extends VerifierContract {
    static PostgresServer pg;

    private Path passwordFile;

    @BeforeAll
    static void startServer() throws Exception {
        pg = PostgresServer.start();
        pg.createDatabase("shop");
        pg.execute(
                "shop",
                "CREATE TABLE items (id serial PRIMARY KEY, name text); "
                        + "INSERT INTO items (name) SELECT 'item ' || i FROM generate_series(1, 1000) i");
    }

    @AfterAll
    static void stopServer() {
        if (pg != null) {
            pg.close();
        }
    }

    private Settings connection(String database) {
        return Settings.builder()
                .set("url", pg.jdbcUrl(database))
                .set("user", PostgresServer.SUPERUSER)
                .set("password-file", passwordFile.toString())
                .set("bin-dir", pg.binDir().toString())
                .build();
    }

    @Override
    protected VerifierProvider provider() {
        return new PostgresVerifiers.RestoreTestProvider();
    }

    @Override
    protected TargetSpec prepareSource(Path work) throws Exception {
        passwordFile = pg.passwordFile(work);
        return new TargetSpec("shop", PostgresLogicalTargetProvider.TYPE, connection("shop"));
    }

    @Override
    protected Settings verifierOptions() {
        return connection("postgres").toBuilder()
                .add("validate", "SELECT count(*) = 1000 FROM items")
                .build();
    }

    @Test
    void scratchDatabasesOfTestsThatAreGoneAreDroppedByTheNextTestAndThoseInUseKept() throws Exception {
        TargetSpec spec = prepareSource(work);
        BackupResult backup = kit.backup(spec);
        PgConnection admin = PgConnection.from(connection("postgres"));
        String killed = ScratchDatabases.name("0badc0de", 4_000_001, 1); // its session, and lock, are gone
        String running = ScratchDatabases.newName(); // a test that runs, from this host
        String elsewhere = ScratchDatabases.name("0badc0de", 1, 1); // a test that runs elsewhere (pid 1 here)
        String connected = ScratchDatabases.name("0badc0de", 4_000_002, 1); // no lock, but a session in it
        String olderForm = "drkit_verify_0123456789ab"; // made by a version that took no lock
        for (String db : new String[] {killed, running, elsewhere, connected, olderForm}) {
            pg.createDatabase(db);
        }
        // locks are kept per database: one taken by a test whose url names another database counts too
        try (Connection a = ScratchDatabases.hold(PgConnection.from(connection("shop")), running);
                Connection b = ScratchDatabases.hold(admin, elsewhere);
                Connection session = pg.connect(connected)) {
            VerifyReport report =
                    kit.verify(spec.name(), backup.id(), provider().level(), verifierOptions());
            assertThat(report.passed()).as(report.toString()).isTrue();

            assertThat(pg.databases()).doesNotContain(killed).contains(running, elsewhere, connected, olderForm);
            // and the test's own scratch database is gone too
            assertThat(pg.databases())
                    .filteredOn(d -> d.startsWith("drkit_verify_"))
                    .hasSize(4);
        }
        // once their sessions end, the next test takes them
        assertThat(ScratchDatabases.dropLeftovers(admin)).containsExactlyInAnyOrder(running, elsewhere, connected);
        assertThat(pg.databases())
                .filteredOn(d -> d.startsWith("drkit_verify_"))
                .containsExactly(olderForm);
    }
}
