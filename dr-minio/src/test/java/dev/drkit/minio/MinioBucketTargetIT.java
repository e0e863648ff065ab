package dev.drkit.minio;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.retention.GfsRetentionPolicy;
import dev.drkit.testkit.S3ServerExtension;
import io.minio.GetObjectArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.StatObjectArgs;
import io.minio.StatObjectResponse;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;

/** Bucket backups against a real S3 endpoint (S3Proxy): bytes, content types and user metadata survive. */
class MinioBucketTargetIT {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension();

    static MinioClient client;

    @TempDir
    Path dir;

    @BeforeAll
    static void startClient() {
        client = MinioClient.builder()
                .endpoint(s3.endpoint().toString())
                .region("us-east-1")
                .credentials(s3.accessKey(), s3.secretKey())
                .build();
    }

    private static void put(String bucket, String key, byte[] data, String type, Map<String, String> meta)
            throws Exception {
        client.putObject(PutObjectArgs.builder().bucket(bucket).object(key).stream(
                        new ByteArrayInputStream(data), data.length, -1)
                .contentType(type)
                .userMetadata(meta)
                .build());
    }

    private static byte[] get(String bucket, String key) throws Exception {
        try (InputStream in = client.getObject(
                GetObjectArgs.builder().bucket(bucket).object(key).build())) {
            return in.readAllBytes();
        }
    }

    private static StatObjectResponse stat(String bucket, String key) throws Exception {
        return client.statObject(
                StatObjectArgs.builder().bucket(bucket).object(key).build());
    }

    @Test
    void objectsComeBackWithTheirContentTypeAndMetadata() throws Exception {
        s3.createBucket("docs");
        byte[] pdf = new byte[300_000];
        new Random(4).nextBytes(pdf);
        byte[] text = "quarterly notes\n".repeat(100).getBytes(StandardCharsets.UTF_8);
        put("docs", "reports/q3.pdf", pdf, "application/pdf", Map.of("owner", "finance"));
        put("docs", "notes.txt", text, "text/plain", Map.of());

        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(MinioBucketTarget.provider(client))
                .build()) {
            BackupResult b = kit.backup(new TargetSpec(
                    "buckets",
                    "minio-bucket",
                    Settings.builder().add("bucket", "docs").build()));
            assertThat(b.manifest().metadata()).containsEntry("objects", 2);
            assertThat(kit.verify("buckets", b.id(), VerifyLevel.DECODE).passed())
                    .isTrue();

            client.removeObject(RemoveObjectArgs.builder()
                    .bucket("docs")
                    .object("reports/q3.pdf")
                    .build());
            client.removeObject(RemoveObjectArgs.builder()
                    .bucket("docs")
                    .object("notes.txt")
                    .build());
            kit.restore(new RestoreRequest("buckets", b.id(), Settings.empty(), false));

            assertThat(get("docs", "reports/q3.pdf")).isEqualTo(pdf);
            assertThat(stat("docs", "reports/q3.pdf").contentType()).isEqualTo("application/pdf");
            assertThat(stat("docs", "reports/q3.pdf").userMetadata()).containsEntry("owner", "finance");
            assertThat(get("docs", "notes.txt")).isEqualTo(text);
            assertThat(stat("docs", "notes.txt").contentType()).startsWith("text/plain");

            // into another bucket, under a prefix
            kit.restore(new RestoreRequest(
                    "buckets",
                    b.id(),
                    Settings.builder()
                            .set("to-bucket", "docs-copy")
                            .set("prefix", "restored/")
                            .build(),
                    false));
            assertThat(get("docs-copy", "restored/reports/q3.pdf")).isEqualTo(pdf);

            // an object changed after the backup is kept unless forced
            Thread.sleep(1100);
            byte[] newer = "newer notes\n".getBytes(StandardCharsets.UTF_8);
            put("docs", "notes.txt", newer, "text/plain", Map.of());
            kit.restore(new RestoreRequest("buckets", b.id(), Settings.empty(), false));
            assertThat(get("docs", "notes.txt")).isEqualTo(newer);
            kit.restore(new RestoreRequest("buckets", b.id(), Settings.empty(), true));
            assertThat(get("docs", "notes.txt")).isEqualTo(text);
        }
    }

    @Test
    void unchangedObjectsAreReferencedNotCopiedAndRestoreFollowsTheReferences() throws Exception {
        s3.createBucket("media");
        byte[] big = new byte[2_000_000];
        new Random(8).nextBytes(big);
        put("media", "video.bin", big, "application/octet-stream", Map.of("kind", "raw"));
        put("media", "index.html", "<h1>v1</h1>".getBytes(StandardCharsets.UTF_8), "text/html", Map.of());

        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(MinioBucketTarget.provider(client))
                .build()) {
            TargetSpec spec = new TargetSpec(
                    "media",
                    "minio-bucket",
                    Settings.builder().add("bucket", "media").build());
            BackupResult first = kit.backup(spec);
            put("media", "index.html", "<h1>v2</h1>".getBytes(StandardCharsets.UTF_8), "text/html", Map.of());
            put("media", "new.txt", "added".getBytes(StandardCharsets.UTF_8), "text/plain", Map.of());
            BackupResult second = kit.backup(spec);

            assertThat(second.manifest().kind()).isEqualTo("incremental");
            assertThat(second.manifest().dependsOn()).containsExactly(first.id());
            assertThat(second.manifest().metadata())
                    .containsEntry("objectsReused", 1)
                    .containsEntry("objects", 3);
            assertThat(second.manifest().rawSize()).isLessThan(first.manifest().rawSize() / 2); // video not copied

            for (String k : new String[] {"video.bin", "index.html", "new.txt"}) {
                client.removeObject(
                        RemoveObjectArgs.builder().bucket("media").object(k).build());
            }
            kit.restore(new RestoreRequest("media", second.id(), Settings.empty(), false));
            assertThat(get("media", "video.bin")).isEqualTo(big);
            assertThat(stat("media", "video.bin").userMetadata()).containsEntry("kind", "raw");
            assertThat(new String(get("media", "index.html"), StandardCharsets.UTF_8))
                    .isEqualTo("<h1>v2</h1>");
            assertThat(new String(get("media", "new.txt"), StandardCharsets.UTF_8))
                    .isEqualTo("added");

            // retention keeps what a kept incremental backup needs
            var pruned =
                    kit.prune("media", GfsRetentionPolicy.builder().keepLast(1).build(), false);
            assertThat(pruned.deleted().get("media")).isEmpty();
            assertThat(kit.list("media")).hasSize(2);
        }
    }
}
