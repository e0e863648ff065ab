package dev.drkit.minio;

import dev.drkit.testkit.VersionedS3Server;
import io.minio.MinioClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Bucket-backup integration tests against moto (which keeps versions, any key and tags): one
 * server per test class, and a MinIO client on it. Test classes run one after another.
 */
abstract class MotoBucketIT {
    static VersionedS3Server s3;
    static MinioClient client;

    @BeforeAll
    static void startMoto() throws Exception {
        s3 = VersionedS3Server.start();
        client = MinioClient.builder()
                .endpoint(s3.endpoint().toString())
                .region("us-east-1")
                .credentials(s3.accessKey(), s3.secretKey())
                .build();
    }

    @AfterAll
    static void stopMoto() throws Exception {
        if (s3 != null) {
            s3.close();
        }
    }

    /** A bucket name no other test uses. */
    static String unique(String name) {
        return name + "-" + Long.toHexString(System.nanoTime());
    }
}
