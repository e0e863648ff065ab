package dev.drkit.s3;

import java.io.IOException;
import java.net.SocketException;
import software.amazon.awssdk.http.ExecutableHttpRequest;
import software.amazon.awssdk.http.HttpExecuteRequest;
import software.amazon.awssdk.http.HttpExecuteResponse;
import software.amazon.awssdk.http.SdkHttpClient;
import software.amazon.awssdk.http.apache.ApacheHttpClient;

/**
 * An HTTP client for the SDK that forwards every request to the real server and lets a test
 * change the answer on its way back: lose it, damage its body. What the server did stays done.
 */
abstract class FaultyHttpClient implements SdkHttpClient {
    private final SdkHttpClient delegate = ApacheHttpClient.create();

    /** The answer the SDK gets for {@code request}, which the server answered with {@code response}. */
    abstract HttpExecuteResponse answer(HttpExecuteRequest request, HttpExecuteResponse response) throws IOException;

    /** Throws the answer away and fails as a reset connection would: the server applied the request, the client never heard. */
    static HttpExecuteResponse lose(HttpExecuteResponse response) throws IOException {
        if (response.responseBody().isPresent()) {
            response.responseBody().get().readAllBytes();
            response.responseBody().get().close();
        }
        throw new SocketException("Connection reset (the response was lost)");
    }

    @Override
    public ExecutableHttpRequest prepareRequest(HttpExecuteRequest request) {
        ExecutableHttpRequest real = delegate.prepareRequest(request);
        return new ExecutableHttpRequest() {
            @Override
            public HttpExecuteResponse call() throws IOException {
                return answer(request, real.call());
            }

            @Override
            public void abort() {
                real.abort();
            }
        };
    }

    @Override
    public void close() {
        delegate.close();
    }
}
