package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.testkit.S3ServerExtension;
import dev.drkit.testkit.VersionedS3Server;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.util.List;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.retries.StandardRetryStrategy;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * the server applies CompleteMultipartUpload, its answer is lost on the way back (a
 * reset connection), the SDK's standard retry sends the completion again. The object the
 * upload wrote is there, whole; the commit must not fail (the small-object path already
 * handles the same fault, see S3LostResponseIT).
 */
class S3MultipartLostResponseIT {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension("backups");

    /** Forwards everything; the first CompleteMultipartUpload's answer is read and thrown away. */
    static final class LoseFirstCompletion extends FaultyHttpClient {
        final List<String> lost = new CopyOnWriteArrayList<>();

        @Override
        HttpExecuteResponse answer(HttpExecuteRequest request, HttpExecuteResponse response) throws IOException {
            boolean completion = request.httpRequest().method() == SdkHttpMethod.POST
                    && request.httpRequest().rawQueryParameters().containsKey("uploadId");
            if (completion && lost.isEmpty()) {
                lost.add(request.httpRequest().encodedPath());
                return lose(response);
            }
            return response;
        }
    }

    @Test
    void onS3Proxy() throws Exception {
        lostCompletion(s3.endpoint(), s3.accessKey(), s3.secretKey());
    }

    @Test
    void onMoto() throws Exception {
        try (VersionedS3Server moto = VersionedS3Server.start()) {
            moto.createBucket("backups");
            lostCompletion(moto.endpoint(), moto.accessKey(), moto.secretKey());
        }
    }

    private static void lostCompletion(URI endpoint, String accessKey, String secretKey) throws Exception {
        String prefix = "lost-mpu-" + UUID.randomUUID();
        LoseFirstCompletion http = new LoseFirstCompletion();
        byte[] data = new byte[(5 << 20) + 1234];
        new Random(7).nextBytes(data);
        try (S3Client client = TestClients.s3(endpoint, accessKey, secretKey)
                .httpClient(http)
                .overrideConfiguration(c -> c.retryStrategy(
                        StandardRetryStrategy.builder().maxAttempts(3).build()))
                .build()) {
            S3StorageBackend backend = S3StorageBackend.builder()
                    .client(client)
                    .bucket("backups")
                    .prefix(prefix)
                    .partSize(5 << 20)
                    .build();
            Throwable failure = null;
            try (ObjectUpload up = backend.create("backups/t/id/big.bin")) {
                up.stream().write(data);
                up.commit();
            } catch (IOException e) {
                failure = e;
            }
            assertThat(http.lost).as("the fault happened").hasSize(1);
            // the object is there, complete: the upload wrote it
            try (InputStream in = backend.open("backups/t/id/big.bin", 0)) {
                assertThat(in.readAllBytes()).isEqualTo(data);
            }
            assertThat(backend.list("backups/")).extracting(ObjectInfo::key).containsExactly("backups/t/id/big.bin");
            assertThat(failure)
                    .as("commit of an object that this upload did write, whose answer was lost")
                    .isNull();
        }
    }
}
