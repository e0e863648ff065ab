package dev.drkit.minio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.spi.StorageIOException;
import dev.drkit.spi.StorageIOException.Reason;
import io.minio.MinioClient;
import io.minio.errors.ErrorResponseException;
import io.minio.errors.InvalidResponseException;
import io.minio.errors.ServerException;
import io.minio.messages.ErrorResponse;
import java.net.SocketException;
import java.net.UnknownHostException;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.Test;

/** How MinIO's failures become storage failures: reason and retryability, from error code, status and cause. */
class MinioStorageFailureTest {

    private static ErrorResponseException answer(int status, String code) {
        Response response = new Response.Builder()
                .request(new Request.Builder().url("http://minio.test/b/k").build())
                .protocol(Protocol.HTTP_1_1)
                .code(status)
                .message(code)
                .build();
        return new ErrorResponseException(
                new ErrorResponse(code, code + " message", "b", "k", "/b/k", "req", "host"), response, "trace");
    }

    @Test
    void answersOfTheServerMapByCodeAndStatus() {
        assertThat(MinioStorageBackend.reason(answer(403, "AccessDenied"))).isEqualTo(Reason.ACCESS_DENIED);
        assertThat(MinioStorageBackend.reason(answer(403, "InvalidAccessKeyId")))
                .isEqualTo(Reason.ACCESS_DENIED);
        assertThat(MinioStorageBackend.reason(answer(403, "SignatureDoesNotMatch")))
                .isEqualTo(Reason.ACCESS_DENIED);
        assertThat(MinioStorageBackend.reason(answer(404, "NoSuchBucket"))).isEqualTo(Reason.NOT_FOUND);
        assertThat(MinioStorageBackend.reason(answer(400, "InvalidArgument"))).isEqualTo(Reason.REJECTED);
        assertThat(MinioStorageBackend.reason(answer(409, "BucketNotEmpty"))).isEqualTo(Reason.REJECTED);
        assertThat(MinioStorageBackend.reason(answer(503, "SlowDownWrite"))).isEqualTo(Reason.UNAVAILABLE);
        assertThat(MinioStorageBackend.reason(answer(500, "InternalError"))).isEqualTo(Reason.UNAVAILABLE);
        assertThat(MinioStorageBackend.reason(answer(400, "RequestTimeout"))).isEqualTo(Reason.UNAVAILABLE);
        assertThat(MinioStorageBackend.reason(answer(429, "Whatever"))).isEqualTo(Reason.UNAVAILABLE);
        assertThat(MinioStorageBackend.reason(new ServerException("bad gateway", 502, "trace")))
                .isEqualTo(Reason.UNAVAILABLE);
        assertThat(MinioStorageBackend.reason(new InvalidResponseException(403, "text/html", "<html>", "trace")))
                .isEqualTo(Reason.ACCESS_DENIED);
        assertThat(MinioStorageBackend.reason(new InvalidResponseException(502, "text/html", "<html>", "trace")))
                .isEqualTo(Reason.UNAVAILABLE);
    }

    @Test
    void requestsWithoutAnAnswerMapByTheirCause() {
        assertThat(MinioStorageBackend.reason(new SocketException("Connection reset")))
                .isEqualTo(Reason.UNAVAILABLE);
        assertThat(MinioStorageBackend.reason(new UnknownHostException("minio.invalid")))
                .isEqualTo(Reason.NOT_FOUND);
        assertThat(MinioStorageBackend.reason(new IllegalStateException("odd"))).isEqualTo(Reason.OTHER);
    }

    @Test
    void anUnreachableServerIsARetryableStorageFailure() {
        MinioClient client = MinioClient.builder()
                .endpoint("http://127.0.0.1:1")
                .credentials("access", "secret-key")
                .region("us-east-1")
                .build();
        MinioStorageBackend backend = MinioStorageBackend.of(client, "backups", "p", 16L << 20);
        assertThatThrownBy(() -> backend.stat("drkit-repository.json"))
                .isInstanceOfSatisfying(StorageIOException.class, e -> {
                    assertThat(e.retryable()).isTrue();
                    assertThat(e.reason()).isEqualTo(Reason.UNAVAILABLE);
                })
                .hasMessageContaining("checking p/drkit-repository.json")
                .hasMessageNotContaining("secret-key");
        backend.close();
    }
}
