package dev.drkit.examples.host;

import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerificationFailedException;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import jakarta.inject.Inject;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.List;
import javax.sql.DataSource;

/**
 * Part of the example host service: before it changes its database schema, it takes a backup
 * of the database and of its configuration from its own code, and refuses to migrate unless
 * both verify. The ids it returns are what an operator restores if the migration goes wrong.
 */
@Singleton
public final class MigrationGuard {
    static final String DATABASE_TARGET = "corporate-intel-db";
    static final String CONFIG_TARGET = "corporate-intel-config";

    private final DrKit kit;
    private final ServiceSettings settings;
    private final DataSource dataSource;

    @Inject
    public MigrationGuard(DrKit kit, ServiceSettings settings, DataSource dataSource) {
        this.kit = kit;
        this.settings = settings;
        this.dataSource = dataSource;
    }

    /**
     * Backs up and verifies, then runs the migration's statements in one transaction.
     *
     * @return the ids of the database and configuration backups taken before the migration
     * @throws VerificationFailedException when a fresh backup does not verify (nothing is migrated)
     */
    public List<String> migrate(String... statements) throws SQLException, IOException {
        BackupResult db = kit.backup(DATABASE_TARGET); // configured with the service's DataSource
        BackupResult config =
                kit.backup(TargetSpec.files(CONFIG_TARGET, settings.configDir().toString()));
        for (BackupResult r : List.of(db, config)) {
            VerifyReport report = kit.verify(r.manifest().target(), r.id(), VerifyLevel.DECODE);
            if (!report.passed()) {
                throw new VerificationFailedException(
                        "backup " + r.id() + " did not verify; not migrating: " + report.problems());
            }
        }
        try (Connection c = dataSource.getConnection()) {
            c.setAutoCommit(false);
            try (Statement s = c.createStatement()) {
                for (String sql : statements) {
                    s.execute(sql);
                }
                c.commit();
            } catch (SQLException e) {
                c.rollback();
                throw e;
            }
        }
        return List.of(db.id(), config.id());
    }

    /**
     * Puts the database back as the backup taken before a migration left it, through the service's
     * own DataSource: what the migration changed is dropped and recreated from the backup.
     */
    public void rollBack(String databaseBackupId) {
        kit.restore(new RestoreRequest(DATABASE_TARGET, databaseBackupId, Settings.empty(), true));
    }
}
