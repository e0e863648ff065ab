package dev.drkit.s3;

import dev.drkit.spi.StorageBackend;
import dev.drkit.testkit.FilesTargetContractSupport;
import dev.drkit.testkit.S3ServerExtension;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.services.s3.S3Client;

/** The whole backup target contract (files target) with the repository in S3. */
class FilesOnS3ContractIT extends FilesTargetContractSupport {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension("backups");

    static S3Client client;

    @BeforeAll
    static void startS3() {
        client = TestClients.s3(s3.endpoint(), s3.accessKey(), s3.secretKey()).build();
    }

    @AfterAll
    static void stopS3() {
        client.close();
    }

    @Override
    protected StorageBackend newStorage(Path work) {
        return S3StorageBackend.builder()
                .client(client)
                .bucket("backups")
                .prefix("files-" + UUID.randomUUID())
                .partSize(5 << 20)
                .build();
    }
}
