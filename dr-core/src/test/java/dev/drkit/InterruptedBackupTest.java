package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.RestoreContext;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A backup whose thread is interrupted (the scheduler's close after its grace period, the CLI on
 * Ctrl-C or SIGTERM) fails like any failed backup: what it stored is removed, although the thread
 * is still marked interrupted while the removal runs, and the mark is kept for the caller.
 */
class InterruptedBackupTest {
    @TempDir
    Path dir;

    @AfterEach
    void clearInterrupt() {
        Thread.interrupted();
    }

    /** Stores artifact "a" whole, begins "b", and is then interrupted. */
    static final class Interrupted implements BackupTarget {
        @Override
        public String type() {
            return "interrupted";
        }

        @Override
        public Set<Capability> capabilities() {
            return EnumSet.of(Capability.FULL);
        }

        @Override
        public void backup(BackupContext context) throws IOException {
            try (OutputStream a = context.newArtifact("a")) {
                a.write(new byte[1 << 20]);
            }
            OutputStream b = context.newArtifact("b");
            b.write(new byte[1 << 20]);
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        }

        @Override
        public void restore(RestoreContext context) {
            throw new UnsupportedOperationException();
        }
    }

    @Test
    void whatAnInterruptedBackupStoredIsRemovedAndTheInterruptIsKept() throws Exception {
        BackupTargetProvider provider = new BackupTargetProvider() {
            @Override
            public String type() {
                return "interrupted";
            }

            @Override
            public BackupTarget create(Settings settings) {
                return new Interrupted();
            }
        };
        Path repo = dir.resolve("repo");
        try (DrKit kit =
                DrKit.builder().repository(repo.toString()).register(provider).build()) {
            assertThatThrownBy(() -> kit.backup(new TargetSpec("t", "interrupted", Settings.empty())))
                    .isInstanceOf(DrException.class);
            assertThat(Thread.interrupted())
                    .as("the interrupt is kept for the caller")
                    .isTrue();
        }
        try (Stream<Path> s = Files.walk(repo)) {
            assertThat(s.filter(Files::isRegularFile)
                            .map(p -> repo.relativize(p).toString())
                            .filter(p -> !p.startsWith("drkit-repository.json")))
                    .as("nothing of the interrupted backup stays")
                    .isEmpty();
        }
    }
}
