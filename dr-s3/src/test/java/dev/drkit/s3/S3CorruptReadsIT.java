package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.storage.FileStorageBackend;
import dev.drkit.testkit.S3ServerExtension;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.RegisterExtension;
import org.junit.jupiter.api.io.TempDir;
import software.amazon.awssdk.http.AbortableInputStream;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpMethod;
import software.amazon.awssdk.services.s3.S3Client;

/**
 * GET bodies that arrive damaged. The first GET of each matching object has one byte
 * flipped (FLIP), or ends early as a dropped connection does with its Content-Length kept
 * (TRUNCATE). Nothing read may be taken for the backup's bytes, and a connection that broke
 * must not be reported as a damaged backup.
 */
class S3CorruptReadsIT {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension("backups");

    @TempDir
    Path dir;

    enum Fault {
        FLIP,
        TRUNCATE
    }

    static final class DamagingHttpClient extends FaultyHttpClient {
        final Fault fault;
        final Predicate<String> matches;
        final Set<String> damaged = ConcurrentHashMap.newKeySet();

        DamagingHttpClient(Fault fault, Predicate<String> matches) {
            this.fault = fault;
            this.matches = matches;
        }

        @Override
        HttpExecuteResponse answer(HttpExecuteRequest request, HttpExecuteResponse response) {
            String path = request.httpRequest().encodedPath();
            boolean get = request.httpRequest().method() == SdkHttpMethod.GET
                    && request.httpRequest().rawQueryParameters().isEmpty()
                    && matches.test(path);
            int status = response.httpResponse().statusCode();
            if (!get
                    || (status != 200 && status != 206)
                    || response.responseBody().isEmpty()
                    || !damaged.add(path)) {
                return response;
            }
            AbortableInputStream body = response.responseBody().get();
            InputStream bad = new FilterInputStream(body) {
                long pos;

                @Override
                public int read() throws IOException {
                    byte[] one = new byte[1];
                    return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
                }

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (fault == Fault.TRUNCATE && pos >= 100) {
                        throw new IOException("Premature end of Content-Length delimited message body");
                    }
                    int n = in.read(b, off, len);
                    if (n > 0 && fault == Fault.FLIP && pos <= 100 && pos + n > 100) {
                        b[off + (int) (100 - pos)] ^= 0x01;
                    }
                    if (n > 0) {
                        pos += n;
                    }
                    return n;
                }
            };
            return HttpExecuteResponse.builder()
                    .response(response.httpResponse())
                    .responseBody(AbortableInputStream.create(bad, body))
                    .build();
        }
    }

    private Path data() throws IOException {
        Path d = Files.createDirectories(dir.resolve("data"));
        byte[] bytes = new byte[3 << 20];
        new Random(3).nextBytes(bytes);
        Files.write(d.resolve("blob.bin"), bytes);
        Files.writeString(d.resolve("a.txt"), "hello ".repeat(1000));
        return d;
    }

    private S3StorageBackend backend(S3Client client, String prefix) {
        return S3StorageBackend.builder()
                .client(client)
                .bucket("backups")
                .prefix(prefix)
                .build();
    }

    private static boolean data(String path) {
        return path.contains("/chunks/packs/")
                || (path.contains("/backups/data/") && !path.endsWith(".json") && !path.endsWith(".sha256"));
    }

    /** A byte flipped in transit while copying to another repository: the copy must fail, or be right. */
    @Test
    void aCopyDoesNotStoreBytesThatWereDamagedOnTheWay() throws Exception {
        for (boolean dedup : new boolean[] {false, true}) {
            String prefix = "flip-" + UUID.randomUUID();
            Path data = data();
            DamagingHttpClient http = new DamagingHttpClient(Fault.FLIP, S3CorruptReadsIT::data);
            try (S3Client clean = TestClients.s3(s3.endpoint(), s3.accessKey(), s3.secretKey())
                            .build();
                    S3Client flipping = TestClients.s3(s3.endpoint(), s3.accessKey(), s3.secretKey())
                            .httpClient(http)
                            .build()) {
                String id;
                try (DrKit kit = DrKit.builder()
                        .storage(backend(clean, prefix))
                        .dedup(dedup)
                        .build()) {
                    id = kit.backup(TargetSpec.files("data", data.toString())).id();
                }
                Path copyTo = dir.resolve("copy-" + dedup);
                boolean copied;
                try (DrKit kit = DrKit.builder()
                        .storage(backend(flipping, prefix))
                        .dedup(dedup)
                        .build()) {
                    kit.copy("data", id, false, new FileStorageBackend(copyTo));
                    copied = true;
                } catch (DrException e) {
                    copied = false;
                }
                assertThat(http.damaged)
                        .as("the fault happened (dedup=" + dedup + ")")
                        .isNotEmpty();
                if (copied) {
                    try (DrKit there = DrKit.builder()
                            .storage(new FileStorageBackend(copyTo))
                            .build()) {
                        VerifyReport report = there.verify("data", id, VerifyLevel.DECODE);
                        assertThat(report.passed())
                                .as("the copy reported success (dedup=" + dedup + "), its backup: " + report.problems())
                                .isTrue();
                    }
                }
            }
        }
    }

    /** A connection that dropped mid-body while verifying: a storage failure, not "the backup is damaged". */
    @Test
    void aDroppedConnectionWhileVerifyingDoesNotCallTheBackupDamaged() throws Exception {
        String prefix = "trunc-" + UUID.randomUUID();
        Path data = data();
        DamagingHttpClient http = new DamagingHttpClient(Fault.TRUNCATE, S3CorruptReadsIT::data);
        try (S3Client clean = TestClients.s3(s3.endpoint(), s3.accessKey(), s3.secretKey())
                        .build();
                S3Client cutting = TestClients.s3(s3.endpoint(), s3.accessKey(), s3.secretKey())
                        .httpClient(http)
                        .build()) {
            BackupResult b;
            try (DrKit kit = DrKit.builder().storage(backend(clean, prefix)).build()) {
                b = kit.backup(TargetSpec.files("data", data.toString()));
            }
            try (DrKit kit = DrKit.builder().storage(backend(cutting, prefix)).build()) {
                Throwable failure = null;
                VerifyReport report = null;
                try {
                    report = kit.verify("data", b.id(), VerifyLevel.DECODE);
                } catch (DrException e) {
                    failure = e;
                }
                assertThat(http.damaged).as("the fault happened").isNotEmpty();
                if (report != null) {
                    assertThat(String.join("\n", report.problems()))
                            .as("verify's findings for a connection that broke")
                            .doesNotContainIgnoringCase("damaged")
                            .doesNotContainIgnoringCase("corrupt")
                            .doesNotContainIgnoringCase("checksum");
                } else {
                    assertThat(failure.getMessage()).doesNotContainIgnoringCase("damaged");
                }
            }
        }
    }
}
