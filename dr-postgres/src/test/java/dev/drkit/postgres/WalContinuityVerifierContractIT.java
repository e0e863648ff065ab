package dev.drkit.postgres;

import dev.drkit.BackupManifest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.VerifierProvider;
import dev.drkit.testkit.PostgresServer;
import dev.drkit.testkit.VerifierContract;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * {@code pg-wal-continuity} meets the verifier contract on base backups of a real PostgreSQL 15
 * cluster; the damage is a WAL segment of the backup's own removed from the archive.
 */
class WalContinuityVerifierContractIT extends VerifierContract {
    static PostgresServer pg;

    private Path passwordFile;

    @BeforeAll
    static void startServer() throws Exception {
        pg = PostgresServer.start(Map.of("archive_mode", "on", "archive_command", "false"));
        pg.execute("postgres", "CREATE TABLE accounts AS SELECT i AS id FROM generate_series(1, 2000) i");
    }

    @AfterAll
    static void stopServer() {
        if (pg != null) {
            pg.close();
        }
    }

    @Override
    protected VerifierProvider provider() {
        return new WalContinuity.Provider();
    }

    @Override
    protected TargetSpec prepareSource(Path work) throws Exception {
        passwordFile = pg.passwordFile(work);
        return new TargetSpec(
                "cluster",
                PostgresPhysicalTargetProvider.TYPE,
                Settings.builder()
                        .set("url", pg.jdbcUrl("postgres"))
                        .set("user", PostgresServer.SUPERUSER)
                        .set("password-file", passwordFile.toString())
                        .set("data-dir", pg.dataDir().toString())
                        .set("wal-timeout", "60s")
                        .build());
    }

    /** Removes the segment the backup starts in from the archive, as a careless clean-up would. */
    @Override
    protected String corrupt(BackupManifest manifest) throws Exception {
        String start = manifest.metadata().get("walStart").toString();
        for (ObjectInfo o : storage.list(WalArchive.AREA + "/")) {
            String name = o.key().substring(o.key().lastIndexOf('/') + 1);
            if (name.startsWith(start) && !name.endsWith(".sha256")) {
                storage.delete(o.key());
            }
        }
        return start;
    }
}
