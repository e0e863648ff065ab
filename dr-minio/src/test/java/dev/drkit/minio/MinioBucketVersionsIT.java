package dev.drkit.minio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupResult;
import dev.drkit.ConfigException;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import io.minio.GetObjectArgs;
import io.minio.GetObjectTagsArgs;
import io.minio.ListObjectsArgs;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.Result;
import io.minio.SetObjectTagsArgs;
import io.minio.StatObjectArgs;
import io.minio.StatObjectResponse;
import io.minio.errors.ErrorResponseException;
import io.minio.messages.Item;
import java.io.ByteArrayInputStream;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code versions=true} against a server that keeps versions (moto): every version and delete
 * marker is backed up, a history is replayed oldest first into another bucket, and {@code time=}
 * restores the bucket as it was at a time.
 */
class MinioBucketVersionsIT extends MotoBucketIT {
    @TempDir
    Path dir;

    private static void put(String bucket, String key, String text, String type, Map<String, String> meta)
            throws Exception {
        byte[] data = text.getBytes(StandardCharsets.UTF_8);
        client.putObject(PutObjectArgs.builder().bucket(bucket).object(key).stream(
                        new ByteArrayInputStream(data), data.length, -1)
                .contentType(type)
                .userMetadata(meta)
                .build());
        Thread.sleep(1100); // the server keeps times in whole seconds; keep every change in its own second
    }

    private static String get(String bucket, String key, String versionId) throws Exception {
        try (InputStream in = client.getObject(GetObjectArgs.builder()
                .bucket(bucket)
                .object(key)
                .versionId(versionId)
                .build())) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    /** The key's history, oldest first: each version's text, or "(deleted)" for a delete marker. */
    private static List<String> history(String bucket, String key) throws Exception {
        List<Item> items = new ArrayList<>();
        for (Result<Item> r : client.listObjects(ListObjectsArgs.builder()
                .bucket(bucket)
                .prefix(key)
                .includeVersions(true)
                .build())) {
            if (r.get().objectName().equals(key)) {
                items.add(r.get());
            }
        }
        // listed newest first; restored versions can share a second, so the listing order breaks ties
        List<Item> listed = List.copyOf(items);
        items.sort(Comparator.comparing((Item i) -> i.isLatest())
                .thenComparing(i -> i.lastModified().toInstant())
                .thenComparing(i -> -listed.indexOf(i)));
        List<String> out = new ArrayList<>();
        for (Item i : items) {
            out.add(i.isDeleteMarker() ? "(deleted)" : get(bucket, key, i.versionId()));
        }
        return out;
    }

    private static boolean exists(String bucket, String key) throws Exception {
        try {
            client.statObject(
                    StatObjectArgs.builder().bucket(bucket).object(key).build());
            return true;
        } catch (ErrorResponseException e) {
            return false;
        }
    }

    @Test
    void everyVersionAndDeleteMarkerIsBackedUpAndReplayedOldestFirst() throws Exception {
        s3.createVersionedBucket("ledger");
        put("ledger", "a.txt", "one", "text/plain", Map.of());
        Instant afterFirst = Instant.now();
        Thread.sleep(1100);
        put("ledger", "a.txt", "two", "text/plain", Map.of("rev", "2"));
        put("ledger", "b.pdf", "%PDF-1.4 report", "application/pdf", Map.of("owner", "finance"));
        Instant beforeDelete = Instant.now();
        Thread.sleep(1100);
        client.removeObject(
                RemoveObjectArgs.builder().bucket("ledger").object("b.pdf").build());
        Thread.sleep(1100);
        put("ledger", "c.txt", "three", "text/plain", Map.of());

        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(MinioBucketTarget.provider(client))
                .build()) {
            TargetSpec spec = new TargetSpec(
                    "ledger",
                    "minio-bucket",
                    Settings.builder()
                            .add("bucket", "ledger")
                            .set("versions", "true")
                            .build());
            BackupResult b = kit.backup(spec);
            assertThat(b.manifest().metadata())
                    .containsEntry("objects", 2)
                    .containsEntry("versions", 4)
                    .containsEntry("deleteMarkers", 1);
            assertThat(kit.verify("ledger", b.id(), VerifyLevel.DECODE).passed())
                    .isTrue();

            // the whole history, into a new bucket
            kit.restore(new RestoreRequest(
                    "ledger",
                    b.id(),
                    Settings.builder().set("to-bucket", "ledger-copy").build(),
                    false));
            assertThat(history("ledger-copy", "a.txt")).containsExactly("one", "two");
            assertThat(history("ledger-copy", "b.pdf")).containsExactly("%PDF-1.4 report", "(deleted)");
            assertThat(history("ledger-copy", "c.txt")).containsExactly("three");
            assertThat(exists("ledger-copy", "b.pdf")).isFalse();
            StatObjectResponse two = client.statObject(StatObjectArgs.builder()
                    .bucket("ledger-copy")
                    .object("a.txt")
                    .build());
            assertThat(two.userMetadata()).containsEntry("rev", "2");

            // the bucket as it was before b.pdf was deleted, and before a.txt's second version
            kit.restore(new RestoreRequest(
                    "ledger",
                    b.id(),
                    Settings.builder()
                            .set("to-bucket", "ledger-then")
                            .set("time", beforeDelete.toString())
                            .build(),
                    false));
            assertThat(get("ledger-then", "a.txt", null)).isEqualTo("two");
            assertThat(get("ledger-then", "b.pdf", null)).isEqualTo("%PDF-1.4 report");
            StatObjectResponse pdf = client.statObject(StatObjectArgs.builder()
                    .bucket("ledger-then")
                    .object("b.pdf")
                    .build());
            assertThat(pdf.contentType()).isEqualTo("application/pdf");
            assertThat(pdf.userMetadata()).containsEntry("owner", "finance");
            assertThat(exists("ledger-then", "c.txt")).isFalse();
            kit.restore(new RestoreRequest(
                    "ledger",
                    b.id(),
                    Settings.builder()
                            .set("to-bucket", "ledger-first")
                            .set("time", afterFirst.toString())
                            .build(),
                    false));
            assertThat(get("ledger-first", "a.txt", null)).isEqualTo("one");
            assertThat(exists("ledger-first", "b.pdf")).isFalse();

            // incremental: versions already stored are referenced, the new one is copied
            put("ledger", "a.txt", "four", "text/plain", Map.of());
            BackupResult next = kit.backup(spec);
            assertThat(next.manifest().metadata()).containsEntry("versions", 5).containsEntry("objectsReused", 4);
            assertThat(next.manifest().kind()).isEqualTo("incremental");
            kit.restore(new RestoreRequest(
                    "ledger",
                    next.id(),
                    Settings.builder().set("to-bucket", "ledger-next").build(),
                    false));
            assertThat(history("ledger-next", "a.txt")).containsExactly("one", "two", "four");
            assertThat(history("ledger-next", "b.pdf")).containsExactly("%PDF-1.4 report", "(deleted)");
        }
    }

