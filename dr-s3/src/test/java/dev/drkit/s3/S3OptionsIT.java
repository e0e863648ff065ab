package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.ConfigException;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.testkit.S3ServerExtension;
import dev.drkit.testkit.VersionedS3Server;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.util.Base64;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.core.interceptor.Context;
import software.amazon.awssdk.core.interceptor.ExecutionAttributes;
import software.amazon.awssdk.core.interceptor.ExecutionInterceptor;
import software.amazon.awssdk.core.interceptor.SdkExecutionAttribute;
import software.amazon.awssdk.services.s3.S3Client;

/** The storage class reaches the server. */
class S3OptionsIT {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension("backups");

    static S3Client client;

    @BeforeAll
    static void startClient() {
        client = TestClients.s3(s3.endpoint(), s3.accessKey(), s3.secretKey()).build();
    }

    @AfterAll
    static void stopClient() {
        client.close();
    }

    @Test
    void storageClassIsApplied() throws Exception {
        S3StorageBackend backend = S3StorageBackend.builder()
                .client(client)
                .bucket("backups")
                .prefix("opts")
                .partSize(5 << 20)
                .storageClass("STANDARD_IA")
                .build();
        backend.createIfAbsent("small", new byte[] {1, 2, 3});
        try (ObjectUpload up = backend.create("large")) {
            up.stream().write(new byte[11 << 20]);
            up.commit();
        }
        // S3Proxy keeps the storage class of single PUTs but drops that of multipart uploads (even when
        // the plain SDK sets it), so only the single-part object can be checked against this server
        assertThat(client.headObject(r -> r.bucket("backups").key("opts/small")).storageClassAsString())
                .isEqualTo("STANDARD_IA");
        assertThat(client.headObject(r -> r.bucket("backups").key("opts/large")).contentLength())
                .isEqualTo(11L << 20);
    }

    @Test
    void customerKeyIsSentWithEveryWriteAndRead(@TempDir Path dir) throws Exception {
        byte[] key = new byte[32];
        new Random(1).nextBytes(key);
        Path keyFile = dir.resolve("sse-c.key");
        Files.writeString(keyFile, Base64.getEncoder().encodeToString(key) + "\n");
        Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));
        String md5 = Base64.getEncoder()
                .encodeToString(MessageDigest.getInstance("MD5").digest(key));
        Map<String, String> sent = new ConcurrentHashMap<>();
        var seen = new ExecutionInterceptor() {
            @Override
            public void beforeTransmission(Context.BeforeTransmission c, ExecutionAttributes a) {
                String op = a.getAttribute(SdkExecutionAttribute.OPERATION_NAME);
                sent.merge(
                        op,
                        c.httpRequest()
                                .firstMatchingHeader("x-amz-server-side-encryption-customer-key-md5")
                                .orElse("none"),
                        (x, y) -> x.equals(y) ? x : x + "," + y);
            }
        };
        // S3Proxy answers SSE-C with 501; moto's server takes the headers (and stores plain bytes,
        // so what is checked here is that every request carries the key)
        try (var s3 = VersionedS3Server.start();
                var client = TestClients.s3(s3.endpoint(), s3.accessKey(), s3.secretKey())
                        .overrideConfiguration(o -> o.addExecutionInterceptor(seen))
                        .build()) {
            s3.createBucket("backups");
            S3StorageBackend backend = S3StorageBackend.builder()
                    .client(client)
                    .bucket("backups")
                    .prefix("ssec")
                    .partSize(5 << 20)
                    .customerKey(S3StorageBackendProvider.customerKey(keyFile))
                    .build();
            backend.createIfAbsent("small", new byte[] {1, 2, 3});
            try (ObjectUpload up = backend.create("large")) {
                up.stream().write(new byte[11 << 20]);
                up.commit();
            }
            try (var in = backend.open("large", 0)) {
                assertThat(in.readAllBytes()).hasSize(11 << 20);
            }
            assertThat(backend.stat("small")).isPresent();
        }
        assertThat(sent)
                .containsEntry("PutObject", md5)
                .containsEntry("CreateMultipartUpload", md5)
                .containsEntry("UploadPart", md5)
                .containsEntry("GetObject", md5)
                .containsEntry("HeadObject", md5);
    }

    @Test
    void aCustomerKeyFileMustBePrivateAndHold256Bits(@TempDir Path dir) throws Exception {
        Path open = dir.resolve("open.key");
        Files.write(open, new byte[32]);
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r--r--"));
        Assertions.assertThatThrownBy(() -> S3StorageBackendProvider.customerKey(open))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("chmod 600");
        Path shortKey = dir.resolve("short.key");
        Files.writeString(shortKey, "c2VjcmV0LWtleQ==");
        Files.setPosixFilePermissions(shortKey, PosixFilePermissions.fromString("rw-------"));
        Assertions.assertThatThrownBy(() -> S3StorageBackendProvider.customerKey(shortKey))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("256-bit")
                .hasMessageNotContaining("c2VjcmV0LWtleQ");
    }
}
