package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupResult;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.testkit.FaultProxy;
import dev.drkit.testkit.S3ServerExtension;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.retries.StandardRetryStrategy;
import software.amazon.awssdk.services.s3.S3Client;

/** Backups through a proxy that resets connections and answers 503: retries, or a clean failure. */
class S3FaultIT {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension("backups");

    static S3Client direct;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() throws Exception {
        direct = client(s3.endpoint(), 3);
    }

    @AfterAll
    static void stop() throws Exception {
        direct.close();
    }

    static S3Client client(URI endpoint, int attempts) {
        return TestClients.s3(endpoint, s3.accessKey(), s3.secretKey())
                .overrideConfiguration(c -> c.retryStrategy(
                        StandardRetryStrategy.builder().maxAttempts(attempts).build()))
                .build();
    }

    private Path data(int mib) throws Exception {
        Path d = Files.createDirectories(dir.resolve("data"));
        byte[] chunk = new byte[1 << 20];
        Random r = new Random(mib);
        try (OutputStream out = Files.newOutputStream(d.resolve("blob.bin"))) {
            for (int i = 0; i < mib; i++) {
                r.nextBytes(chunk);
                out.write(chunk);
            }
        }
        return d;
    }

    @Test
    void backupCompletesThroughConnectionResets() throws Exception {
        String prefix = "resets-" + UUID.randomUUID();
        Path data = data(30);
        try (FaultProxy proxy = FaultProxy.inFrontOf(s3.endpoint());
                S3Client flaky = client(proxy.endpoint(), 5)) {
            S3StorageBackend backend = S3StorageBackend.builder()
                    .client(flaky)
                    .bucket("backups")
                    .prefix(prefix)
                    .partSize(5 << 20)
                    .concurrency(2)
                    .build();
            String id;
            try (DrKit kit = DrKit.builder().storage(backend).build()) {
                proxy.resetMidRequest(8L << 20);
                BackupResult b = kit.backup(TargetSpec.files("data", data.toString()));
                id = b.id();
                proxy.pass();
            }
            assertThat(proxy.faults()).isPositive();
            S3StorageBackend clean = S3StorageBackend.builder()
                    .client(direct)
                    .bucket("backups")
                    .prefix(prefix)
                    .build();
            try (DrKit kit = DrKit.builder().storage(clean).build()) {
                assertThat(kit.verify("data", id, VerifyLevel.DECODE).passed()).isTrue();
            }
            assertThat(direct.listMultipartUploads(r -> r.bucket("backups").prefix(prefix))
                            .uploads())
                    .isEmpty();
        }
    }

    @Test
    void backupCompletesThroughServerErrorsAndStalls() throws Exception {
        String prefix = "errors-" + UUID.randomUUID();
        Path data = data(30);
        try (FaultProxy proxy = FaultProxy.inFrontOf(s3.endpoint());
                S3Client flaky = TestClients.s3(proxy.endpoint(), s3.accessKey(), s3.secretKey())
                        .overrideConfiguration(c -> c.retryStrategy(StandardRetryStrategy.builder()
                                        .maxAttempts(8)
                                        .build())
                                .apiCallAttemptTimeout(Duration.ofSeconds(3)))
                        .build()) {
            S3StorageBackend backend = S3StorageBackend.builder()
                    .client(flaky)
                    .bucket("backups")
                    .prefix(prefix)
                    .partSize(5 << 20)
                    .concurrency(2)
                    .build();
            String id;
            try (DrKit kit = DrKit.builder().storage(backend).build()) {
                proxy.internalErrors(3).stalls(2); // the next connections: two hang, then three get a 500
                id = kit.backup(TargetSpec.files("data", data.toString())).id();
            }
            assertThat(proxy.faults()).isEqualTo(5);
            S3StorageBackend clean = S3StorageBackend.builder()
                    .client(direct)
                    .bucket("backups")
                    .prefix(prefix)
                    .build();
            try (DrKit kit = DrKit.builder().storage(clean).build()) {
                assertThat(kit.verify("data", id, VerifyLevel.DECODE).passed()).isTrue();
            }
            assertThat(direct.listMultipartUploads(r -> r.bucket("backups").prefix(prefix))
                            .uploads())
                    .isEmpty();
        }
    }

    @Test
    void persistentSlowDownFailsCleanlyAndLeavesNothingListed() throws Exception {
        String prefix = "slowdown-" + UUID.randomUUID();
        Path data = data(30);
        try (FaultProxy proxy = FaultProxy.inFrontOf(s3.endpoint());
                S3Client flaky = client(proxy.endpoint(), 2)) {
            S3StorageBackend backend = S3StorageBackend.builder()
                    .client(flaky)
                    .bucket("backups")
                    .prefix(prefix)
                    .partSize(5 << 20)
                    .concurrency(2)
                    .build();
            try (DrKit kit = DrKit.builder().storage(backend).build()) {
                proxy.outageAfter(12L << 20); // an outage in the middle of the upload
                assertThatThrownBy(() -> kit.backup(TargetSpec.files("data", data.toString())))
                        .isInstanceOf(DrException.class)
                        .hasMessageContaining("backups");
            }
            proxy.pass();
            // nothing is listed: no manifest was written
            S3StorageBackend clean = S3StorageBackend.builder()
                    .client(direct)
                    .bucket("backups")
                    .prefix(prefix)
                    .build();
            try (DrKit kit = DrKit.builder().storage(clean).build()) {
                assertThat(kit.list("data")).isEmpty();
            }
            // the abort could not reach the server while it failed; check lists it, the cleanup that
            // prune and check's repair run removes it
            assertThat(clean.incompleteUploads(Duration.ZERO))
                    .isNotEmpty()
                    .allSatisfy(
                            u -> assertThat(u.key()).startsWith("backups/data/").contains("multipart upload"));
            assertThat(clean.cleanIncompleteUploads(Duration.ZERO)).isPositive();
            assertThat(clean.incompleteUploads(Duration.ZERO)).isEmpty();
            assertThat(direct.listMultipartUploads(r -> r.bucket("backups").prefix(prefix))
                            .uploads())
                    .isEmpty();
        }
    }
}
