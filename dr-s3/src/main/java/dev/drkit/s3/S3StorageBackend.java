package dev.drkit.s3;

import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.StorageIOException;
import dev.drkit.spi.StorageIOException.Reason;
import dev.drkit.spi.support.BoundedInputStream;
import dev.drkit.spi.support.InterruptAside;
import dev.drkit.spi.support.ObjectKeys;
import dev.drkit.spi.support.PagedListingGuard;
import dev.drkit.spi.support.ReadProgressGuard;
import dev.drkit.spi.support.StorageFailures;
import dev.drkit.spi.support.TarEntryReader;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.URI;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import software.amazon.awssdk.awscore.exception.AwsServiceException;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.exception.ApiCallAttemptTimeoutException;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.ChecksumAlgorithm;
import software.amazon.awssdk.services.s3.model.CompletedMultipartUpload;
import software.amazon.awssdk.services.s3.model.CompletedPart;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadRequest;
import software.amazon.awssdk.services.s3.model.EncodingType;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListMultipartUploadsResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.MultipartUpload;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.ObjectIdentifier;
import software.amazon.awssdk.services.s3.model.ObjectLockRetention;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;

/**
 * A repository in an S3 bucket (AWS or S3-compatible: MinIO, Ceph, S3Proxy), on AWS SDK v2.
 *
 * <p>Uploads stream as multipart uploads of unknown length: parts of {@code partSize} bytes
 * go up on background threads, at most {@code concurrency} at a time, so memory stays at
 * about (concurrency + 1) x partSize whatever the object's size. Objects smaller than a part
 * are a single PUT. Closing an upload without commit aborts the multipart upload, so no
 * orphan parts stay behind. Objects are write-once: commits and {@link #createIfAbsent} use
 * {@code If-None-Match: *} (conditional writes), after a HEAD that also protects servers
 * without conditional writes against sequential overwrites. Thread-safe.
 */
public final class S3StorageBackend implements StorageBackend {
    private static final Logger LOG = LoggerFactory.getLogger(S3StorageBackend.class);
    private final S3Client client;
    private final String bucket;
    private final String prefix;
    private final boolean ownsClient;
    private final int partSize;
    private final int concurrency;
    private final String description;
    private final ExecutorService uploads;
    private final String sse;
    private final String kmsKeyId;
    private final String storageClass;
    private final String lockMode;
    private final Duration lockFor;
    private final CustomerKey customerKey;
    private final Duration readProgressWindow;

