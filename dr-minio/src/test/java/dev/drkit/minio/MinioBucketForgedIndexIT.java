package dev.drkit.minio;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupManifest;
import dev.drkit.Settings;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.support.Json;
import dev.drkit.testkit.S3ServerExtension;
import io.minio.BucketExistsArgs;
import io.minio.GetObjectArgs;
import io.minio.ListObjectsArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.Result;
import io.minio.messages.Item;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;

/**
 * {@code minio-bucket} restores of a forged backup: a backup whose index.json and objects.tar
 * were written by someone who can write the repository (or by an unlucky backup), restored with
 * {@code to-bucket} and {@code prefix}, must not write outside that bucket and prefix, and must
 * not put other bytes than the backup's without saying so.
 */
class MinioBucketForgedIndexIT {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension();

    static MinioClient client;

    @BeforeAll
    static void startClient() {
        client = MinioClient.builder()
                .endpoint(s3.endpoint().toString())
                .region("us-east-1")
                .credentials(s3.accessKey(), s3.secretKey())
                .build();
    }

    private static String unique(String name) {
        return name + "-" + Long.toHexString(System.nanoTime());
    }

    static void put(String bucket, String key, byte[] data) throws Exception {
        client.putObject(PutObjectArgs.builder().bucket(bucket).object(key).stream(
                        new ByteArrayInputStream(data), data.length, -1)
                .build());
    }

    static byte[] get(String bucket, String key) throws Exception {
        try (InputStream in = client.getObject(
                GetObjectArgs.builder().bucket(bucket).object(key).build())) {
            return in.readAllBytes();
        }
    }

    static List<String> keys(String bucket) throws Exception {
        List<String> out = new ArrayList<>();
        if (!client.bucketExists(BucketExistsArgs.builder().bucket(bucket).build())) {
            return out;
        }
        for (Result<Item> r : client.listObjects(
                ListObjectsArgs.builder().bucket(bucket).recursive(true).build())) {
            out.add(r.get().objectName());
        }
        return out;
    }

    /** One forged index entry: what index.json records for an object. */
    static Map<String, Object> entry(String bucket, String key, long size, Map<String, String> headers) {
        Map<String, Object> e = new LinkedHashMap<>();
        e.put("bucket", bucket);
        e.put("key", key);
        e.put("size", size);
        e.put("etag", "0123456789abcdef0123456789abcdef");
        e.put("lastModified", Instant.parse("2020-01-01T00:00:00Z").toString());
        e.put("contentType", "text/plain");
        e.put("headers", headers);
        e.put("userMetadata", Map.of());
        e.put("tags", Map.of());
        return e;
    }

