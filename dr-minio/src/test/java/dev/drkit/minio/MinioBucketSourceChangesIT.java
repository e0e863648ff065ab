package dev.drkit.minio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupResult;
import dev.drkit.ConfigException;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import io.minio.BucketExistsArgs;
import io.minio.GetObjectArgs;
import io.minio.GetObjectResponse;
import io.minio.GetObjectTagsArgs;
import io.minio.ListObjectsArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.Result;
import io.minio.SetObjectTagsArgs;
import io.minio.StatObjectArgs;
import io.minio.StatObjectResponse;
import io.minio.errors.ErrorResponseException;
import io.minio.errors.InsufficientDataException;
import io.minio.errors.InternalException;
import io.minio.errors.InvalidResponseException;
import io.minio.errors.ServerException;
import io.minio.errors.XmlParserException;
import io.minio.messages.ErrorResponse;
import io.minio.messages.Item;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.InvalidKeyException;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code minio-bucket} with busy or odd source buckets: objects replaced or deleted while the
 * backup reads them, odd keys, several buckets restored into one; through DrKit with a local
 * repository, against moto (which keeps any key and tags).
 */
class MinioBucketSourceChangesIT extends MotoBucketIT {
    @TempDir
    Path dir;

    static void put(String bucket, String key, String text) throws Exception {
        byte[] data = text.getBytes(StandardCharsets.UTF_8);
        client.putObject(PutObjectArgs.builder().bucket(bucket).object(key).stream(
                        new ByteArrayInputStream(data), data.length, -1)
                .contentType("text/plain")
                .build());
    }

