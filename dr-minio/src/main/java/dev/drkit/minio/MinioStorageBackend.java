package dev.drkit.minio;

import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.StorageIOException;
import dev.drkit.spi.StorageIOException.Reason;
import dev.drkit.spi.support.ChunkPipe;
import dev.drkit.spi.support.InterruptAside;
import dev.drkit.spi.support.ObjectKeys;
import dev.drkit.spi.support.PagedListingGuard;
import dev.drkit.spi.support.ReadProgressGuard;
import dev.drkit.spi.support.Sha256;
import dev.drkit.spi.support.StorageFailures;
import dev.drkit.spi.support.TarEntryReader;
import io.minio.GetObjectArgs;
import io.minio.ListObjectsArgs;
import io.minio.ListObjectsV2Response;
import io.minio.MinioAsyncClient;
import io.minio.MinioClient;
import io.minio.PutObjectArgs;
import io.minio.RemoveObjectArgs;
import io.minio.RemoveObjectsArgs;
import io.minio.Result;
import io.minio.StatObjectArgs;
import io.minio.StatObjectResponse;
import io.minio.errors.ErrorResponseException;
import io.minio.errors.InvalidResponseException;
import io.minio.errors.ServerException;
import io.minio.messages.DeleteError;
import io.minio.messages.DeleteObject;
import io.minio.messages.Item;
import io.minio.messages.ListBucketResultV2;
import io.minio.messages.ListMultipartUploadsResult;
import io.minio.messages.Upload;
import java.io.ByteArrayInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.lang.reflect.Field;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A repository in a MinIO (or other S3-compatible) bucket, on the MinIO SDK. Uploads stream
 * through a bounded pipe into the SDK's multipart upload of unknown size (memory: one part
 * plus 4 MiB in flight). Objects are write-once: a commit checks the key first, and an object
 * of one part (with {@link #createIfAbsent}, every manifest and lock) goes up as a single PUT
 * with {@code If-None-Match: *}. The SDK sends that header when it starts a multipart upload but
 * not when it completes one, so a larger object relies on the check alone. A conditional PUT that
 * fails its condition is read back: the SDK never sends a PUT twice, but a proxy that resends one
 * whose answer was lost hands back the second's 412, and finding this call's own bytes there means
 * created, not "exists". Thread-safe.
 */
public final class MinioStorageBackend implements StorageBackend {
    private static final Logger LOG = LoggerFactory.getLogger(MinioStorageBackend.class);

    private static final Map<String, String> IF_ABSENT = Map.of("If-None-Match", "*");

    private final MinioClient client;
    private final String bucket;
    private final String prefix;
    private final long partSize;
    private final String description;
    private final Duration readProgressWindow;
    private final ExecutorService uploads = Executors.newCachedThreadPool(r -> {
        Thread t = new Thread(r, "drkit-minio-upload");
        t.setDaemon(true);
        return t;
    });

    private MinioStorageBackend(
            MinioClient client,
            String bucket,
            String prefix,
            long partSize,
            String endpoint,
            Duration readProgressWindow) {
        this.client = Objects.requireNonNull(client, "client");
        this.bucket = Objects.requireNonNull(bucket, "bucket");
        this.prefix = prefix == null ? "" : prefix.replaceAll("^/+|/+$", "");
        this.partSize = partSize;
        this.readProgressWindow = ReadProgressGuard.requirePositive(readProgressWindow);
        this.description = "minio://" + (endpoint == null ? "" : endpoint + "/") + bucket
                + (this.prefix.isEmpty() ? "" : "/" + this.prefix);
    }

    /**
     * A backend on a client the host owns.
     *
     * @param partSize multipart part size, at least 5 MiB
     */
    public static MinioStorageBackend of(MinioClient client, String bucket, String prefix, long partSize) {
        return of(client, bucket, prefix, partSize, ReadProgressGuard.DEFAULT_WINDOW);
    }

    /**
     * A backend on a client the host owns, whose reads fail when they wait on the server for
     * {@code readProgressWindow} while fewer than 64 KiB arrive: a server that trickles a body (a
     * byte every few seconds) never trips the client's read timeout and would hold a restore for
     * days. Only time spent waiting on the server counts, not time the reader takes. The default
     * (5 minutes) fails no link faster than about 220 bytes a second.
     *
     * @param partSize multipart part size, at least 5 MiB
     * @param readProgressWindow positive
     */
    public static MinioStorageBackend of(
            MinioClient client, String bucket, String prefix, long partSize, Duration readProgressWindow) {
        if (partSize < (5L << 20)) {
            throw new IllegalArgumentException("parts must be at least 5 MiB: " + partSize);
        }
        return new MinioStorageBackend(client, bucket, prefix, partSize, null, readProgressWindow);
    }

    static MinioStorageBackend of(
            MinioClient client,
            String bucket,
            String prefix,
            long partSize,
            String endpoint,
            Duration readProgressWindow) {
        return new MinioStorageBackend(client, bucket, prefix, partSize, endpoint, readProgressWindow);
    }

    private String full(String key) {
        ObjectKeys.check(key);
        return prefix.isEmpty() ? key : prefix + "/" + key;
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public ObjectUpload create(String key) {
        String k = full(key);
        ChunkPipe pipe = new ChunkPipe();
        Future<?> put = uploads.submit(() -> {
            try (InputStream in = pipe.in) {
                client.putObject(PutObjectArgs.builder().bucket(bucket).object(k).stream(in, -1, partSize)
                        .headers(IF_ABSENT)
                        .build());
            }
            return null;
        });
        SentBytes sent = new SentBytes(pipe.out, partSize);
        return new ObjectUpload() {
            private boolean done;

            @Override
            public OutputStream stream() {
                return sent;
            }

            @Override
            public ObjectInfo commit() throws IOException {
                if (done) {
                    throw new IllegalStateException("upload of " + key + " already finished");
                }
                done = true;
                if (exists(k)) {
                    pipe.abort();
                    awaitQuietly(put);
                    throw new FileAlreadyExistsException(key);
                }
                sent.close();
                try {
                    put.get();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted while uploading " + key);
                } catch (ExecutionException e) {
                    if (!preconditionFailed(e.getCause())) {
                        throw io("uploading " + key, e.getCause());
                    }
                    if (!sent.single() || !holds(key, sent.count(), sent.sha256())) {
                        throw new FileAlreadyExistsException(key);
                    }
                    // the answer to our conditional PUT was lost and the client sent it again: ours is there
                }
                return stat(key).orElseThrow(() -> new IOException(key + " is missing right after its upload"));
            }

            @Override
            public void close() {
                if (!done) {
                    done = true;
                    pipe.abort();
                    awaitQuietly(put);
                }
            }
        };
    }

    /**
     * Waits for an aborted upload's task to end (the SDK aborts its multipart upload there). A
     * thread stopped by a signal waits too, a few seconds at most, its mark set aside: else the
     * process could end before the SDK's abort, and the parts stay stored and billed.
     */
    private static void awaitQuietly(Future<?> f) {
        try (InterruptAside aside = InterruptAside.setAside()) {
            if (aside.wasInterrupted()) {
                f.get(5, TimeUnit.SECONDS);
            } else {
                f.get();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt(); // after the close: the mark stays set
        } catch (ExecutionException | TimeoutException expected) {
            // the aborted upload fails, as intended; or it goes on ending without us
        }
    }

    private static boolean preconditionFailed(Throwable t) {
        return t instanceof ErrorResponseException
                && ("PreconditionFailed"
                                .equals(((ErrorResponseException) t)
                                        .errorResponse()
                                        .code())
                        || ((ErrorResponseException) t).response().code() == 412);
    }

    @Override
    public boolean createIfAbsent(String key, byte[] content) throws IOException {
        String k = full(key);
        if (exists(k)) {
            return false;
        }
        try {
            client.putObject(PutObjectArgs.builder().bucket(bucket).object(k).stream(
                            new ByteArrayInputStream(content), content.length, -1)
                    .headers(IF_ABSENT)
                    .build());
            return true;
        } catch (Exception e) {
            if (preconditionFailed(e)) {
                // the HTTP client sends a PUT again when its answer was lost (a reset connection): the
                // object the first one made fails the second's condition, and is this call's own
                return holds(key, content.length, Sha256.newDigest().digest(content));
            }
            throw io("creating " + key, e);
        }
    }

    /** Whether the object at {@code key} is {@code size} bytes whose SHA-256 is {@code sha256}. */
    private boolean holds(String key, long size, byte[] sha256) throws IOException {
        Optional<ObjectInfo> there = stat(key);
        if (there.isEmpty() || there.get().size() != size) {
            return false;
        }
        MessageDigest d = Sha256.newDigest();
        try (InputStream in = open(key, 0)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) >= 0; ) {
                d.update(buf, 0, n);
            }
        } catch (NoSuchFileException gone) {
            return false;
        }
        return MessageDigest.isEqual(d.digest(), sha256);
    }

    /**
     * What an upload sent: its size, and the SHA-256 of it while it fits in one part. Only a
     * single PUT carries {@code If-None-Match} to the object (the SDK sends no header with a
     * multipart completion), so only a single PUT's lost answer can come back as a failed condition.
     */
    private static final class SentBytes extends FilterOutputStream {
        private final MessageDigest digest = Sha256.newDigest();
        private final long partSize;
        private long count;

        SentBytes(OutputStream out, long partSize) {
            super(out);
            this.partSize = partSize;
        }

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
            if (single()) {
                digest.update(b, off, len);
            }
            count += len;
        }

        long count() {
            return count;
        }

        boolean single() {
            return count <= partSize;
        }

        byte[] sha256() {
            return digest.digest();
        }
    }

    @Override
    public InputStream open(String key, long offset) throws IOException {
        return get(key, offset, null);
    }

    /** Asks for just the range, so that a chunk read from a pack transfers only the chunk. */
    @Override
    public InputStream open(String key, long offset, long length) throws IOException {
        if (length <= 0) {
            return InputStream.nullInputStream();
        }
        return get(key, offset, length);
    }

    private InputStream get(String key, long offset, Long length) throws IOException {
        try {
            GetObjectArgs.Builder b = GetObjectArgs.builder().bucket(bucket).object(full(key));
            if (offset > 0 || length != null) {
                b.offset(offset);
            }
            if (length != null) {
                b.length(length);
            }
            InputStream body = client.getObject(b.build());
            // closing the SDK's body gives up on the rest after a moment (OkHttp reads on for 100 ms)
            return new ReadProgressGuard(
                    body,
                    readProgressWindow,
                    "reading " + key + " in " + description,
                    "read-progress-window",
                    () -> closeQuietly(body));
        } catch (ErrorResponseException e) {
            if (isMissing(e)) {
                throw new NoSuchFileException(key);
            }
            if ((offset > 0 || length != null) && isUnsatisfiableRange(e)) {
                return InputStream.nullInputStream(); // from the end of the object on: nothing, as a file gives
            }
            throw io("reading " + key, e);
        } catch (Exception e) {
            throw io("reading " + key, e);
        }
    }

    private static void closeQuietly(InputStream body) {
        try {
            body.close();
        } catch (IOException | RuntimeException ignored) {
            // the read has failed already; the failure says why
        }
    }

    @Override
    public Optional<ObjectInfo> stat(String key) throws IOException {
        return statFull(full(key))
                .map(s -> new ObjectInfo(key, s.size(), s.lastModified().toInstant()));
    }

    private boolean exists(String fullKey) throws IOException {
        return statFull(fullKey).isPresent();
    }

    private Optional<StatObjectResponse> statFull(String fullKey) throws IOException {
        try {
            return Optional.of(client.statObject(
                    StatObjectArgs.builder().bucket(bucket).object(fullKey).build()));
        } catch (ErrorResponseException e) {
            if (isMissing(e)) {
                return Optional.empty();
            }
            throw io("checking " + fullKey, e);
        } catch (Exception e) {
            throw io("checking " + fullKey, e);
        }
    }

    private static boolean isUnsatisfiableRange(ErrorResponseException e) {
        return (e.errorResponse() != null
                        && "InvalidRange".equals(e.errorResponse().code()))
                || (e.response() != null && e.response().code() == 416);
    }

    private static boolean isMissing(ErrorResponseException e) {
        String code = e.errorResponse().code();
        return "NoSuchKey".equals(code)
                || "NoSuchObject".equals(code)
                || e.response().code() == 404;
    }

    @Override
    public List<ObjectInfo> list(String keyPrefix) throws IOException {
        String p = prefix.isEmpty() ? keyPrefix : prefix + "/" + keyPrefix;
        List<ObjectInfo> out = new ArrayList<>();
        PagedListingGuard pages = new PagedListingGuard("listing " + keyPrefix, description);
        String doing = "listing " + keyPrefix;
        Pages lister = pages();
        try {
            if (lister == null) {
                // the SDK pages itself: on from the start when a truncated page has no token, and for
                // ever when a server repeats its token (a key listed twice stops that, an empty page not)
                for (Result<Item> r : client.listObjects(ListObjectsArgs.builder()
                        .bucket(bucket)
                        .prefix(p)
                        .recursive(true)
                        .build())) {
                    listed(r.get(), keyPrefix, pages, out);
                }
            } else {
                // paged here, so that every page's token is checked, empty pages' too
                String token = null;
                while (true) {
                    String used = token;
                    ListBucketResultV2 page =
                            await(() -> lister.page(bucket, p, used), doing).result();
                    for (Item i : page.contents()) {
                        i.setEncodingType(page.encodingType());
                        listed(i, keyPrefix, pages, out);
                    }
                    token = page.nextContinuationToken();
                    if (!pages.page(used, token, page.isTruncated())) {
                        break;
                    }
                }
            }
        } catch (StorageIOException e) {
            throw e;
        } catch (Exception e) {
            throw io(doing, e);
        }
        out.sort(Comparator.comparing(ObjectInfo::key));
        return out;
    }

    /** One entry of a listing of {@code keyPrefix}, added to {@code out} unless it is no key drkit writes. */
    private void listed(Item i, String keyPrefix, PagedListingGuard pages, List<ObjectInfo> out)
            throws StorageIOException {
        if (i.isDir()) {
            return;
        }
        // a key listed twice means the pages do not add up
        pages.key(i.objectName());
        // a key drkit could not have written (a//b, a/../b: the bucket takes them) is no
        // object of the repository, and would fail every call that names it
        String name = i.objectName();
        String rel = prefix.isEmpty() || name.startsWith(prefix + "/")
                ? name.substring(prefix.isEmpty() ? 0 : prefix.length() + 1)
                : null;
        if (rel == null || !rel.startsWith(keyPrefix) || !ObjectKeys.isValid(rel)) {
            LOG.warn(
                    "{}: leaving out '{}', which is no key drkit writes; remove it from the bucket",
                    description,
                    TarEntryReader.printable(name));
            return;
        }
        out.add(new ObjectInfo(
                rel,
                i.size(),
                i.lastModified() == null ? null : i.lastModified().toInstant()));
    }

    /**
     * The SDK's page-by-page object listing, which only a subclass of its asynchronous client may
     * call; null when the SDK in use does not let the asynchronous client be reached.
     */
    private Pages pages() {
        Pages p = pages;
        if (p == null) {
            try {
                p = new Pages(asyncClient());
            } catch (StorageIOException | RuntimeException e) {
                LOG.debug("{}: listing through the SDK's own paging: {}", description, e.getMessage());
                return null;
            }
            pages = p;
        }
        return p;
    }

    private volatile Pages pages;

    /** The asynchronous client, to ask for one page of an object listing at a time. */
    private static final class Pages extends MinioAsyncClient {
        Pages(MinioAsyncClient client) {
            super(client);
        }

        CompletableFuture<ListObjectsV2Response> page(String bucket, String prefix, String token) throws Exception {
            return listObjectsV2Async(bucket, null, null, "url", null, 1000, prefix, token, false, false, null, null);
        }
    }

    @Override
    public void delete(String key) throws IOException {
        try {
            client.removeObject(
                    RemoveObjectArgs.builder().bucket(bucket).object(full(key)).build());
        } catch (Exception e) {
            throw io("deleting " + key, e);
        }
    }

    /** Deletes in batches (the SDK sends DeleteObjects of up to 1000 keys), reporting refused keys. */
    @Override
    public void deleteAll(Collection<String> keys) throws IOException {
        if (keys.isEmpty()) {
            return;
        }
        List<DeleteObject> objects = new ArrayList<>();
        for (String key : keys) {
            objects.add(new DeleteObject(full(key)));
        }
        try {
            int failed = 0;
            String example = null;
            Reason why = Reason.OTHER;
            // lazy: the deletes happen while the results are read
            for (Result<DeleteError> r : client.removeObjects(
                    RemoveObjectsArgs.builder().bucket(bucket).objects(objects).build())) {
                DeleteError err = r.get();
                failed++;
                if (example == null) {
                    example = err.objectName() + ": " + err.code() + " " + err.message();
                    why = DENIED_CODES.contains(String.valueOf(err.code())) ? Reason.ACCESS_DENIED : Reason.OTHER;
                }
            }
            if (failed > 0) {
                throw new StorageIOException(
                        "deleting " + failed + " of " + keys.size() + " objects in " + describe() + " failed, e.g. "
                                + example,
                        null,
                        why,
                        why == Reason.OTHER);
            }
        } catch (StorageIOException e) {
            throw e;
        } catch (Exception e) {
            throw io("deleting " + keys.size() + " objects", e);
        }
    }

    /** Aborts multipart uploads under the repository's prefix started more than {@code olderThan} ago. */
    @Override
    public int cleanIncompleteUploads(Duration olderThan) throws IOException {
        int aborted = 0;
        for (Upload u : unfinished(olderThan, "cleaning up incomplete uploads")) {
            await(
                    () -> asyncClient()
                            .abortMultipartUploadAsync(bucket, null, u.objectName(), u.uploadId(), null, null),
                    "aborting the incomplete upload of " + TarEntryReader.printable(u.objectName()));
            aborted++;
        }
        return aborted;
    }

    @Override
    public List<ObjectInfo> incompleteUploads(Duration olderThan) throws IOException {
        List<ObjectInfo> out = new ArrayList<>();
        for (Upload u : unfinished(olderThan, "listing incomplete uploads")) {
            String key = prefix.isEmpty()
                    ? u.objectName()
                    : u.objectName().substring(Math.min(u.objectName().length(), prefix.length() + 1));
            out.add(new ObjectInfo(
                    key + " (multipart upload " + u.uploadId() + ")",
                    0,
                    u.initiated() == null ? Instant.EPOCH : u.initiated().toInstant()));
        }
        return out;
    }

    /**
     * The multipart uploads this repository left unfinished, started {@code olderThan} ago or
     * before. The pages must add up: markers used before or a truncated page without markers fail
     * instead of paging for ever.
     */
    private List<Upload> unfinished(Duration olderThan, String doing) throws IOException {
        Instant cutoff = Instant.now().minus(olderThan);
        List<Upload> out = new ArrayList<>();
        PagedListingGuard pages = new PagedListingGuard(doing, description);
        String keyMarker = null;
        String uploadIdMarker = null;
        while (true) {
            String km = keyMarker;
            String um = uploadIdMarker;
            ListMultipartUploadsResult page = await(
                            () -> asyncClient()
                                    .listMultipartUploadsAsync(
                                            bucket,
                                            null,
                                            null,
                                            "url",
                                            km,
                                            1000,
                                            prefix.isEmpty() ? null : prefix + "/",
                                            um,
                                            null,
                                            null),
                            doing)
                    .result();
            for (Upload u : page.uploads()) {
                if (u.objectName() == null) {
                    continue;
                }
                pages.upload(u.objectName(), u.uploadId());
                if ((u.initiated() == null || !u.initiated().toInstant().isAfter(cutoff))
                        && ObjectKeys.isRepositoryUpload(prefix, u.objectName())) {
                    out.add(u);
                }
            }
            keyMarker = page.nextKeyMarker();
            uploadIdMarker = page.nextUploadIdMarker();
            if (!pages.page(km, um, keyMarker, uploadIdMarker, page.isTruncated())) {
                return out;
            }
        }
    }

    /** A call of the SDK's asynchronous client, awaited. */
    private interface AsyncCall<T> {
        CompletableFuture<T> start() throws Exception;
    }

    private <T> T await(AsyncCall<T> call, String doing) throws IOException {
        try {
            return call.start().get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while " + doing);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            while (cause instanceof CompletionException && cause.getCause() != null) {
                cause = cause.getCause();
            }
            throw io(doing, cause);
        } catch (StorageIOException e) {
            throw e;
        } catch (Exception e) {
            throw io(doing, e);
        }
    }

    private volatile MinioAsyncClient asyncClient;

    /**
     * The SDK's asynchronous client inside the host's {@link MinioClient}: only it lists and aborts
     * multipart uploads and pages an object listing one page at a time (MinioClient keeps those
     * calls to itself), so it is taken from the field that holds it.
     */
    private MinioAsyncClient asyncClient() throws StorageIOException {
        MinioAsyncClient c = asyncClient;
        if (c != null) {
            return c;
        }
        try {
            Field f = MinioClient.class.getDeclaredField("asyncClient");
            f.setAccessible(true);
            c = (MinioAsyncClient) Objects.requireNonNull(f.get(client), "asyncClient");
        } catch (ReflectiveOperationException | RuntimeException e) {
            throw new StorageIOException(
                    "the MinIO SDK in use gives no way to list or abort the multipart uploads in " + description
                            + "; a bucket lifecycle rule that aborts incomplete multipart uploads after a day cleans "
                            + "them up instead",
                    null,
                    Reason.OTHER,
                    false);
        }
        asyncClient = c;
        return c;
    }

    @Override
    public void close() {
        uploads.shutdown();
    }

    private StorageIOException io(String doing, Throwable e) {
        Reason why = reason(e);
        String advice = why != Reason.ACCESS_DENIED
                ? ""
                : "; check the credentials (AWS_ACCESS_KEY_ID and "
                        + "AWS_SECRET_ACCESS_KEY, or those of the client the host gave) and that they may read and write bucket "
                        + bucket;
        return new StorageIOException(
                doing + " in " + description + " failed: " + e.getMessage() + advice, printable(e), why);
    }

    /**
     * The SDK's error answer prints the request's headers in its toString() (x-amz-security-token,
     * SSE-C keys): as a cause it would reach every logged stack trace. Kept as its message only.
     */
    private static Throwable printable(Throwable e) {
        if (!(e instanceof ErrorResponseException r)) {
            return e;
        }
        IOException safe = new IOException("the server refused the request: " + r.getMessage() + " ("
                + (r.errorResponse() == null ? "" : r.errorResponse().code() + ", ")
                + "HTTP " + (r.response() == null ? "?" : r.response().code()) + ")");
        safe.setStackTrace(r.getStackTrace());
        return safe;
    }

    private static final Set<String> TRANSIENT_CODES = Set.of(
            "RequestTimeout",
            "SlowDown",
            "SlowDownRead",
            "SlowDownWrite",
            "ServiceUnavailable",
            "InternalError",
            "OperationAborted",
            "XMinioServerNotInitialized");
    private static final Set<String> DENIED_CODES =
            Set.of("AccessDenied", "InvalidAccessKeyId", "SignatureDoesNotMatch", "ExpiredToken", "InvalidToken");
    private static final Pattern RESPONSE_CODE = Pattern.compile("Response code: (\\d{3})");

    /**
     * Why MinIO failed: the error code and HTTP status of the server's answer, or for a request
     * without one the kind of failure (a network failure or timeout is transient, a host name
     * that does not resolve is not).
     */
    static Reason reason(Throwable e) {
        if (e instanceof ErrorResponseException r) {
            String code = r.errorResponse() == null ? null : r.errorResponse().code();
            if (code != null && TRANSIENT_CODES.contains(code)) {
                return Reason.UNAVAILABLE;
            }
            if (code != null && DENIED_CODES.contains(code)) {
                return Reason.ACCESS_DENIED;
            }
            if ("NoSuchBucket".equals(code)) {
                return Reason.NOT_FOUND;
            }
            return Reason.ofHttpStatus(r.response() == null ? 0 : r.response().code());
        }
        if (e instanceof ServerException s) {
            return Reason.ofHttpStatus(s.statusCode());
        }
        if (e instanceof InvalidResponseException) {
            // an answer that is no S3 error document (a proxy's page): its status still says what happened
            Matcher m = RESPONSE_CODE.matcher(String.valueOf(e.getMessage()));
            return m.find() ? Reason.ofHttpStatus(Integer.parseInt(m.group(1))) : Reason.OTHER;
        }
        if (StorageFailures.network(e)) {
            return Reason.UNAVAILABLE;
        }
        if (StorageFailures.unknownHost(e)) {
            return Reason.NOT_FOUND;
        }
        return Reason.OTHER;
    }
}
