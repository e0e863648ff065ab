package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

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
import dev.drkit.testkit.Prerequisites;
import dev.drkit.testkit.RedisServer;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The online restore's first read checks the snapshot before any key reaches the server, but it
 * passed over key names: an LZF-compressed key that does not decompress failed the second read,
 * after thousands of keys were RESTOREd. The first read now reads keys as the second does.
 */
class OnlineRestoreKeyCheckTest {
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
            context.metadata("keys", 2501L);
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
    void aKeyNameThatDoesNotDecompressFailsTheRestoreBeforeAnyKeyIsSent() throws Exception {
        Prerequisites.requireTool("redis-server");
        RdbBytes keys = RdbBytes.redis(10).selectDb(0);
        for (int i = 0; i < 2500; i++) {
            keys.raw(0).string("key:" + i).string("v");
        }
        // a string key whose name is LZF: a back reference before the start of the output
        keys.raw(0).raw(0xC3).length(2).length(3).raw(0x20, 0x05).string("v");
        byte[] rdb = keys.eof(); // the RDB's CRC-64 is right
        try (RedisServer server = RedisServer.start()) {
            BackupTarget real = RedisTarget.builder()
                    .settings(Settings.builder().set("uri", server.uri()).build())
                    .build();
            try (DrKit kit = kit(new FixedSnapshot(rdb, real))) {
                String id = kit.backup(new TargetSpec("cache", RedisTargetProvider.TYPE, Settings.empty()))
                        .id();
                assertThatThrownBy(() -> kit.restore(new RestoreRequest(
                                "cache",
                                id,
                                Settings.builder().set("to-uri", server.uri()).build(),
                                false)))
                        .hasMessageContaining("LZF");
            }
            assertThat(server.command("DBSIZE")).isEqualTo("0");
        }
    }
}
