package dev.drkit.minio;

import dev.drkit.spi.StorageBackend;
import dev.drkit.testkit.StorageBackendContract;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.testcontainers.containers.MinIOContainer;
import org.testcontainers.junit.jupiter.Container;
import org.testcontainers.junit.jupiter.Testcontainers;

/**
 * The storage contract against a real MinIO server in a container. Runs where a Docker engine
 * exists and is skipped cleanly where none does (the S3Proxy runs cover the contract there).
 */
@Testcontainers(disabledWithoutDocker = true)
class MinioContainerIT extends StorageBackendContract {
    @Container
    static final MinIOContainer MINIO = new MinIOContainer("minio/minio:RELEASE.2025-04-22T22-12-26Z");

    static MinioClient client;

    @BeforeAll
    static void bucket() throws Exception {
        client = MinioClient.builder()
                .endpoint(MINIO.getS3URL())
                .credentials(MINIO.getUserName(), MINIO.getPassword())
                .build();
        client.makeBucket(MakeBucketArgs.builder().bucket("backups").build());
    }

    @Override
    protected StorageBackend newBackend() {
        return MinioStorageBackend.of(client, "backups", "repo-" + UUID.randomUUID(), 5L << 20);
    }

    @Override
    protected long bigObjectSize() {
        return 300L << 20;
    }
}
