package dev.drkit.minio;

import dev.drkit.Settings;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.OptionSpec.Type;

/**
 * Provides the {@code minio-bucket} target. Credentials come from {@code AWS_ACCESS_KEY_ID} and
 * {@code AWS_SECRET_ACCESS_KEY}.
 */
public final class MinioBucketTargetProvider implements BackupTargetProvider {
    public static final String TYPE = "minio-bucket";

    private static final OptionSpec ENDPOINT = OptionSpec.builder("endpoint", Type.URI)
            .required()
            .description("the server, http(s)://HOST:PORT")
            .build();
    private static final OptionSpec REGION = OptionSpec.builder("region", Type.STRING)
            .defaultValue("us-east-1")
            .description("the region to sign requests for")
            .build();

    private static final OptionSchema SCHEMA = OptionSchema.of(
            ENDPOINT,
            OptionSpec.builder("bucket", Type.STRING)
                    .required()
                    .repeatable()
                    .description("a bucket to back up")
                    .build(),
            OptionSpec.builder("prefix", Type.STRING)
                    .defaultValue("")
                    .description("back up only objects under this prefix")
                    .build(),
            OptionSpec.builder("versions", Type.BOOLEAN)
                    .defaultValue("false")
                    .description("back up every version and delete marker, for restores to a point in time")
                    .build(),
            OptionSpec.builder("full", Type.BOOLEAN)
                    .defaultValue("false")
                    .description("copy every object, not only those changed since the previous backup")
                    .build(),
            REGION);

    /** A restore may also be given the target's settings, endpoint and region included: the server to restore to. */
    private static final OptionSchema RESTORE = OptionSchema.of(
            OptionSpec.builder("to-bucket", Type.STRING)
                    .description("restore into this bucket (default: the original ones)")
                    .build(),
            OptionSpec.builder("prefix", Type.STRING)
                    .defaultValue("")
                    .description("put restored objects under this prefix")
                    .build(),
            OptionSpec.builder("time", Type.TIMESTAMP)
                    .description("of a versions backup: the buckets as they were at this time")
                    .build(),
            OptionSpec.builder("latest-only", Type.BOOLEAN)
                    .defaultValue("false")
                    .description("of a versions backup: only the current versions, not the whole history")
                    .build());

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public OptionSchema schema() {
        return SCHEMA;
    }

    @Override
    public OptionSchema restoreSchema() {
        return RESTORE;
    }

    @Override
    public BackupTarget create(Settings settings) {
        return new MinioBucketTarget(settings, null);
    }
}
