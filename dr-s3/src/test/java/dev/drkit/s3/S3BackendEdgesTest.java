package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.Settings;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.spi.StorageBackend;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.core.ResponseInputStream;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.http.AbortableInputStream;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.CreateMultipartUploadResponse;
import software.amazon.awssdk.services.s3.model.DeleteObjectsRequest;
import software.amazon.awssdk.services.s3.model.DeleteObjectsResponse;
import software.amazon.awssdk.services.s3.model.GetObjectRequest;
import software.amazon.awssdk.services.s3.model.GetObjectResponse;
import software.amazon.awssdk.services.s3.model.HeadObjectRequest;
import software.amazon.awssdk.services.s3.model.HeadObjectResponse;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Response;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.PutObjectRequest;
import software.amazon.awssdk.services.s3.model.PutObjectResponse;
import software.amazon.awssdk.services.s3.model.S3Error;
import software.amazon.awssdk.services.s3.model.S3Exception;
import software.amazon.awssdk.services.s3.model.S3Object;
import software.amazon.awssdk.services.s3.model.UploadPartResponse;

/** S3StorageBackend against a scripted, sometimes hostile, S3 client: cut listings, ignored ranges, conflicts, odd delete errors, aborts, endpoints with credentials. */
class S3BackendEdgesTest {

    /** A tiny in-memory S3 whose answers a test may bend; only the calls the backend makes. */
    static class FakeS3 implements InvocationHandler {
        final Map<String, byte[]> objects = new ConcurrentHashMap<>();
        final List<String> calls = new CopyOnWriteArrayList<>();

        S3Client client() {
            return (S3Client)
                    Proxy.newProxyInstance(S3Client.class.getClassLoader(), new Class<?>[] {S3Client.class}, this);
        }

        @Override
        public Object invoke(Object proxy, Method m, Object[] args) throws Throwable {
            Object a0 = args == null || args.length == 0 ? null : args[0];
            switch (m.getName()) {
                case "close":
                    return null;
                case "headObject":
                    if (a0 instanceof HeadObjectRequest r) {
                        calls.add("head " + r.key());
                        return head(r);
                    }
                    break;
                case "putObject":
                    if (a0 instanceof PutObjectRequest r) {
                        calls.add("put " + r.key());
                        return put(
                                r,
                                ((RequestBody) args[1])
                                        .contentStreamProvider()
                                        .newStream()
                                        .readAllBytes());
                    }
                    break;
                case "getObject":
                    if (a0 instanceof GetObjectRequest r && args.length == 1) {
                        calls.add("get " + r.key() + " " + r.range());
                        return get(r);
                    }
                    break;
                case "listObjectsV2":
                    if (a0 instanceof ListObjectsV2Request r) {
                        calls.add("list " + r.prefix() + " " + r.continuationToken());
                        return list(r);
                    }
                    break;
                case "deleteObjects":
                    if (a0 instanceof DeleteObjectsRequest r) {
                        calls.add("deleteObjects " + r.delete().objects().size());
                        return deleteObjects(r);
                    }
                    break;
                default:
                    if (!m.isDefault()) {
                        break;
                    }
                    String name = m.getName();
                    if (a0 != null && a0.getClass().getName().endsWith("Request")) {
                        Object r = other(name, args);
                        if (r != NOT_HANDLED) {
                            return r;
                        }
                    }
                    return InvocationHandler.invokeDefault(proxy, m, args);
            }
            return InvocationHandler.invokeDefault(proxy, m, args);
        }

        static final Object NOT_HANDLED = new Object();

        Object other(String name, Object[] args) throws Exception {
            return NOT_HANDLED;
        }

        HeadObjectResponse head(HeadObjectRequest r) {
            byte[] o = objects.get(r.key());
            if (o == null) {
                throw NoSuchKeyException.builder()
                        .statusCode(404)
                        .message("Not Found")
                        .build();
            }
            return HeadObjectResponse.builder()
                    .contentLength((long) o.length)
                    .lastModified(Instant.now())
                    .build();
        }

        PutObjectResponse put(PutObjectRequest r, byte[] body) {
            if ("*".equals(r.ifNoneMatch()) && objects.containsKey(r.key())) {
                throw error(412, "PreconditionFailed");
            }
            objects.put(r.key(), body);
            return PutObjectResponse.builder().build();
        }

        ResponseInputStream<GetObjectResponse> get(GetObjectRequest r) {
            byte[] o = objects.get(r.key());
            if (o == null) {
                throw NoSuchKeyException.builder()
                        .statusCode(404)
                        .message("Not Found")
                        .build();
            }
            return new ResponseInputStream<>(
                    GetObjectResponse.builder().contentLength((long) o.length).build(),
                    AbortableInputStream.create(new ByteArrayInputStream(o)));
        }

