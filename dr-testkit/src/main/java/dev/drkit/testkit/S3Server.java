package dev.drkit.testkit;

import dev.drkit.spi.support.FileTrees;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;
import org.gaul.s3proxy.S3Proxy;
import org.gaul.s3proxy.auth.AuthenticationType;
import org.gaul.s3proxy.blobstore.BlobStore;
import org.gaul.s3proxy.nio2blob.FilesystemNio2BlobStore;

/**
 * A real S3 endpoint for tests: S3Proxy in-process on a free loopback port, storing in a
 * temporary directory (its filesystem blob store), with AWS v2/v4 signature checks.
 * Credentials are random per server. Closed with {@link #close()}.
 */
public final class S3Server implements AutoCloseable {
    private final S3Proxy proxy;
    private final BlobStore store;
    private final Path dir;
    private final String accessKey;
    private final String secretKey;

    private S3Server(S3Proxy proxy, BlobStore store, Path dir, String accessKey, String secretKey) {
        this.proxy = proxy;
        this.store = store;
        this.dir = dir;
        this.accessKey = accessKey;
        this.secretKey = secretKey;
    }

    public static S3Server start() throws Exception {
        Path dir = Files.createTempDirectory("drkit-s3-");
        String access = "drkit" + UUID.randomUUID().toString().substring(0, 8);
        String secret = UUID.randomUUID().toString();
        BlobStore store = new FilesystemNio2BlobStore(dir.toString());
        S3Proxy proxy = S3Proxy.builder()
                .blobStore(store)
                .endpoint(URI.create("http://127.0.0.1:0"))
                .awsAuthentication(AuthenticationType.AWS_V2_OR_V4, access, secret)
                .build();
        proxy.start();
        for (int i = 0; i < 200 && !proxy.getState().equals("STARTED"); i++) {
            Thread.sleep(25);
        }
        return new S3Server(proxy, store, dir, access, secret);
    }

    /** The endpoint, e.g. {@code http://127.0.0.1:PORT}. */
    public URI endpoint() {
        return URI.create("http://127.0.0.1:" + proxy.getPort());
    }

    public String accessKey() {
        return accessKey;
    }

    public String secretKey() {
        return secretKey;
    }

    /** Creates a bucket. */
    public void createBucket(String name) {
        store.createContainer(name);
    }

    @Override
    public void close() throws IOException {
        try {
            proxy.stop();
        } catch (Exception e) {
            // stopping a test server
        }
        FileTrees.delete(dir);
    }
}