    private S3StorageBackend(Builder b) {
        this.client = b.client;
        this.bucket = b.bucket;
        this.prefix = b.prefix == null ? "" : b.prefix.replaceAll("^/+|/+$", "");
        this.ownsClient = b.ownsClient;
        this.partSize = b.partSize;
        this.concurrency = b.concurrency;
        this.sse = b.sse;
        this.kmsKeyId = b.kmsKeyId;
        this.storageClass = b.storageClass;
        this.lockMode = b.lockMode;
        this.lockFor = b.lockFor;
        this.customerKey = b.customerKey;
        this.readProgressWindow = b.readProgressWindow;
        this.description = "s3://" + bucket + (prefix.isEmpty() ? "" : "/" + prefix)
                + (b.endpointForMessages == null ? "" : " at " + forMessages(b.endpointForMessages));
        this.uploads = Executors.newCachedThreadPool(r -> {
            Thread t = new Thread(r, "drkit-s3-upload");
            t.setDaemon(true);
            return t;
        });
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * Server-side encryption, storage class and Object Lock retention for new objects. S3
     * wants a checksum on writes that carry a retention, so those send a CRC32.
     */
    private void options(PutObjectRequest.Builder r, Instant retainUntil) {
        if (retainUntil != null) {
            r.objectLockMode(lockMode)
                    .objectLockRetainUntilDate(retainUntil)
                    .checksumAlgorithm(ChecksumAlgorithm.CRC32);
        }
        if (sse != null) {
            r.serverSideEncryption(sse);
            if (kmsKeyId != null) {
                r.ssekmsKeyId(kmsKeyId);
            }
        }
        if (customerKey != null) {
            customerKey.to(r::sseCustomerAlgorithm, r::sseCustomerKey, r::sseCustomerKeyMD5);
        }
        if (storageClass != null) {
            r.storageClass(storageClass);
        }
    }

    private void options(CreateMultipartUploadRequest.Builder r, Instant retainUntil) {
        if (retainUntil != null) {
            r.objectLockMode(lockMode)
                    .objectLockRetainUntilDate(retainUntil)
                    .checksumAlgorithm(ChecksumAlgorithm.CRC32);
        }
        if (sse != null) {
            r.serverSideEncryption(sse);
            if (kmsKeyId != null) {
                r.ssekmsKeyId(kmsKeyId);
            }
        }
        if (customerKey != null) {
            customerKey.to(r::sseCustomerAlgorithm, r::sseCustomerKey, r::sseCustomerKeyMD5);
        }
        if (storageClass != null) {
            r.storageClass(storageClass);
        }
    }

    /**
     * An SSE-C key: the server encrypts with it and keeps only its MD5, so every write and
     * read of an object must send it again. Never printed.
     */
    static final class CustomerKey {
        static final String ALGORITHM = "AES256";
        final String base64;
        final String md5;

        CustomerKey(byte[] key) {
            if (key.length != 32) {
                throw new IllegalArgumentException("an SSE-C key is 256 bits (32 bytes), not " + key.length + " bytes");
            }
            this.base64 = Base64.getEncoder().encodeToString(key);
            try {
                this.md5 = Base64.getEncoder()
                        .encodeToString(MessageDigest.getInstance("MD5").digest(key));
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        /** Sets the three SSE-C headers through a request builder's setters. */
        void to(Consumer<String> algorithm, Consumer<String> key, Consumer<String> keyMd5) {
            algorithm.accept(ALGORITHM);
            key.accept(base64);
            keyMd5.accept(md5);
        }

        @Override
        public String toString() {
            return "CustomerKey[redacted]";
        }
    }

    private String full(String key) {
        ObjectKeys.check(key);
        return prefix.isEmpty() ? key : prefix + "/" + key;
    }

    private String relative(String fullKey) {
        return prefix.isEmpty() ? fullKey : fullKey.substring(prefix.length() + 1);
    }

    @Override
    public String describe() {
        return description;
    }

    @Override
    public ObjectUpload create(String key) {
        return new Upload(key, full(key), null);
    }

    /** With Object Lock configured ({@link Builder#objectLock}), how long backup data stays immutable. */
    @Override
    public Optional<Duration> immutableFor() {
        return Optional.ofNullable(lockFor);
    }

    @Override
    public ObjectUpload create(String key, Instant retainUntil) {
        return new Upload(key, full(key), locking(retainUntil));
    }

    @Override
    public boolean createIfAbsent(String key, byte[] content) throws IOException {
        return createIfAbsent(key, content, null);
    }

    private Instant locking(Instant retainUntil) {
        if (retainUntil != null && lockMode == null) {
            throw new UnsupportedOperationException(description + " has no Object Lock configured (object-lock=)");
        }
        return retainUntil;
    }

    @Override
    public boolean createIfAbsent(String key, byte[] content, Instant retainUntil) throws IOException {
        Instant until = locking(retainUntil);
        String k = full(key);
        if (head(k).isPresent()) {
            return false;
        }
        for (int attempt = 1; ; attempt++) {
            try {
                client.putObject(
                        r -> {
                            r.bucket(bucket).key(k).ifNoneMatch("*");
                            options(r, until);
                        },
                        RequestBody.fromBytes(content));
                return true;
            } catch (S3Exception e) {
                if (e.statusCode() != 412 && e.statusCode() != 409) {
                    throw lockRefused("creating " + key, e);
                }
                try {
                    return createdByThisCall(key, content, e);
                } catch (StorageIOException conflict) {
                    if (attempt == 3) {
                        throw conflict;
                    }
                    pause(100L * attempt); // a conditional write that raced another request: S3 asks to retry
                }
            } catch (SdkException e) {
                throw io("creating " + key, e);
            }
        }
    }

    private static void pause(long millis) throws InterruptedIOException {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while waiting to try again");
        }
    }

    /**
     * After a conditional PUT answered 412 or 409: whether the object there is this call's own.
     * The SDK retries a PUT whose response was lost, and the retry finds the object the first
     * attempt made; its bytes equal {@code content} then. A 409 with no object (a conditional
     * write racing another request, which S3 asks to retry) is a transient failure, not "exists".
     */
    private boolean createdByThisCall(String key, byte[] content, S3Exception e) throws IOException {
        byte[] there;
        try (InputStream in = guarded(key, get(key, null))) {
            there = in.readNBytes(content.length + 1);
        } catch (NoSuchFileException gone) {
            if (e.statusCode() == 409) {
                throw new StorageIOException(
                        "creating " + key + " in " + description + " met a conflicting request (" + code(e)
                                + "); nothing was written, try again",
                        e,
                        Reason.OTHER,
                        true);
            }
            return false; // removed again since: another writer's, then deleted
        }
        return Arrays.equals(there, content);
    }

    private static String code(S3Exception e) {
        return e.awsErrorDetails() == null
                ? String.valueOf(e.statusCode())
                : e.awsErrorDetails().errorCode();
    }

    /** An endpoint for messages: scheme, host, port and path, never user info or a query (credentials). */
    static String forMessages(String endpoint) {
        try {
            URI u = URI.create(endpoint);
            if (u.getHost() == null) {
                return "(endpoint)";
            }
            return (u.getScheme() == null ? "" : u.getScheme() + "://")
                    + u.getHost()
                    + (u.getPort() < 0 ? "" : ":" + u.getPort())
                    + (u.getRawPath() == null ? "" : u.getRawPath());
        } catch (IllegalArgumentException e) {
            return "(endpoint)";
        }
    }

    @Override
    public InputStream open(String key, long offset) throws IOException {
        return get(key, offset, -1);
    }

    /** Asks for just the range, so that a chunk read from a pack transfers only the chunk. */
    @Override
    public InputStream open(String key, long offset, long length) throws IOException {
        if (length <= 0) {
            return InputStream.nullInputStream();
        }
        return get(key, offset, length);
    }

    /**
     * The object's bytes from {@code offset} on ({@code length} of them, all when -1). A server
     * that ignores the Range header answers with the whole object (200 without Content-Range):
     * the bytes before {@code offset} are skipped and the rest bounded, so the caller gets the
     * bytes it asked for either way.
     */
    private InputStream get(String key, long offset, long length) throws IOException {
        String range = offset <= 0 && length < 0
                ? null
                : "bytes=" + offset + "-" + (length < 0 ? "" : String.valueOf(offset + length - 1));
        InputStream body = get(key, range);
        InputStream in = guarded(key, body);
        if (range == null
                || !(body instanceof ResponseInputStream<?> r)
                || !(r.response() instanceof GetObjectResponse g)
                || g.contentRange() != null) {
            return in;
        }
        in.skipNBytes(Math.min(offset, g.contentLength() == null ? offset : g.contentLength()));
        return length < 0 ? in : new BoundedInputStream(in, length);
    }

    /**
     * A body that fails when the server trickles it (see {@link ReadProgressGuard}); on failure the
     * connection is aborted, since closing the SDK's stream reads the rest of the body first.
     */
    private InputStream guarded(String key, InputStream in) {
        if (!(in instanceof ResponseInputStream<?> r)) {
            return in;
        }
        // the SDK's abort may come from another thread while a read blocks: it cuts the connection
        return new ReadProgressGuard(
                        r,
                        readProgressWindow,
                        "reading " + key + " in " + description,
                        "read-progress-window",
                        r::abort)
                .abortingOnInterrupt();
    }

    private InputStream get(String key, String range) throws IOException {
        String k = full(key);
        try {
            return client.getObject(r -> {
                r.bucket(bucket).key(k);
                if (customerKey != null) {
                    customerKey.to(r::sseCustomerAlgorithm, r::sseCustomerKey, r::sseCustomerKeyMD5);
                }
                if (range != null) {
                    r.range(range);
                }
            });
        } catch (NoSuchKeyException e) {
            throw new NoSuchFileException(key);
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                throw new NoSuchFileException(key);
            }
            if (e.statusCode() == 416 && range != null) {
                return InputStream.nullInputStream(); // from the end of the object on: nothing, as a file gives
            }
            throw io("reading " + key, e);
        } catch (SdkException e) {
            throw io("reading " + key, e);
        }
    }

    @Override
    public Optional<Instant> retainedUntil(String key) throws IOException {
        return head(full(key)).map(HeadObjectResponse::objectLockRetainUntilDate);
    }

    @Override
    public Optional<ObjectInfo> stat(String key) throws IOException {
        return head(full(key)).map(h -> new ObjectInfo(key, h.contentLength(), h.lastModified()));
    }

    private Optional<HeadObjectResponse> head(String fullKey) throws IOException {
        try {
            return Optional.of(client.headObject(r -> {
                r.bucket(bucket).key(fullKey);
                if (customerKey != null) {
                    customerKey.to(r::sseCustomerAlgorithm, r::sseCustomerKey, r::sseCustomerKeyMD5);
                }
            }));
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        } catch (S3Exception e) {
            if (e.statusCode() == 404) {
                return Optional.empty();
            }
            throw io("checking " + fullKey, e);
        } catch (SdkException e) {
            throw io("checking " + fullKey, e);
        }
    }

    @Override
    public List<ObjectInfo> list(String keyPrefix) throws IOException {
        String p = prefix.isEmpty() ? keyPrefix : prefix + "/" + keyPrefix;
        List<ObjectInfo> out = new ArrayList<>();
        try {
            // URL-encoded keys: one with a control character would make the XML answer unreadable
            List<S3Object> objects = new ArrayList<>();
            PagedListingGuard pages = new PagedListingGuard("listing " + keyPrefix, description);
            String token = null;
            // the paginator goes on while a page names a token, whatever it says of truncation
            for (ListObjectsV2Response page : client.listObjectsV2Paginator(
                    r -> r.bucket(bucket).prefix(p).encodingType(EncodingType.URL))) {
                for (S3Object o : page.contents()) {
                    pages.key(o.key());
                    objects.add(o);
                }
                String next = page.nextContinuationToken();
                // a page naming a token goes on even when it says it is the last: the guard is told so
                boolean goesOn = Boolean.TRUE.equals(page.isTruncated()) || (next != null && !next.isEmpty());
                pages.page(token, next, goesOn);
                token = next;
            }
            for (S3Object o : objects) {
                // a key drkit could not have written (a//b, a/../b: the bucket takes them) is no
                // object of the repository, and would fail every call that names it
                String key = prefix.isEmpty() || o.key().startsWith(prefix + "/") ? relative(o.key()) : null;
                if (key == null || !key.startsWith(keyPrefix) || !ObjectKeys.isValid(key)) {
                    LOG.warn(
                            "{}: leaving out '{}', which is no key drkit writes; remove it from the bucket",
                            description,
                            TarEntryReader.printable(o.key()));
                    continue;
                }
                out.add(new ObjectInfo(key, o.size(), o.lastModified()));
            }
        } catch (SdkException e) {
            throw io("listing " + keyPrefix, e);
        }
        out.sort(Comparator.comparing(ObjectInfo::key));
        return out;
    }

    @Override
    public void delete(String key) throws IOException {
        try {
            client.deleteObject(r -> r.bucket(bucket).key(full(key)));
        } catch (SdkException e) {
            throw io("deleting " + key, e);
        }
    }

    /** Deletes in batches of 1000 keys (DeleteObjects), reporting the keys the server refused. */
    @Override
    public void deleteAll(Collection<String> keys) throws IOException {
        List<String> all = new ArrayList<>(keys);
        for (int from = 0; from < all.size(); from += 1000) {
            List<ObjectIdentifier> batch = new ArrayList<>();
            for (String key : all.subList(from, Math.min(all.size(), from + 1000))) {
                batch.add(ObjectIdentifier.builder().key(full(key)).build());
            }
            try {
                var errors = client.deleteObjects(r ->
                                r.bucket(bucket).delete(d -> d.objects(batch).quiet(true)))
                        .errors();
                if (!errors.isEmpty()) {
                    var first = errors.get(0);
                    Reason why = "AccessDenied".equals(first.code()) ? Reason.ACCESS_DENIED : Reason.OTHER;
                    throw new StorageIOException(
                            "deleting " + errors.size() + " of " + batch.size() + " objects in "
                                    + description + " failed, e.g. "
                                    + TarEntryReader.printable(String.valueOf(first.key()))
                                    + ": " + first.code() + " "
                                    + first.message(),
                            null,
                            why,
                            why == Reason.OTHER);
                }
            } catch (SdkException e) {
                throw io("deleting " + batch.size() + " objects", e);
            }
        }
    }

    /** Aborts multipart uploads under the repository's prefix started more than {@code olderThan} ago. */
    @Override
    public int cleanIncompleteUploads(Duration olderThan) throws IOException {
        int aborted = 0;
        for (MultipartUpload u : unfinished(olderThan, "cleaning up incomplete uploads")) {
            try {
                client.abortMultipartUpload(r -> r.bucket(bucket).key(u.key()).uploadId(u.uploadId()));
            } catch (SdkException e) {
                throw io("cleaning up incomplete uploads", e);
            }
            aborted++;
        }
        return aborted;
    }

    @Override
    public List<ObjectInfo> incompleteUploads(Duration olderThan) throws IOException {
        List<ObjectInfo> out = new ArrayList<>();
        for (MultipartUpload u : unfinished(olderThan, "listing incomplete uploads")) {
            String key = prefix.isEmpty()
                    ? u.key()
                    : u.key().substring(Math.min(u.key().length(), prefix.length() + 1));
            out.add(new ObjectInfo(
                    key + " (multipart upload " + u.uploadId() + ")",
                    0,
                    u.initiated() == null ? Instant.EPOCH : u.initiated()));
        }
        return out;
    }

    /**
     * The multipart uploads this repository left unfinished, started {@code olderThan} ago or
     * before (only the folders it uploads into at a bucket's root). The pages must add up: markers
     * used before, or a truncated page without them, fail instead of paging for ever.
     */
    private List<MultipartUpload> unfinished(Duration olderThan, String doing) throws IOException {
        Instant cutoff = Instant.now().minus(olderThan);
        List<MultipartUpload> out = new ArrayList<>();
        PagedListingGuard pages = new PagedListingGuard(doing, description);
        String keyMarker = null;
        String uploadIdMarker = null;
        try {
            while (true) {
                String km = keyMarker;
                String um = uploadIdMarker;
                ListMultipartUploadsResponse page = client.listMultipartUploads(r -> r.bucket(bucket)
                        .prefix(prefix.isEmpty() ? null : prefix + "/")
                        .keyMarker(km)
                        .uploadIdMarker(um));
                for (MultipartUpload u : page.uploads()) {
                    if (u.key() == null) {
                        continue;
                    }
                    pages.upload(u.key(), u.uploadId());
                    if ((u.initiated() == null || !u.initiated().isAfter(cutoff)) && ours(u.key())) {
                        out.add(u);
                    }
                }
                keyMarker = page.nextKeyMarker();
                uploadIdMarker = page.nextUploadIdMarker();
                if (!pages.page(km, um, keyMarker, uploadIdMarker, Boolean.TRUE.equals(page.isTruncated()))) {
                    return out;
                }
            }
        } catch (SdkException e) {
            throw io(doing, e);
        }
    }

    /** Whether an unfinished upload of {@code fullKey} can be this repository's. */
    private boolean ours(String fullKey) {
        return ObjectKeys.isRepositoryUpload(prefix, fullKey);
    }

    @Override
    public void close() {
        uploads.shutdown();
        if (ownsClient) {
            client.close();
        }
    }

    /** A write with a retention that the bucket refused: Object Lock is not enabled there. */
    private IOException lockRefused(String doing, S3Exception e) {
        if (e.statusCode() == 400 && String.valueOf(e.getMessage()).contains("ObjectLock")) {
            return failure(
                    doing + " in " + description + " failed: the bucket does not have Object Lock "
                            + "enabled. Create the repository's bucket with Object Lock (most servers cannot turn it on "
                            + "later), or remove object-lock= from the repository",
                    e);
        }
        return io(doing, e);
    }

    private IOException io(String doing, SdkException e) {
        if (e instanceof S3Exception s3 && s3.statusCode() == 501) {
            return failure(
                    doing + " in " + description + " failed: the server does not implement this "
                            + "request (" + e.getMessage()
                            + "); check the repository's options (sse, sse-customer-key-file, "
                            + "object-lock) against what the server supports",
                    e);
        }
        if (reason(e) == Reason.ACCESS_DENIED) {
            // the SDK's words for an empty default chain are a dump of every provider in it
            String what = noCredentials(e)
                    ? "no credentials found (none in AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, a profile "
                            + "or the instance's role)"
                    : e.getMessage();
            return failure(
                    doing + " in " + description + " failed: " + what + "; check the credentials "
                            + "(the AWS default chain, or the storage.credentials-file and storage.profile settings) and "
                            + "that they may read and write bucket " + bucket,
                    e);
        }
        return failure(doing + " in " + description + " failed: " + e.getMessage(), e);
    }

    private static StorageIOException failure(String message, SdkException e) {
        return new StorageIOException(message, e, reason(e), retryable(e));
    }

    /** S3 error codes that pass by themselves, whatever their HTTP status (400 RequestTimeout, 409 OperationAborted). */
    private static final Set<String> TRANSIENT_CODES = Set.of(
            "RequestTimeout",
            "RequestTimeoutException",
            "OperationAborted",
            "SlowDown",
            "PriorRequestNotComplete",
            "ServiceUnavailable",
            "InternalError",
            "Throttling",
            "ThrottlingException",
            "RequestLimitExceeded",
            "TooManyRequestsException");

    /**
     * Why S3 failed: the server's status and error code for an answer, the kind of failure
     * for a request that got none (a network failure or timeout is transient, a host name that
     * does not resolve or missing credentials are not).
     */
    static Reason reason(SdkException e) {
        if (e instanceof AwsServiceException s) {
            String code =
                    s.awsErrorDetails() == null ? null : s.awsErrorDetails().errorCode();
            if (s.isThrottlingException() || (code != null && TRANSIENT_CODES.contains(code))) {
                return Reason.UNAVAILABLE;
            }
            return Reason.ofHttpStatus(s.statusCode());
        }
        if (e instanceof ApiCallTimeoutException
                || e instanceof ApiCallAttemptTimeoutException
                || StorageFailures.network(e)) {
            return Reason.UNAVAILABLE;
        }
        if (StorageFailures.unknownHost(e)) {
            return Reason.NOT_FOUND;
        }
        if (noCredentials(e)) {
            return Reason.ACCESS_DENIED;
        }
        return Reason.OTHER;
    }

    private static boolean noCredentials(SdkException e) {
        return !(e instanceof AwsServiceException)
                && String.valueOf(e.getMessage()).contains("Unable to load credentials");
    }

    /** Retryable as the reason says; where it says nothing, as the SDK does. */
    static boolean retryable(SdkException e) {
        Reason r = reason(e);
        return r == Reason.OTHER ? e.retryable() : r.retryable();
    }

    /** A streaming upload: single PUT when small, multipart when it outgrows one part. */
    private final class Upload implements ObjectUpload {
        private final String key;
        private final String fullKey;
        private final Instant retainUntil;
        private final Semaphore slots = new Semaphore(concurrency);
        private final List<Future<CompletedPart>> parts = new ArrayList<>();
        /** Per part: taken by its task when it starts, or by an abort first (which then frees its slot). */
        private final List<AtomicBoolean> claimed = new ArrayList<>();

        private byte[] buffer = new byte[Math.min(partSize, 1 << 16)];
        private int filled;
        private long written;
        private String uploadId;
        private boolean done;
        private final OutputStream stream = new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                write(new byte[] {(byte) b}, 0, 1);
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                while (len > 0) {
                    if (filled == buffer.length) {
                        if (buffer.length < partSize) {
                            buffer = Arrays.copyOf(buffer, Math.min(partSize, buffer.length * 4));
                        } else {
                            sendPart();
                        }
                    }
                    int n = Math.min(len, buffer.length - filled);
                    System.arraycopy(b, off, buffer, filled, n);
                    filled += n;
                    written += n;
                    off += n;
                    len -= n;
                }
            }
        };