    static String get(String bucket, String key) throws Exception {
        try (InputStream in = client.getObject(
                GetObjectArgs.builder().bucket(bucket).object(key).build())) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static List<String> keys(String bucket) throws Exception {
        List<String> out = new ArrayList<>();
        for (Result<Item> r : client.listObjects(
                ListObjectsArgs.builder().bucket(bucket).recursive(true).build())) {
            out.add(r.get().objectName());
        }
        return out;
    }

    /** A client that runs a hook before chosen calls: the source or destination changing under drkit. */
    static final class HookClient extends MinioClient {
        Consumer<StatObjectArgs> beforeStat = a -> {};
        Consumer<GetObjectArgs> beforeGet = a -> {};
        Consumer<SetObjectTagsArgs> beforeSetTags = a -> {};
        int slowDowns; // how many reads the server answers 503 SlowDown first

        static ErrorResponseException slowDown(String bucket, String key) {
            okhttp3.Response response = new okhttp3.Response.Builder()
                    .request(new okhttp3.Request.Builder()
                            .url("http://minio.test/" + bucket + "/" + key)
                            .build())
                    .protocol(okhttp3.Protocol.HTTP_1_1)
                    .code(503)
                    .message("Slow Down")
                    .build();
            return new ErrorResponseException(
                    new ErrorResponse(
                            "SlowDown", "Please reduce your request rate.", bucket, key, "/" + key, "req", "host"),
                    response,
                    "trace");
        }

        HookClient(MinioClient client) {
            super(client);
        }

        @Override
        public StatObjectResponse statObject(StatObjectArgs args)
                throws ErrorResponseException, InsufficientDataException, InternalException, InvalidKeyException,
                        InvalidResponseException, IOException, NoSuchAlgorithmException, ServerException,
                        XmlParserException {
            beforeStat.accept(args);
            return super.statObject(args);
        }

        @Override
        public GetObjectResponse getObject(GetObjectArgs args)
                throws ErrorResponseException, InsufficientDataException, InternalException, InvalidKeyException,
                        InvalidResponseException, IOException, NoSuchAlgorithmException, ServerException,
                        XmlParserException {
            beforeGet.accept(args);
            if (slowDowns > 0) {
                slowDowns--;
                throw slowDown(args.bucket(), args.object());
            }
            return super.getObject(args);
        }

        @Override
        public void setObjectTags(SetObjectTagsArgs args)
                throws ErrorResponseException, InsufficientDataException, InternalException, InvalidKeyException,
                        InvalidResponseException, IOException, NoSuchAlgorithmException, ServerException,
                        XmlParserException {
            beforeSetTags.accept(args);
            super.setObjectTags(args);
        }
    }

    private DrKit kit(MinioClient c) {
        return DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(MinioBucketTarget.provider(c))
                .build();
    }

    private static TargetSpec spec(String... buckets) {
        Settings.Builder s = Settings.builder();
        for (String b : buckets) {
            s.add("bucket", b);
        }
        return new TargetSpec("uploads", MinioBucketTargetProvider.TYPE, s.build());
    }

    /**
     * The object is replaced (same size) between its stat and its read: the index records the
     * old ETag with the new bytes. When the object later goes back to its old content, the next
     * backup sees the old ETag, references the first backup's bytes, and a restore of it brings
     * back bytes the bucket did not hold at any time during that backup.
     */
    @Test
    void anObjectReplacedWhileItIsReadIsNotRecordedUnderItsOldEtag() throws Exception {
        String bucket = unique("busy");
        s3.createBucket(bucket);
        put(bucket, "state.txt", "AAAA");
        HookClient hooked = new HookClient(client);
        hooked.beforeGet = a -> {
            hooked.beforeGet = x -> {};
            try {
                put(bucket, "state.txt", "BBBB"); // a writer, between drkit's stat and its read
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
        try (DrKit kit = kit(hooked)) {
            kit.backup(spec(bucket));
            put(bucket, "state.txt", "AAAA"); // back to what it was: the same ETag as at the first stat
            BackupResult second = kit.backup(spec(bucket));

            client.removeObject(RemoveObjectArgs.builder()
                    .bucket(bucket)
                    .object("state.txt")
                    .build());
            kit.restore(new RestoreRequest("uploads", second.id(), Settings.empty(), false));
            assertThat(get(bucket, "state.txt"))
                    .as("the bucket held AAAA throughout the second backup")
                    .isEqualTo("AAAA");
        }
    }

    /** An object deleted between the listing and its stat (a temporary upload) fails the whole backup. */
    @Test
    void anObjectDeletedDuringTheBackupDoesNotFailIt() throws Exception {
        String bucket = unique("churn");
        s3.createBucket(bucket);
        put(bucket, "keep.txt", "keep");
        put(bucket, "tmp/upload-1.part", "partial");
        HookClient hooked = new HookClient(client);
        hooked.beforeStat = a -> {
            if (a.object().startsWith("tmp/")) {
                try {
                    client.removeObject(RemoveObjectArgs.builder()
                            .bucket(bucket)
                            .object(a.object())
                            .build());
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            }
        };
        try (DrKit kit = kit(hooked)) {
            assertThatCode(() -> kit.backup(spec(bucket))).doesNotThrowAnyException();
        }
    }

    /**
     * Two buckets backed up together, restored with {@code to-bucket}: both mapped onto the same
     * keys of the one destination, so one bucket's object silently replaced (or, as "newer", hid)
     * the other's, and the restore reported success. Such a restore is now refused before it
     * writes anything.
     */
    @Test
    void aMultiBucketBackupIsNotRestoredIntoOneBucket() throws Exception {
        String a = unique("east");
        String b = unique("west");
        String dest = unique("merged");
        s3.createBucket(a);
        s3.createBucket(b);
        put(a, "config.json", "{\"site\":\"east\"}");
        put(b, "config.json", "{\"site\":\"west\"}");
        try (DrKit kit = kit(client)) {
            BackupResult backup = kit.backup(spec(a, b));
            assertThatThrownBy(() -> kit.restore(new RestoreRequest(
                            "uploads",
                            backup.id(),
                            Settings.builder().set("to-bucket", dest).build(),
                            false)))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("to-bucket")
                    .hasMessageContaining(a)
                    .hasMessageContaining(b);
            assertThat(client.bucketExists(
                            BucketExistsArgs.builder().bucket(dest).build()))
                    .as("nothing written")
                    .isFalse();
        }
    }

    /** Odd but ordinary keys, zero-byte objects and folder markers come back as they were (passes). */
    @Test
    void oddKeysComeBack() throws Exception {
        String bucket = unique("odd");
        String dest = unique("odd-dest");
        s3.createBucket(bucket);
        put(bucket, "folder/", "");
        put(bucket, "a//b", "double slash");
        put(bucket, "sp ace+plus%percent#hash?q=1&x", "odd");
        put(bucket, "empty.txt", "");
        put(bucket, "\u00e9t\u00e9/\u00fcber \u2603.txt", "unicode");
        put(bucket, "x".repeat(200) + "/" + "y".repeat(200) + "/" + "z".repeat(500), "long");
        try (DrKit kit = kit(client)) {
            BackupResult backup = kit.backup(spec(bucket));
            kit.restore(new RestoreRequest(
                    "uploads",
                    backup.id(),
                    Settings.builder().set("to-bucket", dest).build(),
                    false));
            assertThat(keys(dest)).containsExactlyInAnyOrderElementsOf(keys(bucket));
            for (String k : keys(bucket)) {
                assertThat(get(dest, k)).as(k).isEqualTo(get(bucket, k));
            }
        }
    }

    /**
     * A key ending in '/' that holds bytes (S3 allows it): objects.tar named it {@code bucket/key/},
     * which tar takes for a directory entry of size 0, so writing the bytes failed and one such
     * object stopped every backup of the bucket. It now comes back with its bytes, and a folder
     * marker (no bytes) as before.
     */
    @Test
    void anObjectWhoseKeyEndsInASlashIsBackedUpAndComesBack() throws Exception {
        String bucket = unique("slash");
        String dest = unique("slash-dest");
        s3.createBucket(bucket);
        put(bucket, "reports/", "folder note");
        put(bucket, "empty/", "");
        try (DrKit kit = kit(client)) {
            BackupResult backup = kit.backup(spec(bucket));
            kit.restore(new RestoreRequest(
                    "uploads",
                    backup.id(),
                    Settings.builder().set("to-bucket", dest).build(),
                    false));
            assertThat(get(dest, "reports/")).isEqualTo("folder note");
            assertThat(get(dest, "empty/")).isEmpty();
        }
    }

    /**
     * A key S3 allows but the MinIO SDK refuses ({@code x/../y}): anyone who may write one object
     * of the bucket stopped every backup of it, and the failure did not name the object. The
     * object is now left out, named in a warning and in the manifest, and the rest is backed up.
     */
    @Test
    void aKeyTheSdkRefusesIsLeftOutByNameAndTheRestBackedUp() throws Exception {
        String bucket = unique("hostile");
        s3.createBucket(bucket);
        put(bucket, "good.txt", "good");
        HttpResponse<String> r = HttpClient.newHttpClient()
                .send(
                        HttpRequest.newBuilder(URI.create(s3.endpoint() + "/" + bucket + "/x/%2E%2E/y"))
                                .PUT(HttpRequest.BodyPublishers.ofString("dots"))
                                .build(),
                        HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(keys(bucket)).contains("x/../y");

        try (DrKit kit = kit(client)) {
            BackupResult backup = kit.backup(spec(bucket));
            assertThat(kit.manifest("uploads", backup.id()).metadata().get("objectsLeftOut"))
                    .asList()
                    .containsExactly(bucket + "/x/../y");
            assertThat(kit.status(Map.of()).targets())
                    .singleElement()
                    .satisfies(t -> assertThat(t.problems())
                            .anySatisfy(p -> assertThat(p)
                                    .contains("left out 1 file(s) or object(s)")
                                    .contains("x/../y")));
            client.removeObject(
                    RemoveObjectArgs.builder().bucket(bucket).object("good.txt").build());
            kit.restore(new RestoreRequest("uploads", backup.id(), Settings.empty(), false));
            assertThat(get(bucket, "good.txt")).isEqualTo("good");
        }
    }

    /**
     * One throttled read (503 SlowDown, which the repository backends retry with backoff) failed
     * the whole bucket backup; reads of the source are now tried again.
     */
    @Test
    void aThrottledReadDoesNotFailTheBackup() throws Exception {
        String bucket = unique("throttled");
        s3.createBucket(bucket);
        for (int i = 0; i < 5; i++) {
            put(bucket, "obj-" + i, "payload " + i);
        }
        HookClient hooked = new HookClient(client);
        hooked.slowDowns = 2;
        try (DrKit kit = kit(hooked)) {
            BackupResult backup = kit.backup(spec(bucket));
            assertThat(hooked.slowDowns).as("both throttled answers were met").isZero();
            String dest = unique("throttled-dest");
            kit.restore(new RestoreRequest(
                    "uploads",
                    backup.id(),
                    Settings.builder().set("to-bucket", dest).build(),
                    false));
            assertThat(keys(dest)).hasSize(5);
        }
    }

    /**
     * A restore interrupted between an object's PUT and its tags: the rerun saw the object as
     * newer than the backup and kept it, so the tags were never restored, and the rerun reported
     * success. An object holding the backup's very bytes (ETag, size) gets the backup's tags now.
     */
    @Test
    void aRestoreRunAgainAfterAnInterruptionCompletesTheTags() throws Exception {
        String bucket = unique("tagged");
        String dest = unique("tagged-dest");
        s3.createBucket(bucket);
        put(bucket, "invoice.pdf", "%PDF");
        client.setObjectTags(SetObjectTagsArgs.builder()
                .bucket(bucket)
                .object("invoice.pdf")
                .tags(Map.of("retention", "legal-hold"))
                .build());
        BackupResult backup;
        try (DrKit kit = kit(client)) {
            backup = kit.backup(spec(bucket));
        }
        HookClient interrupted = new HookClient(client);
        interrupted.beforeSetTags = a -> {
            throw new IllegalStateException("the restore was killed here");
        };
        RestoreRequest toDest = new RestoreRequest(
                "uploads",
                backup.id(),
                Settings.builder().set("to-bucket", dest).build(),
                false);
        try (DrKit kit = kit(interrupted)) {
            assertThatThrownBy(() -> kit.restore(toDest)).hasMessageContaining("killed here");
        }
        assertThat(get(dest, "invoice.pdf")).isEqualTo("%PDF");
        Thread.sleep(1100); // the object put now is newer than the backup by whole seconds
        try (DrKit kit = kit(client)) {
            kit.restore(toDest);
        }
        assertThat(client.getObjectTags(GetObjectTagsArgs.builder()
                                .bucket(dest)
                                .object("invoice.pdf")
                                .build())
                        .get())
                .containsEntry("retention", "legal-hold");
    }
}
