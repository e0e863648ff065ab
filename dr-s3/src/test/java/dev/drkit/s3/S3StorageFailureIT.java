package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.StorageException;
import dev.drkit.TargetSpec;
import dev.drkit.testkit.FaultProxy;
import dev.drkit.testkit.S3ServerExtension;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.retries.StandardRetryStrategy;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * What a host learns from a failed backup to S3: wrong credentials are not worth retrying and
 * the message shows no secret; an outage is worth retrying.
 */
class S3StorageFailureIT {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension("backups");

    @TempDir
    Path dir;

    private TargetSpec data() throws Exception {
        Path d = Files.createDirectories(dir.resolve("data"));
        Files.writeString(d.resolve("a.txt"), "hello");
        return TargetSpec.files("data", d.toString());
    }

    private static S3Client client(URI endpoint, String secretKey) {
        return TestClients.s3(endpoint, s3.accessKey(), secretKey)
                .overrideConfiguration(c -> c.retryStrategy(
                        StandardRetryStrategy.builder().maxAttempts(2).build()))
                .build();
    }

    @Test
    void wrongCredentialsAreNotRetryableAndTheMessageHoldsNoSecret() throws Exception {
        String wrongSecret = "wrong-" + UUID.randomUUID();
        try (S3Client client = client(s3.endpoint(), wrongSecret);
                DrKit kit = DrKit.builder()
                        .storage(S3StorageBackend.builder()
                                .client(client)
                                .bucket("backups")
                                .prefix("denied")
                                .build())
                        .build()) {
            TargetSpec spec = data();
            assertThatThrownBy(() -> kit.backup(spec))
                    .isInstanceOfSatisfying(StorageException.class, e -> {
                        assertThat(e.retryable()).isFalse();
                        assertThat(e.code()).isEqualTo(DrException.ErrorCode.STORAGE);
                    })
                    .hasMessageContaining("s3://backups/denied")
                    .hasMessageContaining("403")
                    .hasMessageContaining("storage.credentials-file")
                    .hasMessageContaining("bucket backups")
                    .hasMessageEndingWith("; retrying will not help until they are fixed")
                    .hasMessageNotContaining(wrongSecret)
                    .hasMessageNotContaining(s3.secretKey())
                    .hasMessageNotContaining("--");
        }
    }

    @Test
    void anOutageIsRetryable() throws Exception {
        try (FaultProxy proxy = FaultProxy.inFrontOf(s3.endpoint());
                S3Client client = client(proxy.endpoint(), s3.secretKey());
                DrKit kit = DrKit.builder()
                        .storage(S3StorageBackend.builder()
                                .client(client)
                                .bucket("backups")
                                .prefix("outage-" + UUID.randomUUID())
                                .build())
                        .build()) {
            TargetSpec spec = data();
            proxy.outageAfter(0);
            assertThatThrownBy(() -> kit.backup(spec))
                    .isInstanceOfSatisfying(
                            StorageException.class,
                            e -> assertThat(e.retryable()).isTrue())
                    .hasMessageContaining("s3://backups/outage-")
                    .hasMessageNotContaining(s3.secretKey());
            assertThat(proxy.faults()).isPositive();
        }
    }
}
