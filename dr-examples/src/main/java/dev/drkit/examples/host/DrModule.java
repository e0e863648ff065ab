package dev.drkit.examples.host;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import dev.drkit.DrKit;
import dev.drkit.DrKitConfig;
import dev.drkit.DrListener;
import dev.drkit.Settings;
import dev.drkit.files.FilesBackupTargetProvider;
import dev.drkit.postgres.PostgresLogicalTarget;
import dev.drkit.postgres.PostgresLogicalTargetProvider;
import dev.drkit.postgres.PostgresVerifiers;
import dev.drkit.retention.GfsRetentionPolicyProvider;
import dev.drkit.storage.FileStorageBackendProvider;
import dev.drkit.verify.StreamVerifier;
import jakarta.inject.Singleton;
import java.io.IOException;
import java.nio.file.Files;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * How a host service wires drkit with a DI container (Guice here; any jakarta.inject container
 * works the same way): one {@link DrKit} per service, built from the service's own settings,
 * with exactly the providers the service uses registered explicitly, so that nothing on the
 * class path can change where backups go or how they are made. The container closes nothing:
 * the service closes the kit on shutdown.
 */
public final class DrModule extends AbstractModule {
    private final ServiceSettings settings;

    /** @param settings the service's own settings, from wherever it reads them */
    public DrModule(ServiceSettings settings) {
        this.settings = settings;
    }

    @Provides
    ServiceSettings settings() {
        return settings;
    }

    @Provides
    @Singleton
    DrKitConfig config() {
        return DrKitConfig.builder()
                .repository(settings.repository().toString())
                .compression("zstd")
                .build();
    }

    /** The service's own connection pool; drkit restores through it and never sees the password. */
    @Provides
    @Singleton
    DataSource dataSource() throws IOException {
        PGSimpleDataSource ds = new PGSimpleDataSource();
        ds.setURL(settings.jdbcUrl());
        ds.setUser(settings.user());
        ds.setPassword(Files.readAllLines(settings.passwordFile()).get(0));
        return ds;
    }

    @Provides
    @Singleton
    DrKit drKit(DrKitConfig config, DrListener events, DataSource dataSource) {
        return DrKit.builder()
                .config(config)
                // the service's database, configured once: backups and restores use its DataSource
                // (pg_dump, which connects by itself, reads the password file)
                .target(
                        MigrationGuard.DATABASE_TARGET,
                        PostgresLogicalTarget.builder()
                                .dataSource(dataSource)
                                .settings(Settings.builder()
                                        .set(
                                                "password-file",
                                                settings.passwordFile().toString())
                                        .build())
                                .build())
                .discoverProviders(false) // explicit registration only
                .register(new FileStorageBackendProvider())
                .register(new FilesBackupTargetProvider())
                .register(new PostgresLogicalTargetProvider())
                .register(new GfsRetentionPolicyProvider())
                .register(new StreamVerifier.ChecksumProvider())
                .register(new StreamVerifier.DecodeProvider())
                .register(new PostgresVerifiers.ArchiveProvider())
                .listener(events)
                .build();
    }

    @Override
    protected void configure() {
        bind(DrListener.class).to(BackupEvents.class);
    }
}