        Upload(String key, String fullKey, Instant retainUntil) {
            this.key = key;
            this.fullKey = fullKey;
            this.retainUntil = retainUntil;
        }

        @Override
        public OutputStream stream() {
            return stream;
        }

        private void sendPart() throws IOException {
            try {
                if (uploadId == null) {
                    uploadId = client.createMultipartUpload(r -> {
                                r.bucket(bucket).key(fullKey);
                                options(r, retainUntil);
                            })
                            .uploadId();
                }
                slots.acquire();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while uploading " + key);
            } catch (S3Exception e) {
                throw lockRefused("starting the upload of " + key, e);
            } catch (SdkException e) {
                throw io("starting the upload of " + key, e);
            }
            byte[] data = buffer;
            int length = filled;
            int number = parts.size() + 1;
            buffer = new byte[partSize];
            filled = 0;
            AtomicBoolean mine = new AtomicBoolean();
            claimed.add(mine);
            parts.add(uploads.submit(() -> {
                if (!mine.compareAndSet(false, true)) {
                    return null; // the upload was aborted before this part started; the abort freed its slot
                }
                try {
                    var part = client.uploadPart(
                            r -> {
                                r.bucket(bucket)
                                        .key(fullKey)
                                        .uploadId(uploadId)
                                        .partNumber(number)
                                        .contentLength((long) length);
                                if (retainUntil != null) {
                                    r.checksumAlgorithm(ChecksumAlgorithm.CRC32);
                                }
                                if (customerKey != null) {
                                    customerKey.to(r::sseCustomerAlgorithm, r::sseCustomerKey, r::sseCustomerKeyMD5);
                                }
                            },
                            RequestBody.fromInputStream(new ByteArrayInputStream(data, 0, length), length));
                    return CompletedPart.builder()
                            .partNumber(number)
                            .eTag(part.eTag())
                            .checksumCRC32(part.checksumCRC32())
                            .build();
                } finally {
                    slots.release();
                }
            }));
            failFast();
        }

