package dev.drkit.testkit;

import java.net.URI;
import java.util.List;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/**
 * An {@link S3Server} for one test class, as a JUnit 5 extension: it starts before the class's
 * {@code @BeforeAll} methods, creates the buckets it was given, and closes after the class's
 * {@code @AfterAll} methods, so a client built in {@code @BeforeAll} can be closed in
 * {@code @AfterAll} while the server still runs. Register it on a static field:
 *
 * <pre>{@code
 * @RegisterExtension
 * static final S3ServerExtension s3 = new S3ServerExtension("backups");
 * }</pre>
 *
 * <p>The server is started once per test class; {@code @Nested} classes share their outer
 * class's server. Registered on an instance field it is never started, and its accessors throw.
 * Safe to use from tests running in parallel within the class.
 */
public final class S3ServerExtension implements BeforeAllCallback, AfterAllCallback {
    private final List<String> buckets;
    private S3Server server;
    private String owner;

    /**
     * @param buckets buckets to create as the server starts; none is created when empty
     */
    public S3ServerExtension(String... buckets) {
        this.buckets = List.of(buckets);
    }

    @Override
    public synchronized void beforeAll(ExtensionContext context) throws Exception {
        if (server != null) {
            return; // a @Nested class: the outer class's server serves it
        }
        S3Server started = S3Server.start();
        try {
            buckets.forEach(started::createBucket);
        } catch (RuntimeException e) {
            started.close();
            throw e;
        }
        server = started;
        owner = context.getUniqueId();
    }

    @Override
    public synchronized void afterAll(ExtensionContext context) throws Exception {
        if (server == null || !context.getUniqueId().equals(owner)) {
            return;
        }
        try {
            server.close();
        } finally {
            server = null;
            owner = null;
        }
    }

    /**
     * The running server.
     *
     * @throws IllegalStateException outside the test class's lifecycle, or when the extension is
     *         not registered on a static field
     */
    public synchronized S3Server server() {
        if (server == null) {
            throw new IllegalStateException("the S3 server is not running: register S3ServerExtension on a static "
                    + "field with @RegisterExtension and use it only while the test class runs");
        }
        return server;
    }

    /** The endpoint, e.g. {@code http://127.0.0.1:PORT}; see {@link S3Server#endpoint()}. */
    public URI endpoint() {
        return server().endpoint();
    }

    /** The access key the server accepts. */
    public String accessKey() {
        return server().accessKey();
    }

    /** The secret key the server accepts. */
    public String secretKey() {
        return server().secretKey();
    }

    /** Creates a bucket on the running server. */
    public void createBucket(String name) {
        server().createBucket(name);
    }
}
