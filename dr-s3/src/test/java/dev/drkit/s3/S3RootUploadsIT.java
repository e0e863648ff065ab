package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.testkit.S3ServerExtension;
import java.io.InterruptedIOException;
import java.time.Duration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * Unfinished multipart uploads. A repository at a bucket's root: prune's clean-up of unfinished
 * uploads (and check's report of them) took every multipart upload in the bucket for the
 * repository's, and aborted another application's upload in progress. Only the folders a
 * repository uploads into count now. And an upload stopped by an interrupt is aborted.
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

    @AfterEach
    void clearInterrupt() {
        Thread.interrupted();
    }

    /**
     * An upload closed by a thread stopped by a signal (its interrupt still set), as a failing
     * backup closes it: the SDK refused the abort ("Thread was interrupted"), and the parts stayed
     * stored and billed.
     */
    @Test
    void anUploadClosedByAnInterruptedThreadIsAborted() throws Exception {
        S3StorageBackend backend = smallParts("stopped");
        ObjectUpload upload = backend.create("backups/t/20261207T000000Z-aaaaaa/data.tar.zst");
        upload.stream().write(new byte[11 << 20]); // two parts sent or on their way, a third in the buffer
        assertThat(direct.listMultipartUploads(r -> r.bucket("shared").prefix("stopped/"))
                        .uploads())
                .as("the multipart upload started")
                .hasSize(1);

        Thread.currentThread().interrupt(); // the signal's interrupt, still set while the backup cleans up
        Throwable closing = catchThrowable(upload::close);
        boolean stillInterrupted = Thread.interrupted();

        assertThat(closing).as("closing").isNull();
        assertThat(stillInterrupted).as("the interrupt is kept for the caller").isTrue();
        assertThat(direct.listMultipartUploads(r -> r.bucket("shared").prefix("stopped/"))
                        .uploads())
                .as("multipart uploads left after the close")
                .isEmpty();
    }

    @Test
    void aWriteByAnInterruptedThreadFailsAsInterrupted() throws Exception {
        S3StorageBackend backend = smallParts("stopped2");
        ObjectUpload upload = backend.create("backups/t/20261207T000000Z-bbbbbb/data.tar.zst");
        upload.stream().write(new byte[6 << 20]);
        Thread.currentThread().interrupt();
        Throwable writing = catchThrowable(() -> {
            for (int i = 0; i < 8; i++) {
                upload.stream().write(new byte[5 << 20]);
            }
        });
        Thread.interrupted();
        upload.close();
        assertThat(writing).isInstanceOf(InterruptedIOException.class);
        assertThat(direct.listMultipartUploads(r -> r.bucket("shared").prefix("stopped2/"))
                        .uploads())
                .isEmpty();
    }

    /** A repository under {@code prefix} of the shared bucket that uploads in parts of 5 MiB. */
    private static S3StorageBackend smallParts(String prefix) {
        return S3StorageBackend.builder()
                .client(direct)
                .bucket("shared")
                .prefix(prefix)
                .partSize(5 << 20)
                .build();
    }
}
