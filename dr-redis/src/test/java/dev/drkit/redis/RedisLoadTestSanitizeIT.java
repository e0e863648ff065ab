package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.Capability;
import dev.drkit.DrKit;
import dev.drkit.DrKitConfig;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerificationResult;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.RestoreContext;
import dev.drkit.storage.FileStorageBackendProvider;
import dev.drkit.testkit.Prerequisites;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A forged snapshot whose structure and CRC-64 are sound but one of whose listpacks claims an
 * entry far longer than itself: a server without payload checks loads it and crashes when the
 * key is read. The load test's scratch server checks every value as it loads, so the test fails
 * naming the load, instead of passing a backup that would crash the server it is restored into.
 */
class RedisLoadTestSanitizeIT {
    @TempDir
    Path dir;

    /** A "redis" target that stores fixed RDB bytes as its snapshot. */
    record FixedSnapshot(byte[] rdb) implements BackupTarget {
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
            try (OutputStream out = context.newArtifact("dump.rdb")) {
                out.write(rdb);
            }
        }

        @Override
        public void restore(RestoreContext context) {
            throw new UnsupportedOperationException("not restored here");
        }
    }

    @Test
    void aForgedListpackFailsTheLoadTestInsteadOfPassing() throws Exception {
        Prerequisites.requireTool("redis-server");
        byte[] lp = new byte[17];
        lp[0] = 17; // total bytes
        lp[4] = 2; // entries
        lp[6] = (byte) 0xF0; // a 32-bit string length follows...
        lp[10] = 0x40; // ...of about a gigabyte, in a 17-byte listpack
        lp[16] = (byte) 0xFF; // end
        byte[] forged = RdbBytes.redis(10)
                .selectDb(0)
                .raw(16) // a hash as a listpack
                .string("h")
                .string(lp)
                .eof();
        BackupTargetProvider provider = new BackupTargetProvider() {
            @Override
            public String type() {
                return RedisTargetProvider.TYPE;
            }

            @Override
            public BackupTarget create(Settings settings) {
                return new FixedSnapshot(forged);
            }
        };
        try (DrKit kit = DrKit.builder()
                .config(DrKitConfig.builder()
                        .repository(dir.resolve("repo").toString())
                        .build())
                .discoverProviders(false)
                .register(new FileStorageBackendProvider())
                .register(provider)
                .register(new RedisVerifiers.RdbProvider())
                .register(new RedisVerifiers.LoadTestProvider())
                .build()) {
            String id = kit.backup(new TargetSpec("cache", RedisTargetProvider.TYPE, Settings.empty()))
                    .id();

            VerifyReport report = kit.verify("cache", id, VerifyLevel.RESTORE);

            assertThat(report.passed()).isFalse();
            VerificationResult load = report.results().stream()
                    .filter(r -> r.verifier().equals("redis-load-test"))
                    .findFirst()
                    .orElseThrow();
            assertThat(load.status()).isEqualTo(VerificationResult.Status.FAILED);
            assertThat(String.join("; ", load.problems())).contains("redis-server exited while loading the snapshot");
        }
    }
}
