package dev.drkit.testkit;

import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import java.util.Locale;
import java.util.Objects;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Supplier;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

/**
 * A JUnit 5 extension that gives every test a bucket of its own holding a {@code minio-bucket}
 * backup's objects (bytes, content types, metadata, tags): before each test the backup is
 * restored into a new bucket, whose name the test receives as a {@link FixtureBucket}. The kit
 * comes from the test, so that it can register a {@code minio-bucket} provider with the test
 * server's client and credentials. Buckets are left to the (throw-away) test server.
 */
public final class BucketFixture implements BeforeEachCallback, ParameterResolver {
    private static final ExtensionContext.Namespace NS = ExtensionContext.Namespace.create(BucketFixture.class);

    private final Supplier<DrKit> kit;
    private final String target;
    private final String backupId;
    private final String run = UUID.randomUUID().toString().substring(0, 6);
    private final AtomicInteger buckets = new AtomicInteger();

    private BucketFixture(Supplier<DrKit> kit, String target, String backupId) {
        this.kit = kit;
        this.target = target;
        this.backupId = backupId;
    }

    /**
     * @param kit the kit to restore with (on the repository holding the backup); the fixture
     *        does not close it
     * @param target the {@code minio-bucket} target whose backup is the fixture
     * @param backupId a particular backup, or null for the newest
     */
    public static BucketFixture of(Supplier<DrKit> kit, String target, String backupId) {
        return new BucketFixture(Objects.requireNonNull(kit), Objects.requireNonNull(target), backupId);
    }

    /** The bucket a test gets. */
    public record FixtureBucket(String name) {}

    @Override
    public void beforeEach(ExtensionContext context) {
        String bucket = (target.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9-]", "-") + "-" + run + "-t"
                + buckets.incrementAndGet());
        kit.get()
                .restore(new RestoreRequest(
                        target,
                        backupId,
                        Settings.builder().set("to-bucket", bucket).build(),
                        false));
        context.getStore(NS).put("bucket", new FixtureBucket(bucket));
    }

    /** How many buckets it made. */
    public int buckets() {
        return buckets.get();
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == FixtureBucket.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        return context.getStore(NS).get("bucket", FixtureBucket.class);
    }
}
