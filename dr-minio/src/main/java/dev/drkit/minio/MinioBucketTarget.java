package dev.drkit.minio;

import com.fasterxml.jackson.core.type.TypeReference;
import dev.drkit.BackupManifest;
import dev.drkit.Capability;
import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.Settings;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.support.Json;
import dev.drkit.spi.support.OptionValidator;
import dev.drkit.spi.support.TarEntryReader;
import io.minio.BucketExistsArgs;
import io.minio.GetBucketVersioningArgs;
import io.minio.GetObjectArgs;
import io.minio.GetObjectTagsArgs;
import io.minio.ListObjectsArgs;
import io.minio.MakeBucketArgs;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.Result;
import io.minio.SetBucketVersioningArgs;
import io.minio.SetObjectTagsArgs;
import io.minio.StatObjectArgs;
import io.minio.StatObjectResponse;
import io.minio.errors.ErrorResponseException;
import io.minio.errors.XmlParserException;
import io.minio.messages.Item;
import io.minio.messages.VersioningConfiguration;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Collections;
import java.util.Comparator;
import java.util.Date;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
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
 *
 * <p>{@code versions=true} backs up every version and delete marker of a versioned bucket
 * (version ids are immutable, so each version is copied once and referenced afterwards).
 * Restoring such a backup replays each key's history oldest first, delete markers included,
 * as new versions (a new destination bucket gets versioning); {@code time=TIME} instead restores
 * the bucket as it was at that time, and {@code latest-only=true} only the current versions.
 */
public final class MinioBucketTarget implements BackupTarget {
    public static final String OBJECTS = "objects.tar";

    public static final String INDEX = "index.json";

    /** objects.tar names are UTF-8, as the keys are, whatever the platform charset. */
    private static final String TAR_NAMES = "UTF-8";

    private static final Logger LOG = LoggerFactory.getLogger(MinioBucketTarget.class);
    private static final List<String> STANDARD_HEADERS =
            List.of("Cache-Control", "Content-Disposition", "Content-Encoding", "Content-Language", "Expires");

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
     * A target configured in code, for {@code DrKit.builder().target(name, target)}. With a host's
     * {@link MinioClient}, backups and restores go through that client (its endpoint, region and
     * credentials; drkit never closes it), and neither setting {@code endpoint} nor the AWS
     * environment variables are needed.
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds a configured {@code minio-bucket} target; not thread-safe, the target it builds is. */
    public static final class Builder {
        private MinioClient client;
        private Settings settings = Settings.empty();

        private Builder() {}

        /** The host's client for the server; it stays the host's to close. */
        public Builder client(MinioClient client) {
            this.client = Objects.requireNonNull(client, "client");
            return this;
        }

        /**
         * Further settings, as for {@link MinioBucketTargetProvider} ({@code bucket}, {@code prefix},
         * {@code versions}, {@code full}, ...); {@code endpoint} may be left out when a client is given.
         */
        public Builder settings(Settings settings) {
            this.settings = Objects.requireNonNull(settings, "settings");
            return this;
        }

        /**
         * @throws ConfigException if neither a client nor setting {@code endpoint} is given, or a
         *     setting is unknown or of the wrong type
         */
        public MinioBucketTarget build() {
            if (client == null && !settings.has("endpoint")) {
                throw new ConfigException("minio-bucket needs a MinioClient or setting 'endpoint'");
            }
            // the same checks as settings given to the provider: unknown keys, types, did-you-mean
            OptionValidator.validate(
                    MinioBucketTargetProvider.TYPE, new MinioBucketTargetProvider().schema(), settings, false);
            return new MinioBucketTarget(settings, client);
        }
    }