        private void failFast() throws IOException {
            for (Future<CompletedPart> f : parts) {
                if (f.isDone()) {
                    await(f);
                }
            }
        }

        private CompletedPart await(Future<CompletedPart> f) throws IOException {
            try {
                return f.get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while uploading " + key);
            } catch (ExecutionException e) {
                Throwable c = e.getCause();
                throw c instanceof SdkException
                        ? io("uploading a part of " + key, (SdkException) c)
                        : c instanceof IOException failed
                                ? StorageFailures.classify(failed)
                                : new IOException("uploading a part of " + key + " failed", c);
            }
        }

        @Override
        public ObjectInfo commit() throws IOException {
            if (done) {
                throw new IllegalStateException("upload of " + key + " already finished");
            }
            try {
                if (head(fullKey).isPresent()) {
                    throw new FileAlreadyExistsException(key);
                }
                if (uploadId == null) {
                    putSmall();
                } else {
                    if (filled > 0) {
                        sendPart();
                    }
                    List<CompletedPart> completed = new ArrayList<>();
                    for (Future<CompletedPart> f : parts) {
                        completed.add(await(f));
                    }
                    complete(completed);
                }
                done = true;
                return new ObjectInfo(key, written, Instant.now());
            } finally {
                close();
            }
        }

        private void putSmall() throws IOException {
            try {
                client.putObject(
                        r -> {
                            r.bucket(bucket).key(fullKey).ifNoneMatch("*");
                            options(r, retainUntil);
                        },
                        RequestBody.fromInputStream(new ByteArrayInputStream(buffer, 0, filled), filled));
            } catch (S3Exception e) {
                if ((e.statusCode() == 412 || e.statusCode() == 409)
                        && !createdByThisCall(key, Arrays.copyOf(buffer, filled), e)) {
                    throw new FileAlreadyExistsException(key);
                }
                if (e.statusCode() != 412 && e.statusCode() != 409) {
                    throw lockRefused("uploading " + key, e);
                }
            } catch (SdkException e) {
                throw io("uploading " + key, e);
            }
        }

