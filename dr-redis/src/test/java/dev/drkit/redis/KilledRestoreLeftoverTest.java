package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

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
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A restore to a directory writes the snapshot beside dump.rdb first; one killed (kill -9, the OOM
 * killer, power loss) left that whole copy of the data set there, and nothing removed it: the next
 * restore made another name. The name now carries its writer's pid and start, and the next
 * restore into the directory removes the copy of a writer that is gone.
 */
class KilledRestoreLeftoverTest {
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
            context.metadata("keys", (long) KEYS);
            try (OutputStream out = context.newArtifact("dump.rdb")) {
                out.write(rdb);
            }
        }

        @Override
        public void restore(RestoreContext context) throws IOException {
            real.restore(context);
        }
    }

    static DrKit kit(Path dir, FixedSnapshot target) {
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

    static final int KEYS = 200_000;

    static byte[] rdb() {
        RdbBytes keys = RdbBytes.redis(10).selectDb(0);
        String value = "x".repeat(200);
        for (int i = 0; i < KEYS; i++) {
            keys.raw(0).string("key:" + i).string(value);
        }
        return keys.eof();
    }

    /** Child JVM: restores backup args[1] into args[2], and dies like kill -9 once the temporary file is there. */
    public static void main(String[] args) throws Exception {
        Path out = Path.of(args[2]);
        Files.createDirectories(out);
        Thread killer = new Thread(() -> {
            while (true) {
                try (var files = Files.list(out)) {
                    if (files.anyMatch(f -> f.getFileName().toString().startsWith("dump.rdb.drkit-"))) {
                        Thread.sleep(20);
                        Runtime.getRuntime().halt(137);
                    }
                } catch (Exception e) {
                    // keep looking
                }
            }
        });
        killer.setDaemon(true);
        killer.start();
        BackupTarget real = RedisTarget.builder()
                .settings(Settings.builder().set("uri", "redis://127.0.0.1:1").build())
                .build();
        try (DrKit kit = kit(Path.of(args[0]), new FixedSnapshot(null, real))) {
            kit.restore(new RestoreRequest(
                    "cache",
                    args[1],
                    Settings.builder()
                            .set("to-dir", out.toString())
                            .set("server-version", "7.0.0")
                            .build(),
                    false));
        }
        System.out.println("restore ended before the kill");
    }

    @Test
    void aRestoreKilledMidwayLeavesNoCopyOfTheDataBehindOnceTheNextRestoreRan() throws Exception {
        BackupTarget real = RedisTarget.builder()
                .settings(Settings.builder().set("uri", "redis://127.0.0.1:1").build())
                .build();
        String id;
        try (DrKit kit = kit(dir, new FixedSnapshot(rdb(), real))) {
            id = kit.backup(new TargetSpec("cache", RedisTargetProvider.TYPE, Settings.empty()))
                    .id();
        }
        Path out = dir.resolve("data");
        Process p = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp",
                        System.getProperty("java.class.path"),
                        KilledRestoreLeftoverTest.class.getName(),
                        dir.toString(),
                        id,
                        out.toString())
                .redirectErrorStream(true)
                .start();
        String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(120, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(text).isEqualTo(137); // killed midway

        // the operator restores again into the same directory, which now completes
        try (DrKit kit = kit(dir, new FixedSnapshot(null, real))) {
            kit.restore(new RestoreRequest(
                    "cache",
                    id,
                    Settings.builder()
                            .set("to-dir", out.toString())
                            .set("server-version", "7.0.0")
                            .build(),
                    true));
        }
        assertThat(out.resolve("dump.rdb")).exists();
        try (var files = Files.list(out)) {
            assertThat(files.map(f -> f.getFileName().toString()))
                    .as("what the data directory holds after the second restore")
                    .containsExactly("dump.rdb");
        }
    }
}
