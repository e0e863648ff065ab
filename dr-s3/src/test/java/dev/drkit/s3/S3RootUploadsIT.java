package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.spi.ObjectInfo;
import dev.drkit.testkit.S3ServerExtension;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * A repository at a bucket's root: prune's clean-up of unfinished uploads (and check's report of
 * them) took every multipart upload in the bucket for the repository's, and aborted another
 * application's upload in progress. Only the folders a repository uploads into count now.
 */
class S3RootUploadsIT {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension("shared");

    static S3Client direct;

    @BeforeAll
    static void start() {
        direct = TestClients.s3(s3.endpoint(), s3.accessKey(), s3.secretKey()).build();
    }

    @AfterAll
    static void stop() {
        direct.close();
    }

    @Test
    void aRepositoryAtTheBucketRootAbortsOnlyItsOwnUnfinishedUploads() throws Exception {
        String foreign = direct.createMultipartUpload(r -> r.bucket("shared").key("videos/raw/huge.mov"))
                .uploadId();
        String own = direct.createMultipartUpload(r -> r.bucket("shared").key("backups/db/20261206T000000Z-aaaaaa/x"))
                .uploadId();
        S3StorageBackend root =
                S3StorageBackend.builder().client(direct).bucket("shared").build();

        assertThat(root.incompleteUploads(Duration.ZERO))
                .extracting(ObjectInfo::key)
                .containsExactly("backups/db/20261206T000000Z-aaaaaa/x (multipart upload " + own + ")");
        assertThat(root.cleanIncompleteUploads(Duration.ZERO)).isEqualTo(1);

        assertThat(direct.listMultipartUploads(r -> r.bucket("shared")).uploads())
                .as("another application's upload, after the repository's clean-up")
                .anySatisfy(u -> assertThat(u.uploadId()).isEqualTo(foreign))
                .noneSatisfy(u -> assertThat(u.uploadId()).isEqualTo(own));
    }
}
