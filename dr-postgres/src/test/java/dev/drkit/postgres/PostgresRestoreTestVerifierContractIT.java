package dev.drkit.postgres;

import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.spi.VerifierProvider;
import dev.drkit.testkit.PostgresServer;
import dev.drkit.testkit.VerifierContract;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

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
}
