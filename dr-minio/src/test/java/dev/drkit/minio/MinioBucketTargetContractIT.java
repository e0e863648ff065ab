package dev.drkit.minio;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.spi.BackupTarget;
import dev.drkit.testkit.BackupTargetContract;
import dev.drkit.testkit.S3ServerExtension;
import io.minio.BucketExistsArgs;
import io.minio.GetObjectArgs;
import io.minio.ListObjectsArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.Result;
import io.minio.StatObjectArgs;
import io.minio.StatObjectResponse;
import io.minio.messages.Item;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The backup target contract for {@code minio-bucket}, against a real S3 endpoint (S3Proxy). */
class MinioBucketTargetContractIT extends BackupTargetContract {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension();

    static MinioClient client;

    private final String unique = Long.toHexString(System.nanoTime());
    private String source;

    @BeforeAll
    static void startClient() {
        client = MinioClient.builder()
                .endpoint(s3.endpoint().toString())
                .region("us-east-1")
                .credentials(s3.accessKey(), s3.secretKey())
                .build();
    }

    @Override
    protected DrKit.Builder configure(DrKit.Builder builder) {
        return builder.register(MinioBucketTarget.provider(client));
    }

    @Override
    protected BackupTarget newTarget(TargetSpec spec) {
        return MinioBucketTarget.of(client, spec.settings());
    }

    private static void put(String bucket, String key, byte[] data, String type, Map<String, String> meta)
            throws Exception {
        client.putObject(PutObjectArgs.builder().bucket(bucket).object(key).stream(
                        new ByteArrayInputStream(data), data.length, -1)
                .contentType(type)
                .userMetadata(meta)
                .build());
    }

    @Override
    protected TargetSpec prepareSource(Path work) throws Exception {
        source = "source-" + unique;
        s3.createBucket(source);
        byte[] blob = new byte[300_000];
        new Random(3).nextBytes(blob);
        put(source, "media/blob.bin", blob, "application/octet-stream", Map.of("kind", "raw"));
        put(
                source,
                "notes.txt",
                "quarterly notes\n".repeat(50).getBytes(StandardCharsets.UTF_8),
                "text/plain",
                Map.of());
        put(
                source,
                "deep/a/b/c.json",
                "{\"a\":1}".getBytes(StandardCharsets.UTF_8),
                "application/json",
                Map.of("owner", "finance"));
        return new TargetSpec(
                "buckets",
                MinioBucketTargetProvider.TYPE,
                Settings.builder().add("bucket", source).build());
    }

    @Override
    protected String destination(String name) {
        return "restored-" + name + "-" + unique;
    }

    @Override
    protected Settings restoreOptions(String destination) {
        return Settings.builder().set("to-bucket", destination).build();
    }

    /** Each object's bytes' digest, content type and user metadata, by key. */
    private static Map<String, String> contents(String bucket) throws Exception {
        Map<String, String> out = new TreeMap<>();
        if (!client.bucketExists(BucketExistsArgs.builder().bucket(bucket).build())) {
            return out;
        }
        for (Result<Item> r : client.listObjects(
                ListObjectsArgs.builder().bucket(bucket).recursive(true).build())) {
            String key = r.get().objectName();
            StatObjectResponse stat = client.statObject(
                    StatObjectArgs.builder().bucket(bucket).object(key).build());
            try (InputStream in = client.getObject(
                    GetObjectArgs.builder().bucket(bucket).object(key).build())) {
                out.put(
                        key,
                        Arrays.hashCode(in.readAllBytes()) + " " + stat.contentType() + " "
                                + new TreeMap<>(stat.userMetadata()));
            }
        }
        return out;
    }

    @Override
    protected void assertRestored(String destination) throws Exception {
        Map<String, String> expected = contents(source);
        assertThat(expected).hasSize(3);
        assertThat(contents(destination)).containsAllEntriesOf(expected);
    }

    @Override
    protected void occupy(String destination) throws Exception {
        s3.createBucket(destination);
        put(destination, "live.txt", "live data".getBytes(StandardCharsets.UTF_8), "text/plain", Map.of());
    }

    @Override
    protected void assertOccupiedUntouched(String destination) throws Exception {
        assertThat(contents(destination).keySet()).containsExactly("live.txt");
        try (InputStream in = client.getObject(
                GetObjectArgs.builder().bucket(destination).object("live.txt").build())) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("live data");
        }
    }

    @Override
    protected void assertNothingRestored(String destination) throws Exception {
        assertThat(contents(destination)).isEmpty();
    }

    @Override
    protected UnreachableSource unreachableSource() {
        String missing = "no-such-bucket-" + unique;
        return new UnreachableSource(
                new TargetSpec(
                        "buckets",
                        MinioBucketTargetProvider.TYPE,
                        Settings.builder().add("bucket", missing).build()),
                missing);
    }

    /** Into a bucket holding objects without force, objects newer than the backup are kept. */
    @Override
    protected boolean mergesIntoOccupiedDestination() {
        return true;
    }

    @Override
    protected void assertOccupiedKeptBesideRestored(String destination) throws Exception {
        Map<String, String> after = contents(destination);
        assertThat(after)
                .containsAllEntriesOf(contents(source))
                .hasSize(contents(source).size() + 1);
        try (InputStream in = client.getObject(
                GetObjectArgs.builder().bucket(destination).object("live.txt").build())) {
            assertThat(new String(in.readAllBytes(), StandardCharsets.UTF_8)).isEqualTo("live data");
        }
    }
}
