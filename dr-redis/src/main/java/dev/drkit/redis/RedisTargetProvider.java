package dev.drkit.redis;

import dev.drkit.Settings;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;

/** Provides the {@code redis} target. */
public final class RedisTargetProvider implements BackupTargetProvider {
    public static final String TYPE = "redis";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public BackupTarget create(Settings settings) {
        return new RedisTarget(settings);
    }
}
