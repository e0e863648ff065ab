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
    void scratchDatabasesThatKilledRunsOfThisHostLeftAreDroppedByTheNextTest() throws Exception {
        TargetSpec spec = prepareSource(work);
        BackupResult backup = kit.backup(spec);
        // a process that has ended: its pid and start time, as a killed run's name records them
        Process gone = new ProcessBuilder("true").start();
        long startMillis = gone.toHandle().info().startInstant().orElseThrow().toEpochMilli();
        gone.waitFor();
        String host = ScratchDatabases.host();
        String killed = ScratchDatabases.name(host, gone.pid(), startMillis);
        String running = ScratchDatabases.newName(); // this very process: a run still going
        String otherHost =
                ScratchDatabases.name("0badc0de".equals(host) ? "0badc0df" : "0badc0de", gone.pid(), startMillis);
        String olderForm = "drkit_verify_0123456789ab";
        for (String db : new String[] {killed, running, otherHost, olderForm}) {
            pg.createDatabase(db);
        }

        VerifyReport report = kit.verify(spec.name(), backup.id(), provider().level(), verifierOptions());
        assertThat(report.passed()).as(report.toString()).isTrue();

        assertThat(pg.databases()).doesNotContain(killed).contains(running, otherHost, olderForm);
        assertThat(pg.databases())
                .filteredOn(d -> d.startsWith("drkit_verify_"))
                .hasSize(3); // its own is gone too
    }
}