    /**
     * A provider of {@code minio-bucket} targets on a client the host owns, to register with
     * {@code DrKit.builder().register(...)}: it wins over the discovered one, which builds its
     * client from {@code endpoint} and the AWS environment variables.
     */
    public static BackupTargetProvider provider(MinioClient client) {
        Objects.requireNonNull(client, "client");
        return new BackupTargetProvider() {
            @Override
            public String type() {
                return MinioBucketTargetProvider.TYPE;
            }

            @Override
            public BackupTarget create(Settings settings) {
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
        return EnumSet.of(
                Capability.FULL, Capability.INCREMENTAL, Capability.SELECTIVE_RESTORE, Capability.ONLINE_RESTORE);
    }

    /**
     * What the index records for one object, or for one version of it in a backup taken with
     * {@code versions=true}: then {@code versionId} is the source's version id, {@code latest}
     * says whether it was the current version, and a {@code deleteMarker} entry has no bytes.
     */
    public record ObjectEntry(
            String bucket,
            String key,
            long size,
            String etag,
            Instant lastModified,
            String contentType,
            Map<String, String> headers,
            Map<String, String> userMetadata,
            Map<String, String> tags,
            String storedIn,
            String versionId,
            Boolean latest,
            Boolean deleteMarker) {

        /** The entry's name in the index and in objects.tar; versions carry their id. */
        String name() {
            return bucket + "/" + key + (versionId == null ? "" : "?versionId=" + versionId);
        }

        String path() {
            return bucket + "/" + key;
        }

        /**
         * The object's entry name in objects.tar: its {@link #name()}, with a {@code .} after a
         * trailing {@code /} (a key such as {@code reports/} may hold data, and tar takes a name
         * ending in {@code /} for a directory, which holds none). No key drkit reads ends in
         * {@code /.}: the MinIO SDK refuses {@code .} segments.
         */
        String tarName() {
            String n = name();
            return n.endsWith("/") ? n + "." : n;
        }

        boolean isDeleteMarker() {
            return Boolean.TRUE.equals(deleteMarker);
        }

        /**
         * The version id to ask the server for: none for the current object of an unversioned
         * bucket (S3 lists it as version "null", which not every server accepts back).
         */
        String requestVersion() {
            return "null".equals(versionId) && Boolean.TRUE.equals(latest) ? null : versionId;
        }

        boolean isLatest() {
            return versionId == null || Boolean.TRUE.equals(latest);
        }

        /** The same object, its bytes held by another backup. */
        ObjectEntry in(String backupId) {
            return new ObjectEntry(
                    bucket,
                    key,
                    size,
                    etag,
                    lastModified,
                    contentType,
                    headers,
                    userMetadata,
                    tags,
                    backupId,
                    versionId,
                    latest,
                    deleteMarker);
        }

        boolean sameBytes(ObjectEntry other) {
            return other != null && other.size == size && etag != null && etag.equals(other.etag);
        }
    }

    /**
     * S3's rules for a bucket name, checked before any request: the client's own check says them
     * as an IllegalArgumentException, which is no configuration problem to a caller.
     */
    private static void requireBucketName(String key, String name) {
        if (!name.matches("[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]") || name.contains("..")) {
            throw new ConfigException("minio-bucket: setting '" + key + "' is '" + name.replaceAll("\\p{Cntrl}", "?")
                    + "', which is no bucket name: 3 to 63 lowercase letters, digits, '.' and '-', "
                    + "beginning and ending with a letter or digit");
        }
    }

    private MinioClient client(Settings s) {
        if (hostClient != null) {
            return hostClient;
        }
        URI endpoint = URI.create(s.get("endpoint")
                .orElseThrow(() -> new ConfigException("minio-bucket needs setting 'endpoint' (http(s)://HOST:PORT)")));
        String access = System.getenv("AWS_ACCESS_KEY_ID");
        String secret = System.getenv("AWS_SECRET_ACCESS_KEY");
        if (access == null || secret == null) {
            throw new ConfigException(
                    "minio-bucket credentials missing: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY");
        }
        return MinioClient.builder()
                .endpoint(endpoint.toString())
                .credentials(access, secret)
                .region(s.get("region", "us-east-1"))
                .build();
    }

    @Override
    public void backup(BackupContext context) throws IOException {
        List<String> buckets = settings.getAll("bucket");
        if (buckets.isEmpty()) {
            throw new ConfigException("minio-bucket: give at least one bucket (setting 'bucket')");
        }
        buckets.forEach(b -> requireBucketName("bucket", b));
        MinioClient client = client(settings);
        String prefix = settings.get("prefix", "");
        String current = null; // the object being copied, for messages
        boolean versions = settings.bool("versions", false);
        Map<String, ObjectEntry> before = settings.bool("full", false) ? Map.of() : previousIndex(context);
        List<ObjectEntry> index = new ArrayList<>();
        Set<String> dependsOn = new TreeSet<>();
        long bytes = 0;
        int reused = 0;
        List<String> leftOut = new ArrayList<>();
        try (OutputStream out = context.newArtifact(OBJECTS)) {
            // names in UTF-8 whatever the platform's charset: under a C locale the default one
            // cannot spell a key like été/x, and the restore would not find it
            TarArchiveOutputStream tar = new TarArchiveOutputStream(out, TAR_NAMES);
            tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
            tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
            tar.setAddPaxHeadersForNonAsciiNames(true);
            for (String bucket : buckets) {
                current = null;
                for (ObjectEntry e : listing(client, bucket, prefix, versions)) {
                    current = e.name();
                    if (unaddressable(e.key())) {
                        // the S3 client would ask for another key (it drops empty segments) or refuses it
                        if (!e.isDeleteMarker() && !leftOut.contains(e.path())) {
                            leftOut.add(e.path());
                        }
                        continue;
                    }
                    if (e.isDeleteMarker()) {
                        index.add(e);
                        continue;
                    }
                    Read read = read(client, e, before, leftOut);
                    if (read == null) {
                        continue; // deleted since it was listed
                    }
                    e = read.entry();
                    if (read.bytes() == null) { // unchanged since the previous backup: reference, do not copy
                        index.add(e.in(read.storedIn()));
                        dependsOn.add(read.storedIn());
                        reused++;
                        continue;
                    }
                    TarArchiveEntry entry = new TarArchiveEntry(e.tarName());
                    entry.setSize(e.size());
                    entry.setModTime(Date.from(e.lastModified()));
                    tar.putArchiveEntry(entry);
                    try (InputStream in = read.bytes()) {
                        long copied = in.transferTo(tar);
                        if (copied != e.size()) {
                            throw new DrException(
                                    ErrorCode.TARGET,
                                    e.path() + " changed during the backup (" + copied + " bytes, listed " + e.size()
                                            + ")");
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
            throw new DrException(
                    ErrorCode.TARGET,
                    "backing up buckets " + buckets + " failed " + (current == null ? "listing them" : "at " + current)
                            + ": " + e.getMessage(),
                    e);
        }
        try (OutputStream out = context.newArtifact(INDEX)) {
            out.write(Json.write(index));
        }
        if (!leftOut.isEmpty()) {
            context.metadata(
                    BackupManifest.OBJECTS_LEFT_OUT, leftOut.size() > 1000 ? leftOut.subList(0, 1000) : leftOut);
            context.warn(leftOut.size() + " object(s) left out, whose keys the S3 client cannot ask for (an empty, "
                    + "'.' or '..' path segment): " + (leftOut.size() > 10 ? leftOut.subList(0, 10) + " ..." : leftOut)
                    + "; rename them to have them backed up");
        }
        context.metadata("buckets", buckets);
        if (hostClient == null) {
            // where the buckets were: a restore goes back there unless told otherwise (no credentials)
            URI endpoint = URI.create(settings.get("endpoint").orElseThrow());
            context.metadata(
                    "endpoint",
                    endpoint.getScheme() + "://" + endpoint.getHost()
                            + (endpoint.getPort() < 0 ? "" : ":" + endpoint.getPort()));
            context.metadata("region", settings.get("region", "us-east-1"));
        }
        context.metadata("objects", (int)
                index.stream().filter(e -> e.isLatest() && !e.isDeleteMarker()).count());
        if (versions) {
            context.metadata("versions", (int)
                    index.stream().filter(e -> !e.isDeleteMarker()).count());
            context.metadata("deleteMarkers", (int)
                    index.stream().filter(ObjectEntry::isDeleteMarker).count());
        }
        context.metadata("bytes", bytes);
        context.metadata("objectsReused", reused);
        if (!dependsOn.isEmpty()) {
            context.kind("incremental");
            dependsOn.forEach(context::dependsOn);
        }
    }

    /**
     * The bucket's objects under the prefix, or with {@code versions} every version and delete
     * marker, each key's history oldest first (S3 lists versions newest first, and a listing
     * in whole seconds can tie: the current version goes last).
     */
    private static List<ObjectEntry> listing(MinioClient client, String bucket, String prefix, boolean versions)
            throws Exception {
        List<ObjectEntry> out = new ArrayList<>();
        for (Result<Item> r : client.listObjects(ListObjectsArgs.builder()
                .bucket(bucket)
                .prefix(prefix)
                .recursive(true)
                .includeVersions(versions)
                .build())) {
            Item item = r.get();
            if (item.isDir()) {
                continue;
            }
            String version = versions ? (item.versionId() == null ? "null" : item.versionId()) : null;
            Instant modified = item.lastModified() == null
                    ? Instant.EPOCH
                    : item.lastModified().toInstant();
            // size, ETag and headers come from describe(); the listing gives names, versions and times
            out.add(new ObjectEntry(
                    bucket,
                    item.objectName(),
                    0,
                    null,
                    modified,
                    null,
                    null,
                    null,
                    null,
                    null,
                    version,
                    versions ? item.isLatest() : null,
                    versions && item.isDeleteMarker() ? true : null));
        }
        if (versions) {
            // listed newest first: reversed, a stable sort keeps that order (older first) for times that tie
            Collections.reverse(out);
            out.sort(Comparator.comparing(ObjectEntry::key)
                    .thenComparing(ObjectEntry::isLatest)
                    .thenComparing(ObjectEntry::lastModified));
        }
        return out;
    }

    /** The previous backup's index, with every entry naming the backup that holds its bytes. */
    private static Map<String, ObjectEntry> previousIndex(BackupContext context) throws IOException {
        Optional<BackupManifest> prev = context.previous();
        if (prev.isEmpty() || !MinioBucketTargetProvider.TYPE.equals(prev.get().type())) {
            return Map.of();
        }
        Map<String, ObjectEntry> out = new LinkedHashMap<>();
        for (ObjectEntry e : readIndex(context.openArtifact(prev.get(), INDEX))) {
            if (!e.isDeleteMarker()) {
                out.put(e.name(), e.storedIn() == null ? e.in(prev.get().id()) : e);
            }
        }
        return out;
    }

    private static List<ObjectEntry> readIndex(InputStream artifact) throws IOException {
        try (InputStream in = artifact) {
            return Json.mapper().readValue(in.readAllBytes(), new TypeReference<List<ObjectEntry>>() {});
        }
    }

    /**
     * A listed object as the backup takes it: described (headers, metadata, tags), and either
     * found unchanged since the previous backup ({@code bytes} null, {@code storedIn} the backup
     * holding them) or opened for reading.
     */
    private record Read(ObjectEntry entry, InputStream bytes, String storedIn) {}

    /**
     * Describes a listed object and opens its bytes, pinned to the ETag just described (or to its
     * version), so that an object replaced between the two is never recorded with the old ETag
     * and the new bytes: a replacement is described again, up to three times. Null for an
     * object deleted since it was listed (a temporary upload), which the backup leaves out.
     */
    private static Read read(
            MinioClient client, ObjectEntry listed, Map<String, ObjectEntry> before, List<String> leftOut)
            throws Exception {
        for (int attempt = 1; ; attempt++) {
            ObjectEntry e;
            try {
                // described every time: metadata and tags can change while the bytes (and ETag) stay
                e = retrying(() -> describe(client, listed));
            } catch (IllegalArgumentException refused) {
                // a key S3 takes but the client refuses to ask for (x/../y): one such object must not
                // stop the backup of the bucket; it is named in a warning and in the manifest
                leftOut.add(listed.path());
                return null;
            } catch (ErrorResponseException x) {
                if (gone(x)) {
                    LOG.info("{} was deleted while the backup ran; it is left out", listed.name());
                    return null;
                }
                throw x;
            }
            ObjectEntry old = before.get(e.name());
            if (e.sameBytes(old)) {
                return new Read(e, null, old.storedIn());
            }
            GetObjectArgs.Builder get =
                    GetObjectArgs.builder().bucket(e.bucket()).object(e.key()).versionId(e.requestVersion());
            if (e.requestVersion() == null && e.etag() != null && !e.etag().isEmpty()) {
                get.matchETag(e.etag());
            }
            try {
                return new Read(e, retrying(() -> client.getObject(get.build())), null);
            } catch (ErrorResponseException x) {
                if (gone(x)) {
                    LOG.info("{} was deleted while the backup ran; it is left out", listed.name());
                    return null;
                }
                if (attempt < 3 && "PreconditionFailed".equals(x.errorResponse().code())) {
                    continue; // replaced between its description and its read
                }
                throw x;
            }
        }
    }

    /**
     * Whether the MinIO client cannot ask for exactly this key: it drops empty path segments
     * ({@code a//b} is sent as {@code a/b}, another object or none) and refuses {@code .} and
     * {@code ..} segments. Such an object is left out by name rather than read as another one.
     */
    static boolean unaddressable(String key) {
        if (key.startsWith("/") || key.contains("//")) {
            return true;
        }
        for (String segment : key.split("/", -1)) {
            if (segment.equals(".") || segment.equals("..")) {
                return true;
            }
        }
        return false;
    }

    /** A call to the source bucket. */
    @FunctionalInterface
    private interface SourceCall<T> {
        T call() throws Exception;
    }

    private static final Set<String> TRANSIENT =
            Set.of("SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "Busy");

    /**
     * A read of the source bucket, tried again after a throttling or transient server answer, or
     * a broken connection, up to three times with growing pauses (0.2, 0.8, 3.2 s): one such
     * answer among many thousand reads must not fail the bucket's backup.
     */
    static <T> T retrying(SourceCall<T> call) throws Exception {
        long pause = 200;
        for (int attempt = 1; ; attempt++) {
            try {
                return call.call();
            } catch (ErrorResponseException x) {
                String code = x.errorResponse() == null ? "" : x.errorResponse().code();
                if (attempt > 3 || !TRANSIENT.contains(code)) {
                    throw x;
                }
                LOG.debug("the source answered {}; trying again in {} ms", code, pause);
            } catch (IOException x) {
                if (attempt > 3) {
                    throw x;
                }
                LOG.debug("reading the source failed ({}); trying again in {} ms", x.getMessage(), pause);
            }
            Thread.sleep(pause);
            pause *= 4;
        }
    }

    private static boolean gone(ErrorResponseException x) {
        String code = x.errorResponse() == null ? "" : x.errorResponse().code();
        return "NoSuchKey".equals(code) || "NoSuchVersion".equals(code);
    }

    /** The listed object with its headers, user metadata and tags. */
    private static ObjectEntry describe(MinioClient client, ObjectEntry listed) throws Exception {
        StatObjectResponse stat = client.statObject(StatObjectArgs.builder()
                .bucket(listed.bucket())
                .object(listed.key())
                .versionId(listed.requestVersion())
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
            tags = client.getObjectTags(GetObjectTagsArgs.builder()
                            .bucket(listed.bucket())
                            .object(listed.key())
                            .versionId(listed.requestVersion())
                            .build())
                    .get();
        } catch (ErrorResponseException e) {
            if (e.errorResponse() != null
                    && TRANSIENT.contains(e.errorResponse().code())) {
                throw e; // describe() is tried again as a whole: tags are not dropped for a throttled read
            }
            LOG.debug("no tags for {}: {}", listed.name(), e.getMessage());
        } catch (XmlParserException e) {
            LOG.debug("no tags for {}: {}", listed.name(), e.getMessage());
        }
        return new ObjectEntry(
                listed.bucket(),
                listed.key(),
                stat.size(),
                stat.etag(),
                stat.lastModified().toInstant(),
                stat.contentType(),
                headers,
                new LinkedHashMap<>(stat.userMetadata()),
                tags,
                null,
                listed.versionId(),
                listed.latest(),
                null);
    }

    /**
     * Where a restore connects: the restore's own {@code endpoint} option, else this target's
     * settings, else the endpoint (and region) the backup recorded, so that a backup restores to
     * where it came from without being told again.
     */
    private Settings restoreEndpoint(Settings options, BackupManifest manifest) {
        if (options.has("endpoint")) {
            return options;
        }
        if (settings.has("endpoint") || manifest.metadata().get("endpoint") == null) {
            return settings;
        }
        Settings.Builder b = Settings.builder()
                .set("endpoint", String.valueOf(manifest.metadata().get("endpoint")));
        Object region = manifest.metadata().get("region");
        b.set("region", region == null ? "us-east-1" : String.valueOf(region));
        return b.build();
    }

    @Override
    public void restore(RestoreContext context) throws IOException {
        Settings o = context.options();
        MinioClient client = client(restoreEndpoint(o, context.manifest()));
        List<ObjectEntry> index = readIndex(context.openArtifact(INDEX));
        Object covered = context.manifest().metadata().get("buckets");
        requireSound(index, context.manifest().id(), covered instanceof Collection<?> c ? c : null);
        o.get("to-bucket").ifPresent(b -> requireBucketName("to-bucket", b));
        if (o.has("to-bucket")) {
            Set<String> sources = new TreeSet<>();
            index.forEach(e -> sources.add(e.bucket()));
            if (sources.size() > 1) {
                throw new ConfigException("minio-bucket: setting 'to-bucket' would put the objects of " + sources.size()
                        + " buckets " + sources + " under the same keys of one bucket, where objects of the same "
                        + "name would overwrite each other; restore without it (each bucket to its own name)");
            }
        }
        boolean versioned = index.stream().anyMatch(e -> e.versionId() != null);
        Optional<Instant> at = o.get("time").map(MinioBucketTarget::instant);
        if (at.isPresent() && !versioned) {
            throw new ConfigException(
                    "minio-bucket: setting 'time' needs a backup taken with setting 'versions'; this one holds "
                            + "only the objects' current versions");
        }
        Restorer restorer =
                new Restorer(client, new Placement(o.get("to-bucket", null), o.get("prefix", ""), context.force()));
        List<ObjectEntry> wanted;
        if (!versioned) {
            wanted = index;
        } else if (at.isPresent() || o.bool("latest-only", false)) {
            wanted = stateAt(index, at.orElse(Instant.MAX));
        } else {
            restorer.replay = new History(index);
            wanted = index.stream().filter(e -> !e.isDeleteMarker()).toList();
        }
        // older backups first: with versions, each key's history is replayed oldest first
        Map<String, Map<String, ObjectEntry>> bySource =
                new TreeMap<>(Comparator.comparing((String id) -> id.isEmpty()).thenComparing(id -> id));
        for (ObjectEntry e : wanted) {
            bySource.computeIfAbsent(e.storedIn() == null ? "" : e.storedIn(), k -> new LinkedHashMap<>())
                    .put(e.tarName(), e);
        }
        // objects are put as they stream: read every archive to its end first, which checks its checksums,
        // so that a corrupt one fails the restore before any object reaches the destination
        for (Map.Entry<String, Map<String, ObjectEntry>> source : bySource.entrySet()) {
            checkArchive(
                    objectsOf(context, source.getKey()),
                    source.getValue(),
                    context.manifest().id(),
                    source.getKey());
        }
        try {
            for (Map.Entry<String, Map<String, ObjectEntry>> source : bySource.entrySet()) {
                restorer.restoreFrom(objectsOf(context, source.getKey()), source.getValue());
            }
            if (restorer.replay != null) {
                restorer.replay.finish(restorer);
            }
        } catch (IOException | RuntimeException e) {
            throw e;
        } catch (Exception e) {
            throw new DrException(ErrorCode.TARGET, "restoring objects failed: " + e.getMessage(), e);
        }
        if (!restorer.skipped.isEmpty()) {
            LOG.warn(
                    "kept {} object(s) newer than the backup (restore with RestoreRequest.force to overwrite): {}",
                    restorer.skipped.size(),
                    restorer.skipped.size() > 10 ? restorer.skipped.subList(0, 10) + " ..." : restorer.skipped);
        }
        LOG.info(
                "restored {} object version(s){}",
                restorer.restored,
                restorer.replay == null ? "" : " and " + restorer.replay.markersApplied + " delete marker(s)");
    }

    /**
     * Refuses an index a backup cannot have written, before anything is restored: a header other
     * than the standard ones a backup records would be sent with the upload as it is (an
     * {@code x-amz-copy-source} turns the upload into a copy of another bucket's object, an
     * {@code x-amz-acl} makes it public), and a negative size is no object's.
     */
    static void requireSound(List<ObjectEntry> index, String backup, Collection<?> buckets) {
        for (ObjectEntry e : index) {
            if (e == null || e.bucket() == null || e.key() == null) {
                throw new CorruptDataException(INDEX + " of backup " + backup + " has an entry without a bucket or "
                        + "key; it is damaged or was altered, and nothing was restored");
            }
            if (buckets != null && !buckets.contains(e.bucket())) {
                throw new CorruptDataException(INDEX + " of backup " + backup + " names bucket '"
                        + TarEntryReader.printable(e.bucket()) + "', which is not among the buckets the backup "
                        + "covers " + buckets + "; the index was altered, and nothing was restored");
            }
            List<String> texts = new ArrayList<>();
            texts.add(e.contentType());
            for (Map<String, String> m : Arrays.asList(e.headers(), e.userMetadata(), e.tags())) {
                if (m != null) {
                    texts.addAll(m.keySet());
                    texts.addAll(m.values());
                }
            }
            for (String t : texts) {
                if (t != null && t.chars().anyMatch(Character::isISOControl)) {
                    throw new CorruptDataException(INDEX + " of backup " + backup + " gives " + e.path()
                            + " a content type, header, metadata or tag with a control character, which S3 never "
                            + "returns; the index was altered, and nothing was restored");
                }
            }
            if (e.size() < 0) {
                throw new CorruptDataException(INDEX + " of backup " + backup + " gives " + e.path() + " a size of "
                        + e.size() + " bytes; it is damaged or was altered, and nothing was restored");
            }
            if (e.headers() != null) {
                for (String h : e.headers().keySet()) {
                    if (STANDARD_HEADERS.stream().noneMatch(h::equalsIgnoreCase)) {
                        throw new CorruptDataException(INDEX + " of backup " + backup + " gives " + e.path()
                                + " the header '" + TarEntryReader.printable(h) + "', which a backup never records "
                                + "(only " + STANDARD_HEADERS + "); the index was altered, and nothing was restored");
                    }
                }
            }
        }
    }

    /**
     * Reads one objects.tar to its end (its checksums are checked at the end) before any object
     * is put: each object it holds for this restore must have the size the index gives, and every
     * object the index places in it must be there; else the restore would put a cut or padded
     * object, or leave one out, and report success.
     */
    private static void checkArchive(InputStream objects, Map<String, ObjectEntry> wanted, String backup, String source)
            throws IOException {
        String where = OBJECTS + " of backup " + (source.isEmpty() ? backup : source);
        Set<String> seen = new HashSet<>();
        try (InputStream in = objects) {
            TarArchiveInputStream tar = new TarArchiveInputStream(in, TAR_NAMES);
            TarArchiveEntry entry;
            while ((entry = tar.getNextEntry()) != null) {
                String name = tarName(entry);
                ObjectEntry e = wanted.get(name);
                if (e == null) {
                    continue;
                }
                if (!seen.add(name)) {
                    throw new CorruptDataException(where + " holds " + TarEntryReader.printable(name) + " twice; "
                            + "the backup was altered, and nothing was restored");
                }
                if (entry.getSize() != e.size()) {
                    throw new CorruptDataException(where + " holds " + entry.getSize() + " bytes for " + e.path()
                            + ", where " + INDEX + " gives " + e.size() + "; the backup is damaged or was altered, "
                            + "and nothing was restored");
                }
            }
            in.transferTo(OutputStream.nullOutputStream());
        }
        for (String name : wanted.keySet()) {
            if (!seen.contains(name)) {
                throw new CorruptDataException(where + " does not hold " + TarEntryReader.printable(name) + ", which "
                        + INDEX + " places there; the backup is damaged or was altered, and nothing was restored");
            }
        }
    }

    /** An objects.tar entry's name as {@link ObjectEntry#tarName()} gives it (older backups wrote folder markers as folders). */
    private static String tarName(TarArchiveEntry entry) {
        String n = entry.getName();
        return n.endsWith("/") ? n + "." : n;
    }

    /** The objects.tar of this backup (an empty id) or of the backup it references. */
    private static InputStream objectsOf(RestoreContext context, String backupId) throws IOException {
        return backupId.isEmpty() ? context.openArtifact(OBJECTS) : context.openArtifact(backupId, OBJECTS);
    }

    private static Instant instant(String text) {
        return OptionValidator.timestamp(text)
                .orElseThrow(() -> new ConfigException("minio-bucket: setting 'time' must be a timestamp with a zone, "
                        + "e.g. 2026-11-27T14:00:00Z, not '" + text + "'"));
    }

    /** Each key's newest version at or before {@code at}, unless that is a delete marker. */
    static List<ObjectEntry> stateAt(List<ObjectEntry> index, Instant at) {
        Map<String, ObjectEntry> newest = new LinkedHashMap<>();
        for (ObjectEntry e : index) { // each key's history is oldest first, the current version last
            if (!e.lastModified().isAfter(at)) {
                newest.put(e.path(), e);
            }
        }
        return newest.values().stream().filter(e -> !e.isDeleteMarker()).toList();
    }

    private record Placement(String toBucket, String prefix, boolean force) {
        String bucket(ObjectEntry e) {
            return toBucket != null ? toBucket : e.bucket();
        }

        String key(ObjectEntry e) {
            return prefix + e.key();
        }
    }

    /**
     * A versioned backup's histories, replayed key by key into the destination: every version
     * oldest first as a new version there, and the delete markers in their places between them.
     * A key whose current object in the destination is newer than the backup's history is left
     * alone unless forced.
     */
    private static final class History {
        private final Map<String, ArrayDeque<ObjectEntry>> pending = new LinkedHashMap<>();
        private final Map<String, Boolean> replayKey = new HashMap<>();
        int markersApplied;

        History(List<ObjectEntry> index) {
            for (ObjectEntry e : index) {
                pending.computeIfAbsent(e.path(), k -> new ArrayDeque<>()).add(e);
            }
        }

        /** Whether this key is replayed; decided at its first version. */
        boolean wanted(Restorer r, ObjectEntry e) throws Exception {
            Boolean known = replayKey.get(e.path());
            if (known == null) {
                Instant existing = r.lastModified(e);
                Instant newestInBackup = pending.get(e.path()).getLast().lastModified();
                known = existing == null || !existing.isAfter(newestInBackup) || r.placement.force();
                replayKey.put(e.path(), known);
                if (!known) {
                    r.skipped.add(r.placement.bucket(e) + "/" + r.placement.key(e));
                }
            }
            return known;
        }

        /** Applies the delete markers that come before this version, and takes the version off the queue. */
        void before(Restorer r, ObjectEntry version) throws Exception {
            ArrayDeque<ObjectEntry> queue = pending.get(version.path());
            while (!queue.isEmpty() && queue.peekFirst().isDeleteMarker()) {
                r.delete(queue.pollFirst());
                markersApplied++;
            }
            queue.remove(version);
        }

        /** The delete markers left after each key's last version (or for keys with only markers). */
        void finish(Restorer r) throws Exception {
            for (ArrayDeque<ObjectEntry> queue : pending.values()) {
                for (ObjectEntry e : queue) {
                    if (!e.isDeleteMarker() || Boolean.FALSE.equals(replayKey.get(e.path()))) {
                        continue;
                    }
                    Instant existing = r.lastModified(e);
                    boolean replayed = replayKey.containsKey(e.path());
                    if (existing != null && (replayed || !existing.isAfter(e.lastModified()) || r.placement.force())) {
                        r.delete(e);
                        markersApplied++;
                    }
                }
            }
        }
    }

    /** Puts objects back; one per restore. */
    private static final class Restorer {
        final MinioClient client;
        final Placement placement;
        final List<String> skipped = new ArrayList<>();
        final Set<String> knownBuckets = new HashSet<>();
        History replay;
        int restored;

        Restorer(MinioClient client, Placement placement) {
            this.client = client;
            this.placement = placement;
        }

        /** Puts back the wanted objects found in one backup's objects.tar. */
        void restoreFrom(InputStream objects, Map<String, ObjectEntry> wanted) throws Exception {
            try (InputStream in = objects) {
                TarArchiveInputStream tar = new TarArchiveInputStream(in, TAR_NAMES);
                TarArchiveEntry entry;
                while ((entry = tar.getNextEntry()) != null) {
                    ObjectEntry e = wanted.get(tarName(entry));
                    if (e == null) {
                        continue; // another object of that backup, not part of this restore
                    }
                    ensureBucket(placement.bucket(e));
                    if (replay != null) {
                        if (!replay.wanted(this, e)) {
                            continue;
                        }
                        replay.before(this, e);
                    } else {
                        StatObjectResponse existing = stat(e);
                        if (existing != null
                                && existing.lastModified().toInstant().isAfter(e.lastModified())
                                && !placement.force()) {
                            if (!completeTags(e, existing)) {
                                skipped.add(placement.bucket(e) + "/" + placement.key(e));
                            }
                            continue;
                        }
                    }
                    if (entry.getSize() != e.size()) {
                        throw new CorruptDataException(OBJECTS + " gave " + entry.getSize() + " bytes for " + e.path()
                                + " on its second read, where " + INDEX + " gives " + e.size() + "; it changed in the "
                                + "repository during the restore");
                    }
                    put(e, tar);
                    restored++;
                }
                in.transferTo(OutputStream.nullOutputStream()); // checksums to the end
            }
        }

        private void put(ObjectEntry e, InputStream bytes) throws Exception {
            String bucket = placement.bucket(e);
            String key = placement.key(e);
            PutObjectArgs.Builder put = PutObjectArgs.builder().bucket(bucket).object(key).stream(bytes, e.size(), -1)
                    .userMetadata(e.userMetadata())
                    .headers(e.headers());
            if (e.contentType() != null) {
                try {
                    put.contentType(e.contentType());
                } catch (IllegalArgumentException notMediaType) {
                    // S3 keeps any Content-Type; the client sends only media types: the bytes matter more
                    LOG.warn(
                            "{}: content type '{}' is not a media type the S3 client can send; restored without it",
                            e.path(),
                            TarEntryReader.printable(e.contentType()));
                }
            }
            client.putObject(put.build());
            if (e.tags() != null && !e.tags().isEmpty()) {
                client.setObjectTags(SetObjectTagsArgs.builder()
                        .bucket(bucket)
                        .object(key)
                        .tags(e.tags())
                        .build());
            }
        }

        /**
         * For an object newer than the backup that holds the backup's very bytes (its ETag and
         * size; a restore interrupted between an object and its tags put it): puts the backup's
         * tags on it, so that running the restore again completes it. False for another object,
         * which is kept as it is.
         */
        private boolean completeTags(ObjectEntry e, StatObjectResponse existing) throws Exception {
            String etag = existing.etag() == null ? "" : existing.etag().replace("\"", "");
            if (e.etag() == null || !etag.equals(e.etag().replace("\"", "")) || existing.size() != e.size()) {
                return false;
            }
            if (e.tags() != null && !e.tags().isEmpty()) {
                client.setObjectTags(SetObjectTagsArgs.builder()
                        .bucket(placement.bucket(e))
                        .object(placement.key(e))
                        .tags(e.tags())
                        .build());
            }
            return true;
        }

        StatObjectResponse stat(ObjectEntry e) throws Exception {
            try {
                return client.statObject(StatObjectArgs.builder()
                        .bucket(placement.bucket(e))
                        .object(placement.key(e))
                        .build());
            } catch (ErrorResponseException x) {
                if (x.response().code() == 404
                        || "NoSuchKey".equals(x.errorResponse().code())) {
                    return null;
                }
                throw x;
            }
        }

        void delete(ObjectEntry marker) throws Exception {
            client.removeObject(RemoveObjectArgs.builder()
                    .bucket(placement.bucket(marker))
                    .object(placement.key(marker))
                    .build());
        }

        Instant lastModified(ObjectEntry e) throws Exception {
            StatObjectResponse there = stat(e);
            return there == null ? null : there.lastModified().toInstant();
        }

        /** Creates a missing bucket, with versioning when a history is replayed into it. */
        private void ensureBucket(String bucket) throws Exception {
            if (!knownBuckets.add(bucket)) {
                return;
            }
            if (!client.bucketExists(BucketExistsArgs.builder().bucket(bucket).build())) {
                client.makeBucket(MakeBucketArgs.builder().bucket(bucket).build());
                if (replay != null) {
                    client.setBucketVersioning(SetBucketVersioningArgs.builder()
                            .bucket(bucket)
                            .config(new VersioningConfiguration(VersioningConfiguration.Status.ENABLED, null))
                            .build());
                }
            } else if (replay != null
                    && client.getBucketVersioning(GetBucketVersioningArgs.builder()
                                            .bucket(bucket)
                                            .build())
                                    .status()
                            != VersioningConfiguration.Status.ENABLED) {
                LOG.warn(
                        "bucket {} does not keep versions: only each key's newest version stays after the restore",
                        bucket);
            }
        }
    }
}
