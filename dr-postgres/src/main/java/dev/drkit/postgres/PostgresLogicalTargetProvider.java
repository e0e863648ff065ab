package dev.drkit.postgres;

import dev.drkit.Settings;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;

/** Provides the {@code postgres-logical} target. */
public final class PostgresLogicalTargetProvider implements BackupTargetProvider {
    public static final String TYPE = "postgres-logical";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public BackupTarget create(Settings settings) {
        return new PostgresLogicalTarget(settings);
    }
}