    @Test
    void aKeyChangedAfterTheBackupIsLeftAloneUnlessForced() throws Exception {
        s3.createVersionedBucket("notes");
        put("notes", "n.txt", "old", "text/plain", Map.of());
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(MinioBucketTarget.provider(client))
                .build()) {
            TargetSpec spec = new TargetSpec(
                    "notes",
                    "minio-bucket",
                    Settings.builder()
                            .add("bucket", "notes")
                            .set("versions", "true")
                            .build());
            BackupResult b = kit.backup(spec);
            put("notes", "n.txt", "newer", "text/plain", Map.of());

            kit.restore(new RestoreRequest("notes", b.id(), Settings.empty(), false));
            assertThat(history("notes", "n.txt")).containsExactly("old", "newer");
            kit.restore(new RestoreRequest("notes", b.id(), Settings.empty(), true));
            assertThat(history("notes", "n.txt")).containsExactly("old", "newer", "old");
        }
    }

    @Test
    void anUnversionedBucketBacksUpWithVersionsTooAndAtNeedsAVersionedBackup() throws Exception {
        s3.createBucket("plain");
        put("plain", "p.txt", "p", "text/plain", Map.of());
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(MinioBucketTarget.provider(client))
                .build()) {
            // S3 names the one version of an object in an unversioned bucket "null"
            BackupResult versioned = kit.backup(new TargetSpec(
                    "plain",
                    "minio-bucket",
                    Settings.builder()
                            .add("bucket", "plain")
                            .set("versions", "true")
                            .build()));
            assertThat(versioned.manifest().metadata()).containsEntry("versions", 1);
            kit.restore(new RestoreRequest(
                    "plain",
                    versioned.id(),
                    Settings.builder()
                            .set("to-bucket", "plain-copy")
                            .set("time", Instant.now().toString())
                            .build(),
                    false));
            assertThat(get("plain-copy", "p.txt", null)).isEqualTo("p");

            BackupResult b = kit.backup(new TargetSpec(
                    "plain",
                    "minio-bucket",
                    Settings.builder()
                            .add("bucket", "plain")
                            .set("full", "true")
                            .build()));
            assertThatThrownBy(() -> kit.restore(new RestoreRequest(
                            "plain",
                            b.id(),
                            Settings.builder()
                                    .set("time", Instant.now().toString())
                                    .build(),
                            false)))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("setting 'time' needs a backup taken with setting 'versions'");
        }
    }

    @Test
    void tagsChangedWithoutNewBytesAreInTheNextBackup() throws Exception {
        s3.createBucket("tagged");
        put("tagged", "t.txt", "same bytes", "text/plain", Map.of());
        client.setObjectTags(SetObjectTagsArgs.builder()
                .bucket("tagged")
                .object("t.txt")
                .tags(Map.of("stage", "draft"))
                .build());
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(MinioBucketTarget.provider(client))
                .build()) {
            TargetSpec spec = new TargetSpec(
                    "tagged",
                    "minio-bucket",
                    Settings.builder().add("bucket", "tagged").build());
            kit.backup(spec);
            client.setObjectTags(SetObjectTagsArgs.builder()
                    .bucket("tagged")
                    .object("t.txt")
                    .tags(Map.of("stage", "final"))
                    .build());
            BackupResult next = kit.backup(spec);
            assertThat(next.manifest().metadata()).containsEntry("objectsReused", 1); // the bytes were not copied again
            kit.restore(new RestoreRequest(
                    "tagged",
                    next.id(),
                    Settings.builder().set("to-bucket", "tagged-copy").build(),
                    false));
            assertThat(client.getObjectTags(GetObjectTagsArgs.builder()
                                    .bucket("tagged-copy")
                                    .object("t.txt")
                                    .build())
                            .get())
                    .containsEntry("stage", "final");
        }
    }
}
