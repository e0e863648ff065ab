package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.spi.ObjectUpload;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The storage class reaches the server. */
class S3OptionsIT {

    @BeforeAll
    static void startS3() throws Exception {
        S3StorageBackendContractIT.startS3();
    }

    @AfterAll
    static void stopS3() throws Exception {
        S3StorageBackendContractIT.stopS3();
    }

    @Test
    void storageClassIsApplied() throws Exception {
        var client = S3StorageBackendContractIT.client;
        S3StorageBackend backend = S3StorageBackend.builder().client(client).bucket("backups").prefix("opts")
                .partSize(5 << 20).storageClass("STANDARD_IA").build();
        backend.createIfAbsent("small", new byte[] {1, 2, 3});
        try (ObjectUpload up = backend.create("large")) {
            up.stream().write(new byte[11 << 20]);
            up.commit();
        }
        // S3Proxy keeps the storage class of single PUTs but drops that of multipart uploads (even when
        // the plain SDK sets it), so only the single-part object can be checked against this server
        assertThat(client.headObject(r -> r.bucket("backups").key("opts/small")).storageClassAsString())
                .isEqualTo("STANDARD_IA");
        assertThat(client.headObject(r -> r.bucket("backups").key("opts/large")).contentLength()).isEqualTo(11L << 20);
    }
}
