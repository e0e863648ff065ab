package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrKit;
import dev.drkit.TargetSpec;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.testkit.S3ServerExtension;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.retries.StandardRetryStrategy;
import software.amazon.awssdk.services.s3.S3Client;

/** S3StorageBackend against S3Proxy: responses lost to a conditional PUT, reads at the end, control characters in keys. */
class S3LostResponseIT {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension("backups");

    static S3Client direct;

    @TempDir
    Path dir;

    @BeforeAll
    static void start() {
        direct = TestClients.s3(s3.endpoint(), s3.accessKey(), s3.secretKey()).build();
    }

    @AfterAll
    static void stop() {
        direct.close();
    }

    /**
     * An HTTP client that forwards every request to the server, but for the first PUT matching
     * {@code lose} throws the response away and fails as a reset connection would: the server
     * applied the write, the client never heard. The SDK's standard retry then sends it again.
     */
    static final class LosingHttpClient extends FaultyHttpClient {
        final Predicate<String> lose;
        final List<String> lost = new CopyOnWriteArrayList<>();

        LosingHttpClient(Predicate<String> lose) {
            this.lose = lose;
        }

        @Override
        HttpExecuteResponse answer(HttpExecuteRequest request, HttpExecuteResponse response) throws IOException {
            String path = request.httpRequest().encodedPath();
            boolean put = request.httpRequest().method() == SdkHttpMethod.PUT
                    && request.httpRequest().rawQueryParameters().isEmpty();
            synchronized (lost) {
                if (put && lose.test(path) && !lost.contains(path)) {
                    lost.add(path);
                    return lose(response);
                }
            }
            return response;
        }
    }

    private static S3Client losing(LosingHttpClient http) {
        return TestClients.s3(s3.endpoint(), s3.accessKey(), s3.secretKey())
                .httpClient(http)
                .overrideConfiguration(c -> c.retryStrategy(
                        StandardRetryStrategy.builder().maxAttempts(3).build()))
                .build();
    }

    /**
     * (a) The PUT of createIfAbsent lands, its response is lost, the SDK retries and the retry
     * meets If-None-Match: 412. This call created the object, and the backend says it did not.
     */
    @Test
    void createIfAbsentWhoseResponseWasLostSaysItCreatedTheObject() throws Exception {
        String prefix = "lost-" + UUID.randomUUID();
        LosingHttpClient http = new LosingHttpClient(p -> p.endsWith("/record.json"));
        try (S3Client client = losing(http)) {
            S3StorageBackend backend = S3StorageBackend.builder()
                    .client(client)
                    .bucket("backups")
                    .prefix(prefix)
                    .build();
            byte[] content = "mine".getBytes(StandardCharsets.UTF_8);
            boolean created = backend.createIfAbsent("record.json", content);
            assertThat(http.lost).hasSize(1); // the fault did happen
            try (InputStream in = backend.open("record.json", 0)) {
                assertThat(in.readAllBytes()).isEqualTo(content); // the object is ours
            }
            assertThat(created)
                    .as("createIfAbsent of an object this very call wrote")
                    .isTrue();
        }
    }

    /** (a) Same for a small upload's commit: the commit wrote the object and then throws FileAlreadyExists. */
    @Test
    void commitWhoseResponseWasLostSucceeds() throws Exception {
        String prefix = "lost-" + UUID.randomUUID();
        LosingHttpClient http = new LosingHttpClient(p -> p.endsWith("/artifact.bin"));
        try (S3Client client = losing(http)) {
            S3StorageBackend backend = S3StorageBackend.builder()
                    .client(client)
                    .bucket("backups")
                    .prefix(prefix)
                    .build();
            ObjectUpload upload = backend.create("artifact.bin");
            upload.stream().write(new byte[1000]);
            upload.commit(); // throws FileAlreadyExistsException although the object is this upload's
        }
    }

    /**
     * (a), the callers: one lost response to the PUT of a backup's manifest (or its checksum
     * file, or a pack's index, or an artifact's sidecar) fails the whole backup, with a message
     * that another writer made the object, though nobody else touched the repository.
     */
    @Test
    void aBackupSurvivesALostResponseToTheManifestPut() throws Exception {
        String prefix = "lost-" + UUID.randomUUID();
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.writeString(data.resolve("a.txt"), "hello");
        LosingHttpClient http = new LosingHttpClient(p -> p.endsWith("/manifest.json"));
        try (S3Client client = losing(http)) {
            S3StorageBackend backend = S3StorageBackend.builder()
                    .client(client)
                    .bucket("backups")
                    .prefix(prefix)
                    .build();
            try (DrKit kit = DrKit.builder().storage(backend).build()) {
                kit.backup(TargetSpec.files("data", data.toString()));
                assertThat(kit.list("data")).hasSize(1);
            }
        }
    }

    /**
     * (g) Reading from an offset at the end of an object: zero bytes, as the contract's "fewer
     * when the object ends first" and the file backend give. S3 answers 416 to a range that starts
     * at the size, and the backend turns that into a storage failure.
     */
    @Test
    void aReadAtTheEndOfAnObjectIsEmptyNotAFailure() throws Exception {
        S3StorageBackend backend = S3StorageBackend.builder()
                .client(direct)
                .bucket("backups")
                .prefix("end-" + UUID.randomUUID())
                .build();
        backend.createIfAbsent("ten", new byte[10]);
        try (InputStream in = backend.open("ten", 10)) {
            assertThat(in.readAllBytes()).isEmpty();
        }
        try (InputStream in = backend.open("ten", 10, 5)) {
            assertThat(in.readAllBytes()).isEmpty();
        }
    }

    /**
     * (c) One key under the repository's prefix with a character XML 1.0 cannot carry (a
     * control character: ObjectKeys takes it, and anyone who may write into the bucket can put
     * it there) makes every listing of that prefix fail: the SDK asks without encoding-type=url,
     * the XML cannot be parsed. list("backups/") failing stops backups' catalogs, prune, check.
     */
    @Test
    void aControlCharacterInAKeyDoesNotBreakListings() throws Exception {
        S3StorageBackend b = S3StorageBackend.builder()
                .client(direct)
                .bucket("backups")
                .prefix("ctl-" + UUID.randomUUID())
                .build();
        b.createIfAbsent("a/ok", new byte[] {2});
        b.createIfAbsent("a/bell\u0007name", new byte[] {2});
        assertThat(b.list("a/")).extracting(ObjectInfo::key).contains("a/ok");
    }
}
