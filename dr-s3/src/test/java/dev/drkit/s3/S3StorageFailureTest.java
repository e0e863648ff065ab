package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.spi.StorageIOException;
import dev.drkit.spi.StorageIOException.Reason;
import java.lang.reflect.Proxy;
import java.net.ConnectException;
import java.net.SocketException;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.awscore.exception.AwsErrorDetails;
import software.amazon.awssdk.core.exception.ApiCallTimeoutException;
import software.amazon.awssdk.core.exception.SdkClientException;
import software.amazon.awssdk.core.exception.SdkException;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.model.S3Exception;

/** How S3's failures become storage failures: reason and retryability, from status, error code and cause. */
class S3StorageFailureTest {

    private static S3Exception answer(int status, String code) {
        return (S3Exception) S3Exception.builder()
                .statusCode(status)
                .message(code + " (Status Code: " + status + ")")
                .awsErrorDetails(AwsErrorDetails.builder()
                        .errorCode(code)
                        .errorMessage(code)
                        .build())
                .build();
    }

    private static SdkClientException noAnswer(Throwable cause) {
        return SdkClientException.builder()
                .message("Unable to execute HTTP request: " + cause.getMessage())
                .cause(cause)
                .build();
    }

    private static void assertMapped(SdkException e, Reason reason, boolean retryable) {
        assertThat(S3StorageBackend.reason(e)).as(e.getMessage()).isEqualTo(reason);
        assertThat(S3StorageBackend.retryable(e)).as(e.getMessage()).isEqualTo(retryable);
    }

    @Test
    void answersOfTheServerMapByStatusAndCode() {
        assertMapped(answer(403, "AccessDenied"), Reason.ACCESS_DENIED, false);
        assertMapped(answer(403, "InvalidAccessKeyId"), Reason.ACCESS_DENIED, false);
        assertMapped(answer(403, "SignatureDoesNotMatch"), Reason.ACCESS_DENIED, false);
        assertMapped(answer(401, "Unauthorized"), Reason.ACCESS_DENIED, false);
        assertMapped(answer(404, "NoSuchBucket"), Reason.NOT_FOUND, false);
        assertMapped(answer(400, "InvalidRequest"), Reason.REJECTED, false);
        assertMapped(answer(409, "BucketAlreadyOwnedByYou"), Reason.REJECTED, false);
        assertMapped(answer(501, "NotImplemented"), Reason.REJECTED, false);
        assertMapped(answer(500, "InternalError"), Reason.UNAVAILABLE, true);
        assertMapped(answer(503, "SlowDown"), Reason.UNAVAILABLE, true);
        assertMapped(answer(429, "TooManyRequests"), Reason.UNAVAILABLE, true);
        // transient whatever their status says
        assertMapped(answer(400, "RequestTimeout"), Reason.UNAVAILABLE, true);
        assertMapped(answer(409, "OperationAborted"), Reason.UNAVAILABLE, true);
    }

    @Test
    void requestsWithoutAnAnswerMapByTheirCause() {
        assertMapped(noAnswer(new SocketException("Connection reset")), Reason.UNAVAILABLE, true);
        assertMapped(noAnswer(new ConnectException("Connection refused")), Reason.UNAVAILABLE, true);
        assertMapped(ApiCallTimeoutException.create(Duration.ofSeconds(5).toMillis()), Reason.UNAVAILABLE, true);
        assertMapped(noAnswer(new UnknownHostException("s3.nowhere.invalid")), Reason.NOT_FOUND, false);
        assertMapped(
                SdkClientException.create("Unable to load credentials from any of the providers in the chain"),
                Reason.ACCESS_DENIED,
                false);
        assertMapped(SdkClientException.builder().message("odd").build(), Reason.OTHER, false);
    }

    /** A client whose every call fails with {@code failure}. */
    private static S3Client failing(SdkException failure) {
        return (S3Client) Proxy.newProxyInstance(
                S3Client.class.getClassLoader(), new Class<?>[] {S3Client.class}, (proxy, method, args) -> {
                    if (method.getName().equals("close")) {
                        return null;
                    }
                    throw failure;
                });
    }

    @Test
    void aRefusedRequestIsNotRetryableAndNamesTheCredentialSettings() {
        S3StorageBackend backend = S3StorageBackend.builder()
                .client(failing(answer(403, "AccessDenied")))
                .bucket("backups")
                .prefix("p")
                .build();
        assertThatThrownBy(() -> backend.stat("drkit-repository.json"))
                .isInstanceOfSatisfying(StorageIOException.class, e -> {
                    assertThat(e.retryable()).isFalse();
                    assertThat(e.reason()).isEqualTo(Reason.ACCESS_DENIED);
                })
                .hasMessageContaining("s3://backups/p")
                .hasMessageContaining("AccessDenied")
                .hasMessageContaining("storage.credentials-file")
                .hasMessageContaining("bucket backups")
                .hasMessageNotContaining("--");
    }

    @Test
    void noCredentialsAtAllIsSaidInAFewWordsRatherThanTheSdksDumpOfItsChain() {
        // the SDK's words when the default chain finds nothing: every provider's class and its reason
        SdkClientException none = SdkClientException.builder()
                .message("Unable to load credentials from any of the providers in the chain "
                        + "AwsCredentialsProviderChain(credentialsProviders=[SystemPropertyCredentialsProvider(), "
                        + "EnvironmentVariableCredentialsProvider(), ProfileCredentialsProvider(profileName=default), "
                        + "InstanceProfileCredentialsProvider()]) : [SystemPropertyCredentialsProvider(): Unable to "
                        + "load credentials from system settings. Access key must be specified either via environment "
                        + "variable (AWS_ACCESS_KEY_ID) or system property (aws.accessKeyId)., "
                        + "ProfileCredentialsProvider(profileName=default): Profile file contained no credentials for "
                        + "profile 'default': ProfileFile(sections=[]), InstanceProfileCredentialsProvider(): Failed to "
                        + "load credentials from IMDS.]")
                .build();
        S3StorageBackend backend = S3StorageBackend.builder()
                .client(failing(none))
                .bucket("backups")
                .prefix("p")
                .build();
        assertThatThrownBy(() -> backend.stat("drkit-repository.json"))
                .isInstanceOfSatisfying(
                        StorageIOException.class, e -> assertThat(e.reason()).isEqualTo(Reason.ACCESS_DENIED))
                .hasMessageContaining("s3://backups/p")
                .hasMessageContaining("no credentials")
                .hasMessageContaining("AWS_ACCESS_KEY_ID")
                .hasMessageContaining("storage.credentials-file")
                .hasMessageNotContaining("Provider")
                .hasMessageNotContaining("ProfileFile(")
                .hasMessageNotContaining("IMDS");
    }

    @Test
    void anUnavailableServerIsRetryableOnEveryPath() throws Exception {
        S3StorageBackend backend = S3StorageBackend.builder()
                .client(failing(answer(503, "SlowDown")))
                .bucket("backups")
                .build();
        for (ThrowingCall call : new ThrowingCall[] {
            () -> backend.stat("k"),
            () -> backend.list("backups/"),
            () -> backend.open("k", 0),
            () -> backend.delete("k"),
            () -> backend.createIfAbsent("k", new byte[1]),
            () -> backend.deleteAll(List.of("a", "b")),
            () -> backend.cleanIncompleteUploads(Duration.ZERO)
        }) {
            assertThatThrownBy(call::run)
                    .isInstanceOfSatisfying(
                            StorageIOException.class,
                            e -> assertThat(e.retryable()).isTrue());
        }
    }

    interface ThrowingCall {
        void run() throws Exception;
    }
}
