package dev.drkit.postgres;

import dev.drkit.Settings;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;

/** Provides the {@code postgres} (physical base backup) target. */
public final class PostgresPhysicalTargetProvider implements BackupTargetProvider {
    public static final String TYPE = "postgres";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public BackupTarget create(Settings settings) {
        return new PostgresPhysicalTarget(settings);
    }
}
