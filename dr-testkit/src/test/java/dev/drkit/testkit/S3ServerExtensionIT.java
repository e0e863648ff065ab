package dev.drkit.testkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.lang.reflect.Proxy;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.URI;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.RegisterExtension;

/** The S3 server extension starts once per test class, before its @BeforeAll, and closes after it. */
class S3ServerExtensionIT {
    @RegisterExtension
    static final S3ServerExtension s3 = new S3ServerExtension("backups", "archive");

    static URI endpointSeenInBeforeAll;

    @BeforeAll
    static void serverRunsBeforeTheClassSetUp() {
        endpointSeenInBeforeAll = s3.endpoint();
    }

    @Test
    void serverRunsThroughoutTheClass() {
        assertThat(endpointSeenInBeforeAll).isEqualTo(s3.endpoint());
        assertThat(accepting(s3.endpoint())).isTrue();
        assertThat(s3.accessKey()).isNotBlank();
        assertThat(s3.secretKey()).isNotBlank().isNotEqualTo(s3.accessKey());
    }

    @Nested
    class Inner {
        @Test
        void nestedClassesShareTheOuterServer() {
            assertThat(s3.endpoint()).isEqualTo(endpointSeenInBeforeAll);
            assertThat(accepting(s3.endpoint())).isTrue();
        }
    }

    @Test
    void closesOnlyAfterTheClassThatStartedIt() throws Exception {
        S3ServerExtension ext = new S3ServerExtension("one");
        ExtensionContext outer = context("[engine:junit-jupiter]/[class:Outer]");
        ExtensionContext nested = context("[engine:junit-jupiter]/[class:Outer]/[nested-class:Inner]");

        ext.beforeAll(outer);
        URI endpoint = ext.endpoint();
        ext.beforeAll(nested);
        assertThat(ext.endpoint()).isEqualTo(endpoint);
        ext.afterAll(nested);
        assertThat(accepting(endpoint)).isTrue();

        ext.afterAll(outer);
        assertThat(accepting(endpoint)).isFalse();
        assertThatThrownBy(ext::server)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("not running")
                .hasMessageContaining("static field");
    }

    @Test
    void accessorsOfAnExtensionNotStartedSayWhy() {
        S3ServerExtension ext = new S3ServerExtension();
        assertThatThrownBy(ext::endpoint)
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("register S3ServerExtension on a static field");
    }

    private static ExtensionContext context(String uniqueId) {
        return (ExtensionContext) Proxy.newProxyInstance(
                S3ServerExtensionIT.class.getClassLoader(),
                new Class<?>[] {ExtensionContext.class},
                (proxy, method, args) -> {
                    if (method.getName().equals("getUniqueId")) {
                        return uniqueId;
                    }
                    throw new UnsupportedOperationException(method.getName());
                });
    }

    private static boolean accepting(URI endpoint) {
        try (Socket s = new Socket()) {
            s.connect(new InetSocketAddress(endpoint.getHost(), endpoint.getPort()), 500);
            return true;
        } catch (IOException e) {
            return false;
        }
    }
}
