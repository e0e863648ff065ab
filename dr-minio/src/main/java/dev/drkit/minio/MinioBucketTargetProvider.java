package dev.drkit.minio;

import dev.drkit.Settings;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;

/** Provides the {@code minio-bucket} target. */
public final class MinioBucketTargetProvider implements BackupTargetProvider {
    public static final String TYPE = "minio-bucket";

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public BackupTarget create(Settings settings) {
        return new MinioBucketTarget(settings, null);
    }
}
