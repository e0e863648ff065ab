package dev.drkit.examples.host;

import com.google.inject.AbstractModule;
import com.google.inject.Provides;
import dev.drkit.DrKit;
import dev.drkit.DrKitConfig;
import dev.drkit.DrListener;
import dev.drkit.files.FilesBackupTargetProvider;
import dev.drkit.postgres.PostgresLogicalTargetProvider;
import dev.drkit.postgres.PostgresVerifiers;
import dev.drkit.retention.GfsRetentionPolicyProvider;
import dev.drkit.storage.FileStorageBackendProvider;
import dev.drkit.verify.StreamVerifier;
import jakarta.inject.Singleton;

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

    @Provides
    @Singleton
    DrKit drKit(DrKitConfig config, DrListener events) {
        return DrKit.builder()
                .config(config)
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