        ListObjectsV2Response list(ListObjectsV2Request r) {
            List<S3Object> out = new ArrayList<>();
            new TreeMap<>(objects).forEach((k, v) -> {
                if (k.startsWith(r.prefix() == null ? "" : r.prefix())) {
                    out.add(S3Object.builder()
                            .key(k)
                            .size((long) v.length)
                            .lastModified(Instant.now())
                            .build());
                }
            });
            return ListObjectsV2Response.builder()
                    .contents(out)
                    .isTruncated(false)
                    .build();
        }

        DeleteObjectsResponse deleteObjects(DeleteObjectsRequest r) {
            r.delete().objects().forEach(o -> objects.remove(o.key()));
            return DeleteObjectsResponse.builder().build();
        }
    }

    static S3Exception error(int status, String code) {
        return (S3Exception) S3Exception.builder()
                .statusCode(status)
                .message(code + " (Service: S3, Status Code: " + status + ")")
                .awsErrorDetails(AwsErrorDetails.builder()
                        .errorCode(code)
                        .errorMessage(code)
                        .build())
                .build();
    }

    static S3StorageBackend backend(FakeS3 fake) {
        return S3StorageBackend.builder()
                .client(fake.client())
                .bucket("b")
                .prefix("repo")
                .build();
    }

    /**
     * (c) A server (or a proxy in front of one) that says IsTruncated=true but gives no
     * NextContinuationToken: the SDK's paginator stops after the first page, and list() returns
     * half the keys as if they were all. list() must be complete: callers decide what is
     * unreferenced (and delete it) from listings.
     */
    @Test
    void aTruncatedListingWithoutAContinuationTokenIsNotTakenAsComplete() throws Exception {
        FakeS3 fake = new FakeS3() {
            @Override
            ListObjectsV2Response list(ListObjectsV2Request r) {
                ListObjectsV2Response all = super.list(r);
                // first page of 1000, claims there is more, forgets the token
                return all.toBuilder()
                        .contents(all.contents().subList(0, 1000))
                        .isTruncated(true)
                        .keyCount(1000)
                        .build();
            }
        };
        for (int i = 0; i < 1500; i++) {
            fake.objects.put(String.format("repo/packs/%05d.pack", i), new byte[1]);
        }
        S3StorageBackend backend = backend(fake);
        assertThatThrownBy(() -> backend.list("packs/"))
                .as("a listing the server said was cut short")
                .isInstanceOf(IOException.class);
    }

