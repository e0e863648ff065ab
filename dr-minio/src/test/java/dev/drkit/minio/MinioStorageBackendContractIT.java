package dev.drkit.minio;

import dev.drkit.spi.StorageBackend;
import dev.drkit.testkit.S3ServerExtension;
import dev.drkit.testkit.StorageBackendContract;
import io.minio.MinioClient;
import java.util.UUID;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/** The storage contract on the MinIO SDK against a real S3 endpoint (S3Proxy). */
class MinioStorageBackendContractIT extends StorageBackendContract {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension("backups");

    static MinioClient client;

    @BeforeAll
    static void startClient() {
        client = MinioClient.builder()
                .endpoint(s3.endpoint().toString())
                .region("us-east-1")
                .credentials(s3.accessKey(), s3.secretKey())
                .build();
    }

    @Override
    protected StorageBackend newBackend() {
        return MinioStorageBackend.of(client, "backups", "repo-" + UUID.randomUUID(), 5L << 20);
    }

    @Test
    void abortedUploadLeavesNoMultipartPartsBehind() throws Exception {
        try (var upload = backend.create("contract/multipart-abort")) {
            upload.stream().write(new byte[12 << 20]);
        }
        try (var aws = S3Client.builder()
                .endpointOverride(s3.endpoint())
                .region(Region.US_EAST_1)
                .forcePathStyle(true)
                .credentialsProvider(
                        StaticCredentialsProvider.create(AwsBasicCredentials.create(s3.accessKey(), s3.secretKey())))
                .build()) {
            Assertions.assertThat(
                            aws.listMultipartUploads(r -> r.bucket("backups")).uploads())
                    .isEmpty();
        }
        Assertions.assertThat(backend.stat("contract/multipart-abort")).isEmpty();
    }

    @Override
    protected long bigObjectSize() {
        return 300L << 20;
    }
}
