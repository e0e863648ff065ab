package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.drkit.Capability;
import dev.drkit.DrKit;
import dev.drkit.DrKitConfig;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.RestoreContext;
import dev.drkit.storage.FileStorageBackendProvider;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A manifest whose 'rdbVersion' is text (damaged, forged, or written by another tool) failed every
 * restore with a class-cast error naming Java classes; it is now said to be damaged.
 */
class ManifestNumbersTest {
    @TempDir
    Path dir;

    record FixedSnapshot(byte[] rdb, BackupTarget real) implements BackupTarget {
        @Override
        public String type() {
            return RedisTargetProvider.TYPE;
        }

        @Override
        public Set<Capability> capabilities() {
            return EnumSet.of(Capability.FULL);
        }

        @Override
        public void backup(BackupContext context) throws IOException {
            context.metadata("keys", 1L);
            context.metadata("rdbVersion", "10");
            try (OutputStream out = context.newArtifact("dump.rdb")) {
                out.write(rdb);
            }
        }

        @Override
        public void restore(RestoreContext context) throws IOException {
            real.restore(context);
        }
    }

    private DrKit kit(FixedSnapshot target) {
        BackupTargetProvider provider = new BackupTargetProvider() {
            @Override
            public String type() {
                return RedisTargetProvider.TYPE;
            }

            @Override
            public BackupTarget create(Settings settings) {
                return target;
            }
        };
        return DrKit.builder()
                .config(DrKitConfig.builder()
                        .repository(dir.resolve("repo").toString())
                        .build())
                .discoverProviders(false)
                .register(new FileStorageBackendProvider())
                .register(provider)
                .build();
    }

    @Test
    void aManifestWhoseRdbVersionIsTextIsSaidToBeDamaged() throws Exception {
        byte[] rdb =
                RdbBytes.redis(10).selectDb(0).raw(0).string("k").string("v").eof();
        BackupTarget real = RedisTarget.builder()
                .settings(Settings.builder().set("uri", "redis://127.0.0.1:1").build())
                .build();
        try (DrKit kit = kit(new FixedSnapshot(rdb, real))) {
            String id = kit.backup(new TargetSpec("cache", RedisTargetProvider.TYPE, Settings.empty()))
                    .id();
            Throwable t = catchThrowable(() -> kit.restore(new RestoreRequest(
                    "cache",
                    id,
                    Settings.builder()
                            .set("to-dir", dir.resolve("out").toString())
                            .set("server-version", "7.0.0")
                            .build(),
                    false)));
            assertThat(t).isNotNull();
            assertThat(t).isNotInstanceOf(ClassCastException.class);
            assertThat(t.getMessage()).doesNotContain("java.lang");
        }
    }
}