    /** An objects.tar holding these entries (name to bytes). */
    static byte[] tar(Map<String, byte[]> entries) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (TarArchiveOutputStream tar = new TarArchiveOutputStream(bytes)) {
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            for (Map.Entry<String, byte[]> e : entries.entrySet()) {
                TarArchiveEntry t = new TarArchiveEntry(e.getKey());
                t.setSize(e.getValue().length);
                tar.putArchiveEntry(t);
                tar.write(e.getValue());
                tar.closeArchiveEntry();
            }
            tar.finish();
        }
        return bytes.toByteArray();
    }

    /** What drkit hands the target: the backup's artifacts, already checked against the manifest. */
    static RestoreContext context(List<Map<String, Object>> index, byte[] objectsTar, Settings options) {
        return context(index, objectsTar, options, List.of("src"), false);
    }

    /** As {@link #context(List, byte[], Settings)}, with the manifest's buckets and force chosen. */
    static RestoreContext context(
            List<Map<String, Object>> index, byte[] objectsTar, Settings options, List<String> buckets, boolean force) {
        BackupManifest manifest = new BackupManifest(
                BackupManifest.FORMAT,
                "20200101T000000Z-aaaa",
                "uploads",
                MinioBucketTargetProvider.TYPE,
                "full",
                null,
                List.of(),
                Instant.parse("2020-01-01T00:00:00Z"),
                Instant.parse("2020-01-01T00:00:01Z"),
                "test",
                "host",
                List.of(),
                Map.of("buckets", buckets));
        byte[] indexJson = Json.write(index);
        return new RestoreContext() {
            @Override
            public BackupManifest manifest() {
                return manifest;
            }

            @Override
            public InputStream openArtifact(String name) {
                return new ByteArrayInputStream(name.equals(MinioBucketTarget.INDEX) ? indexJson : objectsTar);
            }

            @Override
            public InputStream openArtifact(String backupId, String name) throws IOException {
                throw new IOException("no dependencies");
            }

            @Override
            public Settings options() {
                return options;
            }

            @Override
            public boolean force() {
                return force;
            }
        };
    }

    static Settings into(String bucket, String prefix) {
        return Settings.builder().set("to-bucket", bucket).set("prefix", prefix).build();
    }

    /**
     * (Passes: the MinIO SDK refuses object names with '.' or '..' segments before OkHttp could
     * resolve them.) A key with {@code ..} segments: the MinIO SDK builds the request URL with OkHttp, which
     * resolves dot segments, so {@code /dest/restored/../../victim/planted.txt} becomes
     * {@code /victim/planted.txt}: the restore writes into another bucket.
     */
    @Test
    void aKeyWithDotDotSegmentsStaysInTheDestinationBucketAndPrefix() throws Exception {
        String dest = unique("dest");
        String victim = unique("victim");
        s3.createBucket(dest);
        s3.createBucket(victim);
        put(victim, "planted.txt", "the victim's own data".getBytes(StandardCharsets.UTF_8));
        byte[] evil = "attacker bytes".getBytes(StandardCharsets.UTF_8);
        String key = "../../" + victim + "/planted.txt";
        RestoreContext ctx = context(
                List.of(entry("src", key, evil.length, Map.of())),
                tar(Map.of("src/" + key, evil)),
                into(dest, "restored/"));

        try {
            MinioBucketTarget.of(client, Settings.empty()).restore(ctx);
        } catch (Exception refused) {
            // refusing the key is fine; writing elsewhere is not
        }

        assertThat(new String(get(victim, "planted.txt"), StandardCharsets.UTF_8))
                .as("an object of another bucket than to-bucket")
                .isEqualTo("the victim's own data");
        assertThat(keys(dest)).allMatch(k -> k.startsWith("restored/"));
    }

    /** The same within the destination bucket: {@code ..} climbs out of the restore's prefix. */
    @Test
    void aKeyWithDotDotSegmentsStaysUnderThePrefix() throws Exception {
        String dest = unique("dest");
        s3.createBucket(dest);
        put(dest, "live/config.json", "{\"live\":true}".getBytes(StandardCharsets.UTF_8));
        byte[] evil = "{\"live\":false}".getBytes(StandardCharsets.UTF_8);
        String key = "../live/config.json";
        RestoreContext ctx = context(
                List.of(entry("src", key, evil.length, Map.of())),
                tar(Map.of("src/" + key, evil)),
                into(dest, "restored/"));

        try {
            MinioBucketTarget.of(client, Settings.empty()).restore(ctx);
        } catch (Exception refused) {
            // refusing the key is fine
        }

        assertThat(new String(get(dest, "live/config.json"), StandardCharsets.UTF_8))
                .isEqualTo("{\"live\":true}");
        assertThat(keys(dest)).allMatch(k -> k.startsWith("restored/") || k.equals("live/config.json"));
    }

    /**
     * index.json's {@code headers} go to PutObject as they are: a forged
     * {@code x-amz-copy-source} turns the restore's PUT into a server-side copy of another
     * bucket's object, so the destination gets bytes that were never in the backup.
     */
    @Test
    void forgedHeadersCannotTurnThePutIntoACopyOfAnotherBucket() throws Exception {
        String dest = unique("dest");
        String secrets = unique("secrets");
        s3.createBucket(dest);
        s3.createBucket(secrets);
        put(secrets, "payroll.csv", "alice,100000\n".getBytes(StandardCharsets.UTF_8));
        byte[] backedUp = "harmless".getBytes(StandardCharsets.UTF_8);
        RestoreContext ctx = context(
                List.of(entry(
                        "src",
                        "public/readme.txt",
                        backedUp.length,
                        Map.of("x-amz-copy-source", "/" + secrets + "/payroll.csv"))),
                tar(Map.of("src/public/readme.txt", backedUp)),
                into(dest, ""));

        try {
            MinioBucketTarget.of(client, Settings.empty()).restore(ctx);
        } catch (Exception refused) {
            // refusing the header is fine
        }

        if (keys(dest).contains("public/readme.txt")) {
            assertThat(new String(get(dest, "public/readme.txt"), StandardCharsets.UTF_8))
                    .as("the restored object's bytes")
                    .isEqualTo("harmless");
        }
    }

    /**
     * An index entry whose size is smaller than its objects.tar entry: the object is put
     * truncated to the index's size and the restore succeeds without a word.
     */
    @Test
    void anIndexSizeThatDisagreesWithTheArchiveFailsTheRestore() throws Exception {
        String dest = unique("dest");
        s3.createBucket(dest);
        byte[] real = "0123456789abcdefghij".getBytes(StandardCharsets.UTF_8);
        RestoreContext ctx = context(
                List.of(entry("src", "data.bin", 5, Map.of())), tar(Map.of("src/data.bin", real)), into(dest, ""));

        try {
            MinioBucketTarget.of(client, Settings.empty()).restore(ctx);
        } catch (Exception refused) {
            return; // saying so is fine
        }
        assertThat(new String(get(dest, "data.bin"), StandardCharsets.UTF_8))
                .as("a restore that reports success put these bytes; the archive holds 20")
                .isEqualTo("0123456789abcdefghij");
    }
}
