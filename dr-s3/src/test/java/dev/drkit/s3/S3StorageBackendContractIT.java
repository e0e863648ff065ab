package dev.drkit.s3;

import dev.drkit.spi.StorageBackend;
import dev.drkit.testkit.S3ServerExtension;
import dev.drkit.testkit.StorageBackendContract;
import java.util.UUID;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.services.s3.S3Client;

/** The storage contract against a real S3 endpoint (S3Proxy), with a 5 MiB part size. */
class S3StorageBackendContractIT extends StorageBackendContract {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension("backups");

    static S3Client client;

    @BeforeAll
    static void startS3() throws Exception {
        client = TestClients.s3(s3.endpoint(), s3.accessKey(), s3.secretKey()).build();
    }

    @AfterAll
    static void stopS3() throws Exception {
        client.close();
    }

    @Override
    protected StorageBackend newBackend() {
        return S3StorageBackend.builder()
                .client(client)
                .bucket("backups")
                .prefix("repo-" + UUID.randomUUID())
                .partSize(5 << 20)
                .concurrency(2)
                .build();
    }

    @Test
    void abortedMultipartUploadLeavesNoPartsBehind() throws Exception {
        try (var upload = backend.create("contract/multipart-abort")) {
            upload.stream().write(new byte[12 << 20]); // three 5 MiB parts started
        }
        Assertions.assertThat(
                        client.listMultipartUploads(r -> r.bucket("backups")).uploads())
                .isEmpty();
        Assertions.assertThat(backend.stat("contract/multipart-abort")).isEmpty();
    }

    @Override
    protected long bigObjectSize() {
        return 300L << 20; // more than the 256 MiB heap the integration tests run with
    }
}