        private void complete(List<CompletedPart> completed) throws IOException {
            try {
                var done = client.completeMultipartUpload(r -> r.bucket(bucket)
                        .key(fullKey)
                        .uploadId(uploadId)
                        .ifNoneMatch("*")
                        .multipartUpload(CompletedMultipartUpload.builder()
                                .parts(completed)
                                .build()));
                uploadId = null;
                if (retainUntil != null) {
                    // S3 takes the retention from the upload's start, but not every server does: setting
                    // it on the completed version again (the same mode and date) makes sure of it
                    client.putObjectRetention(r -> r.bucket(bucket)
                            .key(fullKey)
                            .versionId(done.versionId())
                            .retention(ObjectLockRetention.builder()
                                    .mode(lockMode)
                                    .retainUntilDate(retainUntil)
                                    .build()));
                }
            } catch (S3Exception e) {
                if (e.statusCode() == 412 || e.statusCode() == 409) {
                    throw new FileAlreadyExistsException(key);
                }
                throw lockRefused("completing the upload of " + key, e);
            } catch (SdkException e) {
                throw io("completing the upload of " + key, e);
            }
        }

        @Override
        public void close() throws IOException {
            done = true;
            buffer = new byte[0];
            if (uploadId != null) {
                String id = uploadId;
                uploadId = null;
                for (AtomicBoolean c : claimed) {
                    if (c.compareAndSet(false, true)) {
                        slots.release(); // a part that never started: its task will not run to free it
                    }
                }
                parts.forEach(f -> f.cancel(true));
                // a thread stopped by a signal aborts its upload too: the SDK refuses any request of
                // an interrupted thread ("Thread was interrupted"), which left the parts stored and
                // billed; the mark is set aside while the parts are awaited and the upload aborted
                try (InterruptAside aside = InterruptAside.setAside()) {
                    // a part being sent does not stop on interrupt, and one landing after the abort
                    // would keep its storage: wait (a while; less when stopping) until every part ended
                    try {
                        if (slots.tryAcquire(concurrency, aside.wasInterrupted() ? 5 : 60, TimeUnit.SECONDS)) {
                            slots.release(concurrency);
                        }
                    } catch (InterruptedException e) {
                        aside.keep();
                    }
                    try {
                        client.abortMultipartUpload(
                                r -> r.bucket(bucket).key(fullKey).uploadId(id));
                    } catch (SdkException e) {
                        throw io(
                                "aborting the upload of " + key + " (a bucket lifecycle rule for incomplete "
                                        + "multipart uploads cleans it up)",
                                e);
                    }
                }
            }
        }
    }

    /** Builder; not thread-safe. */
    public static final class Builder {
        private S3Client client;
        private boolean ownsClient;
        private String bucket;
        private String prefix = "";
        private int partSize = 16 << 20;
        private int concurrency = 4;
        private String endpointForMessages;
        private String sse;
        private String kmsKeyId;
        private String storageClass;
        private String lockMode;
        private Duration lockFor;
        private CustomerKey customerKey;
        private Duration readProgressWindow = ReadProgressGuard.DEFAULT_WINDOW;

        /**
         * How long a read of an object may wait on the server while fewer than 64 KiB arrive
         * before it fails (default 5 minutes): a server that trickles a body (a byte every few
         * seconds) never trips a socket timeout and would hold a restore for days. Only time spent
         * waiting on the server counts, not time the reader takes. Lengthen it for links slower
         * than about 220 bytes a second.
         */
        public Builder readProgressWindow(Duration window) {
            this.readProgressWindow = ReadProgressGuard.requirePositive(window);
            return this;
        }

        /**
         * SSE-C: the server encrypts each object with this 256-bit key, which drkit sends with
         * every write and read and the server does not keep. Losing the key loses the backups.
         * Not combined with {@link #serverSideEncryption}. AWS accepts SSE-C over HTTPS only.
         */
        public Builder customerKey(byte[] key) {
            this.customerKey = key == null ? null : new CustomerKey(key);
            return this;
        }

        /**
         * Writes backup data with S3 Object Lock retention: {@code GOVERNANCE} or
         * {@code COMPLIANCE} mode, retained for {@code retainFor} from when it is written, so
         * that nobody with this host's credentials can delete or overwrite it before then (in
         * compliance mode, nobody at all). The bucket must have been created with Object Lock
         * enabled. Deleting an object then only hides it behind a delete marker while its
         * locked version stays; a lifecycle rule that expires noncurrent versions reclaims the
         * space once the retention has passed.
         */
        public Builder objectLock(String mode, Duration retainFor) {
            String m = mode == null ? null : mode.toUpperCase(Locale.ROOT);
            if (m != null && !m.equals("GOVERNANCE") && !m.equals("COMPLIANCE")) {
                throw new IllegalArgumentException("Object Lock mode must be GOVERNANCE or COMPLIANCE: " + mode);
            }
            if (m != null && (retainFor == null || retainFor.isNegative() || retainFor.isZero())) {
                throw new IllegalArgumentException("Object Lock needs a positive retention period");
            }
            this.lockMode = m;
            this.lockFor = m == null ? null : retainFor;
            return this;
        }

        /**
         * Server-side encryption for new objects: {@code AES256} (SSE-S3) or {@code aws:kms}
         * (SSE-KMS, with an optional key id).
         */
        public Builder serverSideEncryption(String algorithm, String kmsKeyId) {
            if (algorithm != null && !algorithm.equals("AES256") && !algorithm.equals("aws:kms")) {
                throw new IllegalArgumentException("server-side encryption must be AES256 or aws:kms: " + algorithm);
            }
            this.sse = algorithm;
            this.kmsKeyId = kmsKeyId;
            return this;
        }

        /** Storage class for new objects (e.g. STANDARD_IA, GLACIER_IR); null for the bucket's default. */
        public Builder storageClass(String storageClass) {
            this.storageClass = storageClass;
            return this;
        }

        /** A client the host owns; it is not closed with the backend. */
        public Builder client(S3Client client) {
            this.client = Objects.requireNonNull(client, "client");
            this.ownsClient = false;
            return this;
        }

        Builder ownedClient(S3Client client, String endpoint) {
            this.client = client;
            this.ownsClient = true;
            this.endpointForMessages = endpoint;
            return this;
        }

        public Builder bucket(String bucket) {
            if (bucket == null || bucket.isBlank()) {
                throw new IllegalArgumentException("bucket must not be blank");
            }
            this.bucket = bucket;
            return this;
        }

        /** Key prefix of the repository inside the bucket (no leading or trailing slash needed). */
        public Builder prefix(String prefix) {
            this.prefix = prefix == null ? "" : prefix;
            return this;
        }

        /** Multipart part size, 5 MiB to 5 GiB (default 16 MiB). */
        public Builder partSize(int bytes) {
            if (bytes < (5 << 20)) {
                throw new IllegalArgumentException("S3 parts must be at least 5 MiB: " + bytes);
            }
            this.partSize = bytes;
            return this;
        }

        /** Parts in flight per upload (default 4). */
        public Builder concurrency(int parts) {
            if (parts < 1 || parts > 64) {
                throw new IllegalArgumentException("concurrency out of range: " + parts);
            }
            this.concurrency = parts;
            return this;
        }

        public S3StorageBackend build() {
            Objects.requireNonNull(client, "client");
            Objects.requireNonNull(bucket, "bucket");
            if (customerKey != null && sse != null) {
                throw new IllegalArgumentException("SSE-C (a customer key) and sse=" + sse + " exclude each other");
            }
            return new S3StorageBackend(this);
        }
    }
}
