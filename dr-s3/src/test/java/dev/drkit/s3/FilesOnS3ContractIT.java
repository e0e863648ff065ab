package dev.drkit.s3;

import dev.drkit.spi.StorageBackend;
import dev.drkit.testkit.FilesTargetContractSupport;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/** The whole backup target contract (files target) with the repository in S3. */
class FilesOnS3ContractIT extends FilesTargetContractSupport {

    @BeforeAll
    static void startS3() throws Exception {
        S3StorageBackendContractIT.startS3();
    }

    @AfterAll
    static void stopS3() throws Exception {
        S3StorageBackendContractIT.stopS3();
    }

    @Override
    protected StorageBackend newStorage(Path work) {
        return S3StorageBackend.builder().client(S3StorageBackendContractIT.client).bucket("backups")
                .prefix("files-" + UUID.randomUUID()).partSize(5 << 20).build();
    }
}
