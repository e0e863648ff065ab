package dev.drkit.minio;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.testkit.S3ServerExtension;
import io.minio.MinioClient;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * The parts a killed upload left behind in a MinIO repository, against S3Proxy: check lists the
 * repository's unfinished multipart uploads and prune's clean-up aborts them, never another
 * prefix's or application's (before, neither saw any).
 */
class MinioIncompleteUploadsIT {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension("shared");

    static S3Client direct;
    static MinioClient client;

    @BeforeAll
    static void start() {
        direct = S3Client.builder()
                .endpointOverride(s3.endpoint())
                .region(Region.US_EAST_1)
                .forcePathStyle(true)
                .credentialsProvider(
                        StaticCredentialsProvider.create(AwsBasicCredentials.create(s3.accessKey(), s3.secretKey())))
                .build();
        client = MinioClient.builder()
                .endpoint(s3.endpoint().toString())
                .region("us-east-1")
                .credentials(s3.accessKey(), s3.secretKey())
                .build();
    }

    @AfterAll
    static void stop() {
        direct.close();
    }

    private String startUpload(String key) {
        return direct.createMultipartUpload(r -> r.bucket("shared").key(key)).uploadId();
    }

    private boolean stillOpen(String uploadId) {
        return direct.listMultipartUploads(r -> r.bucket("shared")).uploads().stream()
                .anyMatch(u -> u.uploadId().equals(uploadId));
    }

    @Test
    void aPrefixedRepositoryListsAndAbortsItsOwnUnfinishedUploadsOnly() throws Exception {
        String prefix = "repo-" + UUID.randomUUID();
        String own = startUpload(prefix + "/backups/db/20261206T000000Z-aaaaaa/data.tar.zst");
        String sibling = startUpload(prefix + "-other/backups/db/20261206T000000Z-bbbbbb/data.tar.zst");
        String foreign = startUpload("videos/raw/huge.mov");
        MinioStorageBackend backend = MinioStorageBackend.of(client, "shared", prefix, 5L << 20);

        assertThat(backend.incompleteUploads(Duration.ofDays(1)))
                .as("a fresh upload may still be running")
                .isEmpty();
        assertThat(backend.incompleteUploads(Duration.ZERO))
                .extracting(ObjectInfo::key)
                .containsExactly("backups/db/20261206T000000Z-aaaaaa/data.tar.zst (multipart upload " + own + ")");
        assertThat(backend.cleanIncompleteUploads(Duration.ofDays(1))).isZero();
        assertThat(backend.cleanIncompleteUploads(Duration.ZERO)).isEqualTo(1);

        assertThat(stillOpen(own))
                .as("the repository's upload, after the clean-up")
                .isFalse();
        assertThat(stillOpen(sibling)).as("another repository's upload").isTrue();
        assertThat(stillOpen(foreign)).as("another application's upload").isTrue();
        assertThat(backend.incompleteUploads(Duration.ZERO)).isEmpty();
    }

    @Test
    void aRepositoryAtTheBucketRootAbortsOnlyUploadsInItsOwnFolders() throws Exception {
        String own = startUpload("wal/6912345678901234567/00000001/0000000100000000000000A1");
        String foreign = startUpload("media/raw/huge.mov");
        MinioStorageBackend root = MinioStorageBackend.of(client, "shared", "", 5L << 20);

        assertThat(root.incompleteUploads(Duration.ZERO))
                .extracting(ObjectInfo::key)
                .contains("wal/6912345678901234567/00000001/0000000100000000000000A1 (multipart upload " + own + ")")
                .noneMatch(k -> k.startsWith("media/") || k.startsWith("videos/"));
        assertThat(root.cleanIncompleteUploads(Duration.ZERO)).isPositive();

        assertThat(stillOpen(own)).isFalse();
        assertThat(stillOpen(foreign)).isTrue();
    }

    /**
     * An upload closed by a thread stopped by a signal (its interrupt still set): the SDK aborts
     * its multipart upload on its own thread, and on main the close returned at once, so that the
     * process could end before that abort and leave the parts stored.
     */
    @Test
    void anUploadClosedByAnInterruptedThreadLeavesNoParts() throws Exception {
        MinioStorageBackend backend = MinioStorageBackend.of(client, "shared", "stopped", 5L << 20);
        ObjectUpload upload = backend.create("backups/t/20261207T000000Z-cccccc/data.tar.zst");
        upload.stream().write(new byte[11 << 20]);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (direct.listMultipartUploads(r -> r.bucket("shared").prefix("stopped/"))
                .uploads()
                .isEmpty()) {
            assertThat(System.nanoTime())
                    .as("the SDK never started its multipart upload")
                    .isLessThan(deadline);
            Thread.sleep(20);
        }
        Thread.currentThread().interrupt();
        try {
            upload.close();
        } finally {
            assertThat(Thread.interrupted())
                    .as("the interrupt is kept for the caller")
                    .isTrue();
        }
        assertThat(direct.listMultipartUploads(r -> r.bucket("shared").prefix("stopped/"))
                        .uploads())
                .as("multipart uploads left right after the close")
                .isEmpty();
    }
}
