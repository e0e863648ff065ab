package dev.drkit.minio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.testkit.S3ServerExtension;
import io.minio.GetObjectArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.StatObjectArgs;
import io.minio.errors.ErrorResponseException;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** A target built in code around the host's MinioClient, configured in the kit by name. */
class MinioBucketTargetBuilderIT {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension();

    @TempDir
    Path dir;

    @Test
    void aNamedTargetOnTheHostsClientBacksUpAndRestoresWithoutEndpointOrCredentialSettings() throws Exception {
        // the kit can only reach the server through the host's client
        assertThat(System.getenv("AWS_ACCESS_KEY_ID")).isNull();
        MinioClient hostClient = MinioClient.builder()
                .endpoint(s3.endpoint().toString())
                .region("us-east-1")
                .credentials(s3.accessKey(), s3.secretKey())
                .build();
        s3.createBucket("uploads");
        put(hostClient, "avatars/ada.png", "ada's avatar");
        put(hostClient, "avatars/bob.png", "bob's avatar");

        MinioBucketTarget target = MinioBucketTarget.builder()
                .client(hostClient)
                .settings(Settings.builder().add("bucket", "uploads").build())
                .build();
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .target("uploads", target)
                .build()) {
            BackupResult b = kit.backup("uploads");
            assertThat(b.manifest().metadata()).containsEntry("objects", 2);

            hostClient.removeObject(RemoveObjectArgs.builder()
                    .bucket("uploads")
                    .object("avatars/ada.png")
                    .build());
            assertThatThrownBy(() -> hostClient.statObject(StatObjectArgs.builder()
                            .bucket("uploads")
                            .object("avatars/ada.png")
                            .build()))
                    .isInstanceOf(ErrorResponseException.class);

            kit.restore(new RestoreRequest("uploads", b.id(), Settings.empty(), false));
        }

        assertThat(get(hostClient, "avatars/ada.png")).isEqualTo("ada's avatar");
        assertThat(get(hostClient, "avatars/bob.png")).isEqualTo("bob's avatar");
        // the host's client is still the host's: the kit did not close it
        put(hostClient, "after.txt", "still open");
        assertThat(get(hostClient, "after.txt")).isEqualTo("still open");
    }

    private static void put(MinioClient client, String key, String text) throws Exception {
        byte[] data = text.getBytes(StandardCharsets.UTF_8);
        client.putObject(PutObjectArgs.builder().bucket("uploads").object(key).stream(
                        new ByteArrayInputStream(data), data.length, -1)
                .build());
    }

    private static String get(MinioClient client, String key) throws Exception {
        try (InputStream in = client.getObject(
                GetObjectArgs.builder().bucket("uploads").object(key).build())) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}
