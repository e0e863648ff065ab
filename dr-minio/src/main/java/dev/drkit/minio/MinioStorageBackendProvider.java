package dev.drkit.minio;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.OptionSpec.Type;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.StorageBackendProvider;
import dev.drkit.spi.support.ReadProgressGuard;
import io.minio.MinioClient;
import java.net.URI;
import java.time.Duration;
import java.util.Set;

/**
 * Provides {@link MinioStorageBackend} for
 * {@code minio://host:port/bucket/prefix?secure=false&region=R&read-progress-window=5min}; each option
 * may also be given as a storage setting of the same name (the URI's wins).
 * Credentials come from {@code AWS_ACCESS_KEY_ID}/{@code AWS_SECRET_ACCESS_KEY} (or
 * {@code MINIO_ACCESS_KEY}/{@code MINIO_SECRET_KEY}).
 */
public final class MinioStorageBackendProvider implements StorageBackendProvider {

    @Override
    public Set<String> schemes() {
        return Set.of("minio");
    }

    private static final OptionSchema SCHEMA = OptionSchema.of(
            OptionSpec.builder("secure", Type.BOOLEAN)
                    .defaultValue("true")
                    .description("https (true) or http (false)")
                    .build(),
            OptionSpec.builder("region", Type.STRING)
                    .defaultValue("us-east-1")
                    .description("the region to sign requests for")
                    .build(),
            OptionSpec.builder("read-progress-window", Type.DURATION)
                    .defaultValue("5min")
                    .description("a read fails when it waits this long on the server for less than 64 KiB")
                    .build());

    @Override
    public OptionSchema schema() {
        return SCHEMA;
    }

    @Override
    public StorageBackend create(URI uri, Settings given) {
        Settings settings = given.overlaidBy(Settings.fromQuery(uri));
        if (uri.getHost() == null || uri.getPath() == null || uri.getPath().length() <= 1) {
            throw new ConfigException("MinIO repository URI: minio://HOST:PORT/BUCKET/PREFIX?secure=false");
        }
        String path = uri.getPath().substring(1);
        int slash = path.indexOf('/');
        String bucket = slash < 0 ? path : path.substring(0, slash);
        String prefix = slash < 0 ? "" : path.substring(slash + 1);
        boolean secure = settings.bool("secure", true);
        String access = env("AWS_ACCESS_KEY_ID", "MINIO_ACCESS_KEY");
        String secret = env("AWS_SECRET_ACCESS_KEY", "MINIO_SECRET_KEY");
        if (access == null || secret == null) {
            throw new ConfigException("MinIO credentials missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
        }
        int port = uri.getPort() < 0 ? (secure ? 443 : 80) : uri.getPort();
        MinioClient client = MinioClient.builder()
                .endpoint(uri.getHost(), port, secure)
                .credentials(access, secret)
                .region(settings.get("region", "us-east-1"))
                .build();
        Duration window = settings.duration("read-progress-window").orElse(ReadProgressGuard.DEFAULT_WINDOW);
        if (window.isZero()) {
            throw new ConfigException(
                    "read-progress-window must be longer than zero (e.g. read-progress-window=30min)");
        }
        return MinioStorageBackend.of(client, bucket, prefix, 16L << 20, uri.getHost() + ":" + port, window);
    }

    private static String env(String first, String second) {
        String v = System.getenv(first);
        return v != null && !v.isBlank() ? v : System.getenv(second);
    }
}
