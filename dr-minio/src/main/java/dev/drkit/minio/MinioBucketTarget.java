package dev.drkit.minio;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.drkit.Capability;
import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.Settings;
import dev.drkit.core.repo.Json;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.RestoreContext;
import io.minio.BucketExistsArgs;
import io.minio.GetObjectArgs;
import io.minio.GetObjectTagsArgs;
import io.minio.ListObjectsArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.Result;
import io.minio.SetObjectTagsArgs;
import io.minio.StatObjectArgs;
import io.minio.StatObjectResponse;
import io.minio.errors.ErrorResponseException;
import io.minio.messages.Item;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backs up MinIO/S3 buckets (or prefixes of them): every object's bytes go into a tar
 * artifact, {@code objects.tar} (entries named {@code bucket/key}), and their metadata
 * (content type and the other standard headers, user metadata, tags, ETag, time) into
 * {@code index.json}. Restore puts them back into the same or another bucket, optionally
 * under a prefix, and never overwrites an object newer than the backup unless forced.
 *
 * <p>Settings: {@code endpoint} (http(s)://host:port), {@code bucket} (repeatable),
 * {@code prefix}; credentials from {@code AWS_ACCESS_KEY_ID}/{@code AWS_SECRET_ACCESS_KEY}.
 * Restore options: {@code endpoint}, {@code to-bucket}, {@code prefix}, force.
 *
 * <p>Backups are incremental by ETag and size: an object unchanged since the previous backup
 * is not copied again; its index entry names the backup that holds its bytes, which the
 * manifest records as a dependency so that retention keeps it. {@code full=true} forces a
 * full backup.
 */
public final class MinioBucketTarget implements BackupTarget {
    public static final String OBJECTS = "objects.tar";
    public static final String INDEX = "index.json";
    private static final Logger LOG = LoggerFactory.getLogger(MinioBucketTarget.class);
    private static final List<String> STANDARD_HEADERS = List.of("Cache-Control", "Content-Disposition",
            "Content-Encoding", "Content-Language", "Expires");

    private final Settings settings;
    private final MinioClient hostClient;

    MinioBucketTarget(Settings settings, MinioClient client) {
        this.settings = settings;
        this.hostClient = client;
    }

    /** A target on a client the host owns. */
    public static MinioBucketTarget of(MinioClient client, Settings settings) {
        return new MinioBucketTarget(settings, client);
    }

    /**
     * A provider of {@code minio-bucket} targets on a client the host owns, to register with
     * {@code DrKit.builder().register(...)}: it wins over the discovered one, which builds its
     * client from {@code endpoint} and the AWS environment variables.
     */
    public static dev.drkit.spi.BackupTargetProvider provider(MinioClient client) {
        java.util.Objects.requireNonNull(client, "client");
        return new dev.drkit.spi.BackupTargetProvider() {
            @Override
            public String type() {
                return MinioBucketTargetProvider.TYPE;
            }

            @Override
            public dev.drkit.spi.BackupTarget create(Settings settings) {
                return of(client, settings);
            }
        };
    }

    @Override
    public String type() {
        return MinioBucketTargetProvider.TYPE;
    }

    @Override
    public Set<Capability> capabilities() {
        return EnumSet.of(Capability.FULL, Capability.SELECTIVE_RESTORE, Capability.ONLINE_RESTORE);
    }

    /** What the index records for one object. */
    public record ObjectEntry(String bucket, String key, long size, String etag, Instant lastModified,
                              String contentType, Map<String, String> headers, Map<String, String> userMetadata,
                              Map<String, String> tags, String storedIn) {

        String name() {
            return bucket + "/" + key;
        }

        /** The same object, its bytes held by another backup. */
        ObjectEntry in(String backupId) {
            return new ObjectEntry(bucket, key, size, etag, lastModified, contentType, headers, userMetadata, tags,
                    backupId);
        }

        boolean sameBytes(ObjectEntry other) {
            return other != null && other.size == size && etag != null && etag.equals(other.etag);
        }
    }

    private MinioClient client(Settings s) {
        if (hostClient != null) {
            return hostClient;
        }
        URI endpoint = URI.create(s.get("endpoint").orElseThrow(() -> new ConfigException(
                "minio-bucket needs --endpoint http(s)://HOST:PORT")));
        String access = System.getenv("AWS_ACCESS_KEY_ID");
        String secret = System.getenv("AWS_SECRET_ACCESS_KEY");
        if (access == null || secret == null) {
            throw new ConfigException("minio-bucket credentials missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
        }
        return MinioClient.builder().endpoint(endpoint.toString()).credentials(access, secret)
                .region(s.get("region", "us-east-1")).build();
    }

    @Override
    public void backup(BackupContext context) throws IOException {
        List<String> buckets = settings.getAll("bucket");
        if (buckets.isEmpty()) {
            throw new ConfigException("minio-bucket: give at least one --bucket");
        }
        MinioClient client = client(settings);
        String prefix = settings.get("prefix", "");
        Map<String, ObjectEntry> before = settings.bool("full", false) ? Map.of() : previousIndex(context);
        List<ObjectEntry> index = new ArrayList<>();
        java.util.Set<String> dependsOn = new java.util.TreeSet<>();
        long bytes = 0;
        int reused = 0;
        try (OutputStream out = context.newArtifact(OBJECTS)) {
            TarArchiveOutputStream tar = new TarArchiveOutputStream(out);
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            for (String bucket : buckets) {
                for (Result<Item> r : client.listObjects(ListObjectsArgs.builder().bucket(bucket).prefix(prefix)
                        .recursive(true).build())) {
                    Item item = r.get();
                    if (item.isDir()) {
                        continue;
                    }
                    ObjectEntry e = describe(client, bucket, item);
                    ObjectEntry old = before.get(e.name());
                    if (e.sameBytes(old)) { // unchanged since the previous backup: reference, do not copy
                        index.add(e.in(old.storedIn()));
                        dependsOn.add(old.storedIn());
                        reused++;
                        continue;
                    }
                    TarArchiveEntry entry = new TarArchiveEntry(bucket + "/" + item.objectName());
                    entry.setSize(e.size());
                    entry.setModTime(java.util.Date.from(e.lastModified()));
                    tar.putArchiveEntry(entry);
                    try (InputStream in = client.getObject(GetObjectArgs.builder().bucket(bucket)
                            .object(item.objectName()).build())) {
                        long copied = in.transferTo(tar);
                        if (copied != e.size()) {
                            throw new DrException(ErrorCode.TARGET, bucket + "/" + item.objectName()
                                    + " changed during the backup (" + copied + " bytes, listed " + e.size() + ")");
                        }
                    }
                    tar.closeArchiveEntry();
                    index.add(e);
                    bytes += e.size();
                }
            }
            tar.finish();
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new DrException(ErrorCode.TARGET, "backing up buckets " + buckets + ": " + e.getMessage(), e);
        }
        try (OutputStream out = context.newArtifact(INDEX)) {
            out.write(Json.write(index));
        }
        context.metadata("buckets", buckets);
        context.metadata("objects", index.size());
        context.metadata("bytes", bytes);
        context.metadata("objectsReused", reused);
        if (!dependsOn.isEmpty()) {
            context.kind("incremental");
            dependsOn.forEach(context::dependsOn);
        }
    }

    /** The previous backup's index, with every entry naming the backup that holds its bytes. */
    private static Map<String, ObjectEntry> previousIndex(BackupContext context) throws IOException {
        Optional<dev.drkit.BackupManifest> prev = context.previous();
        if (prev.isEmpty() || !MinioBucketTargetProvider.TYPE.equals(prev.get().type())) {
            return Map.of();
        }
        Map<String, ObjectEntry> out = new LinkedHashMap<>();
        for (ObjectEntry e : readIndex(context.openArtifact(prev.get(), INDEX))) {
            out.put(e.name(), e.storedIn() == null ? e.in(prev.get().id()) : e);
        }
        return out;
    }

    private static List<ObjectEntry> readIndex(InputStream artifact) throws IOException {
        try (InputStream in = artifact) {
            return Json.mapper().readValue(in.readAllBytes(), new TypeReference<List<ObjectEntry>>() { });
        }
    }

    private static ObjectEntry describe(MinioClient client, String bucket, Item item) throws Exception {
        StatObjectResponse stat = client.statObject(StatObjectArgs.builder().bucket(bucket).object(item.objectName())
                .build());
        Map<String, String> headers = new LinkedHashMap<>();
        for (String h : STANDARD_HEADERS) {
            String v = stat.headers().get(h);
            if (v != null) {
                headers.put(h, v);
            }
        }
        Map<String, String> tags = null;
        try {
            tags = client.getObjectTags(GetObjectTagsArgs.builder().bucket(bucket).object(item.objectName()).build())
                    .get();
        } catch (ErrorResponseException | io.minio.errors.XmlParserException e) {
            LOG.debug("no tags for {}/{}: {}", bucket, item.objectName(), e.getMessage());
        }
        return new ObjectEntry(bucket, item.objectName(), stat.size(), stat.etag(), stat.lastModified().toInstant(),
                stat.contentType(), headers, new LinkedHashMap<>(stat.userMetadata()), tags, null);
    }

    @Override
    public void restore(RestoreContext context) throws IOException {
        Settings o = context.options();
        MinioClient client = client(o.has("endpoint") ? o : settings);
        Placement placement = new Placement(o.get("to-bucket", null), o.get("prefix", ""), context.force());
        Map<String, Map<String, ObjectEntry>> bySource = new LinkedHashMap<>();
        for (ObjectEntry e : readIndex(context.openArtifact(INDEX))) {
            bySource.computeIfAbsent(e.storedIn() == null ? "" : e.storedIn(), k -> new LinkedHashMap<>())
                    .put(e.name(), e);
        }
        List<String> skipped = new ArrayList<>();
        int restored = 0;
        for (Map.Entry<String, Map<String, ObjectEntry>> source : bySource.entrySet()) {
            InputStream objects = source.getKey().isEmpty() ? context.openArtifact(OBJECTS)
                    : context.openArtifact(source.getKey(), OBJECTS);
            restored += restoreFrom(client, objects, source.getValue(), placement, skipped);
        }
        if (!skipped.isEmpty()) {
            LOG.warn("kept {} object(s) newer than the backup (pass --force to overwrite): {}", skipped.size(),
                    skipped.size() > 10 ? skipped.subList(0, 10) + " ..." : skipped);
        }
        LOG.info("restored {} object(s)", restored);
    }

    private record Placement(String toBucket, String prefix, boolean force) {
    }

    /** Puts back the wanted objects found in one backup's objects.tar. */
    private static int restoreFrom(MinioClient client, InputStream objects, Map<String, ObjectEntry> wanted,
                                   Placement placement, List<String> skipped) throws IOException {
        int restored = 0;
        try (InputStream in = objects) {
            TarArchiveInputStream tar = new TarArchiveInputStream(in);
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                ObjectEntry e = wanted.get(entry.getName());
                if (e == null) {
                    continue; // another object of that backup, not part of this restore
                }
                String bucket = placement.toBucket() != null ? placement.toBucket() : e.bucket();
                String key = placement.prefix() + e.key();
                ensureBucket(client, bucket);
                Instant existing = lastModified(client, bucket, key);
                if (existing != null && existing.isAfter(e.lastModified()) && !placement.force()) {
                    skipped.add(bucket + "/" + key);
                    continue;
                }
                PutObjectArgs.Builder put = PutObjectArgs.builder().bucket(bucket).object(key)
                        .stream(tar, e.size(), -1).userMetadata(e.userMetadata()).headers(e.headers());
                if (e.contentType() != null) {
                    put.contentType(e.contentType());
                }
                client.putObject(put.build());
                if (e.tags() != null && !e.tags().isEmpty()) {
                    client.setObjectTags(SetObjectTagsArgs.builder().bucket(bucket).object(key).tags(e.tags()).build());
                }
                restored++;
            }
            in.transferTo(OutputStream.nullOutputStream()); // checksums to the end
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new DrException(ErrorCode.TARGET, "restoring objects failed: " + e.getMessage(), e);
        }
        return restored;
    }

    private static void ensureBucket(MinioClient client, String bucket) throws Exception {
        // one HEAD per object is cheap next to the PUT; buckets are created on first use
        if (!client.bucketExists(BucketExistsArgs.builder().bucket(bucket).build())) {
            client.makeBucket(MakeBucketArgs.builder().bucket(bucket).build());
        }
    }

    private static Instant lastModified(MinioClient client, String bucket, String key) throws Exception {
        try {
            return client.statObject(StatObjectArgs.builder().bucket(bucket).object(key).build()).lastModified()
                    .toInstant();
        } catch (ErrorResponseException e) {
            if (e.response().code() == 404 || "NoSuchKey".equals(e.errorResponse().code())) {
                return null;
            }
            throw e;
        }
    }
}
