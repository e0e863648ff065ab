package dev.drkit.minio;

import dev.drkit.spi.StorageBackend;
import dev.drkit.testkit.S3ServerExtension;
import dev.drkit.testkit.StorageBackendContract;
import io.minio.MinioClient;
import java.util.UUID;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;

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

    @org.junit.jupiter.api.Test
    void abortedUploadLeavesNoMultipartPartsBehind() throws Exception {
        try (var upload = backend.create("contract/multipart-abort")) {
            upload.stream().write(new byte[12 << 20]);
        }
        try (var aws = software.amazon.awssdk.services.s3.S3Client.builder()
                .endpointOverride(s3.endpoint())
                .region(software.amazon.awssdk.regions.Region.US_EAST_1)
                .forcePathStyle(true)
                .credentialsProvider(software.amazon.awssdk.auth.credentials.StaticCredentialsProvider.create(
                        software.amazon.awssdk.auth.credentials.AwsBasicCredentials.create(
                                s3.accessKey(), s3.secretKey())))
                .build()) {
            org.assertj.core.api.Assertions.assertThat(
                            aws.listMultipartUploads(r -> r.bucket("backups")).uploads())
                    .isEmpty();
        }
        org.assertj.core.api.Assertions.assertThat(backend.stat("contract/multipart-abort"))
                .isEmpty();
    }

    @Override
    protected long bigObjectSize() {
        return 300L << 20;
    }
}