    /**
     * (g) A server that ignores Range (HTTP lets a server answer 200 with the whole object)
     * or answers another range than asked: open(key, offset, length) hands the caller the
     * object's first bytes (and all of them) as if they were the bytes at offset.
     */
    @Test
    void aRangeTheServerIgnoredIsNotServedAsTheRangeAsked() throws Exception {
        FakeS3 fake = new FakeS3(); // get() ignores r.range(), as a server may
        byte[] data = new byte[100];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) i;
        }
        fake.objects.put("repo/packs/p.pack", data);
        S3StorageBackend backend = backend(fake);
        byte[] read;
        try (InputStream in = backend.open("packs/p.pack", 40, 10)) {
            read = in.readAllBytes();
        } catch (IOException refused) {
            return; // detected: fine
        }
        assertThat(read).as("bytes 40..49").isEqualTo(Arrays.copyOfRange(data, 40, 50));
    }

    @Test
    void anOffsetTheServerIgnoredIsNotServedAsTheTail() throws Exception {
        FakeS3 fake = new FakeS3();
        byte[] data = new byte[100];
        for (int i = 0; i < data.length; i++) {
            data[i] = (byte) i;
        }
        fake.objects.put("repo/wal/seg", data);
        S3StorageBackend backend = backend(fake);
        byte[] read;
        try (InputStream in = backend.open("wal/seg", 90)) {
            read = in.readAllBytes();
        } catch (IOException refused) {
            return;
        }
        assertThat(read).as("bytes 90..99").isEqualTo(Arrays.copyOfRange(data, 90, 100));
    }

    /**
     * (a) 409 ConditionalRequestConflict: AWS's answer to a conditional write that raced another
     * request on the key (a concurrent conditional write or a delete), to be retried. It does not
     * mean an object is there: createIfAbsent answers "an object was already there" while there is
     * none, and a manifest/pack index write then fails as "already exists".
     */
    @Test
    void aConflictThatLeftNoObjectIsNotAnsweredAsAlreadyThere() throws Exception {
        FakeS3 fake = new FakeS3() {
            boolean first = true;

            @Override
            PutObjectResponse put(PutObjectRequest r, byte[] body) {
                if (first) {
                    first = false;
                    throw error(409, "ConditionalRequestConflict");
                }
                return super.put(r, body);
            }
        };
        S3StorageBackend backend = backend(fake);
        boolean created = backend.createIfAbsent("locks/x.json", new byte[] {1});
        if (!created) {
            assertThat(backend.stat("locks/x.json"))
                    .as("createIfAbsent said an object was already there")
                    .isPresent();
        }
    }

    /**
     * (d) deleteAll: a DeleteObjects error whose key is not one of the repository's (a hostile or
     * buggy server; or an error without a key) makes the report itself crash with a
     * RuntimeException instead of the IOException the caller handles.
     */
    @Test
    void aDeleteErrorForAnOddKeyIsStillAStorageFailure() {
        FakeS3 fake = new FakeS3() {
            @Override
            DeleteObjectsResponse deleteObjects(DeleteObjectsRequest r) {
                return DeleteObjectsResponse.builder()
                        .errors(S3Error.builder()
                                .key("x")
                                .code("InternalError")
                                .message("We encountered an internal error")
                                .build())
                        .build();
            }
        };
        S3StorageBackend backend = backend(fake);
        assertThatThrownBy(() -> backend.deleteAll(List.of("a", "b"))).isInstanceOf(IOException.class);
    }

    /**
     * (b) Closing an upload while a part is on the wire: close() cancels the part futures and
     * aborts the multipart upload at once, without waiting for the part PUT that is still
     * running (socket I/O does not stop on interrupt). AWS: "if any part uploads are currently in
     * progress, those part uploads might or might not succeed ... it might be necessary to abort a
     * given multipart upload multiple times in order to completely free all storage".
     */
    @Test
    void anAbortWaitsForThePartsStillInFlight() throws Exception {
        CountDownLatch partStarted = new CountDownLatch(1);
        CountDownLatch releasePart = new CountDownLatch(1);
        List<String> events = new CopyOnWriteArrayList<>();
        FakeS3 fake = new FakeS3() {
            @Override
            Object other(String name, Object[] args) throws Exception {
                switch (name) {
                    case "createMultipartUpload":
                        return CreateMultipartUploadResponse.builder()
                                .uploadId("u1")
                                .build();
                    case "uploadPart":
                        events.add("part started");
                        partStarted.countDown();
                        // a blocking socket write: interrupts do not stop it
                        while (true) {
                            try {
                                if (releasePart.await(5, TimeUnit.SECONDS)) {
                                    break;
                                }
                                break;
                            } catch (InterruptedException ignored) {
                                events.add("part interrupted, still sending");
                            }
                        }
                        events.add("part landed");
                        return UploadPartResponse.builder().eTag("e").build();
                    case "abortMultipartUpload":
                        events.add("abort");
                        releasePart.countDown(); // lets the part land after the abort
                        return null;
                    default:
                        return NOT_HANDLED;
                }
            }
        };
        S3StorageBackend backend = S3StorageBackend.builder()
                .client(fake.client())
                .bucket("b")
                .prefix("repo")
                .partSize(5 << 20)
                .build();
        ObjectUpload upload = backend.create("big");
        upload.stream().write(new byte[(5 << 20) + 1]); // one part goes up
        assertThat(partStarted.await(5, TimeUnit.SECONDS)).isTrue();
        upload.close();
        Thread.sleep(200);
        assertThat(events.indexOf("part landed"))
                .as("the part landed before the abort, not after it: " + events)
                .isLessThan(events.indexOf("abort"));
    }

    /**
     * (f) describe() must never hold credentials: an endpoint given with user info (as MinIO
     * and Ceph gateways are often written down, http://ACCESS:SECRET@host:9000) goes verbatim into
     * every message and log line.
     */
    @Test
    void describeDoesNotShowCredentialsOfTheEndpoint() throws Exception {
        try (StorageBackend b = new S3StorageBackendProvider()
                .create(
                        URI.create("s3://bucket/prefix?region=eu-west-1&endpoint="
                                + "http://AKIAEXAMPLE:wJalrXUtnFEMIsecret@minio.internal:9000"),
                        Settings.empty())) {
            assertThat(b.describe()).doesNotContain("wJalrXUtnFEMIsecret").doesNotContain("@");
        }
    }

    @Test
    void describeDoesNotShowQueryParametersOfTheEndpoint() throws Exception {
        try (StorageBackend b = new S3StorageBackendProvider()
                .create(
                        URI.create("s3://bucket/prefix?region=eu-west-1&endpoint="
                                + "https://gw.internal:9000/%3FX-Amz-Security-Token%3DFQoGZXIvYXdzEtoken"),
                        Settings.empty())) {
            assertThat(b.describe()).doesNotContain("FQoGZXIvYXdzEtoken");
        }
    }
}
