package dev.drkit.spring;

import dev.drkit.Capability;
import dev.drkit.Settings;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.RestoreContext;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Set;
import java.util.concurrent.CountDownLatch;

/** A target type ({@code test-latched}) whose backup waits until the test lets it finish. */
final class LatchedTarget implements BackupTarget {
    static volatile CountDownLatch started = new CountDownLatch(1);
    static volatile CountDownLatch release = new CountDownLatch(1);

    static void reset() {
        started = new CountDownLatch(1);
        release = new CountDownLatch(1);
    }

    @Override
    public String type() {
        return "test-latched";
    }

    @Override
    public Set<Capability> capabilities() {
        return Set.of(Capability.FULL);
    }

    @Override
    public void backup(BackupContext context) throws IOException {
        try (OutputStream out = context.newArtifact("data")) {
            out.write("before".getBytes(StandardCharsets.UTF_8));
            started.countDown();
            try {
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("the backup was interrupted");
            }
            out.write(" and after".getBytes(StandardCharsets.UTF_8));
        }
    }

    @Override
    public void restore(RestoreContext context) {
        throw new UnsupportedOperationException();
    }

    /** Registered in the tests' META-INF/services. */
    public static final class Provider implements BackupTargetProvider {
        @Override
        public String type() {
            return "test-latched";
        }

        @Override
        public BackupTarget create(Settings settings) {
            return new LatchedTarget();
        }
    }
}
