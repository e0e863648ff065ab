package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.Capability;
import dev.drkit.CorruptDataException;
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
import io.lettuce.core.cluster.SlotHash;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A cluster backup was checked shard by shard, each just before its keys were restored: a damaged
 * shard-1.rdb failed the restore after every key of shard-0.rdb was RESTOREd (online), or after
 * shard-0/dump.rdb was written (to a directory). Every shard is now checked (online) or written
 * beside its place (to a directory) before any is restored.
 */
class ClusterRestoreAllOrNothingTest {
    @TempDir
    Path dir;

    /** A "redis" target whose backup stores two fixed shards as a Redis Cluster backup does. */
    record FixedCluster(byte[] shard0, byte[] shard1, BackupTarget real) implements BackupTarget {
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
            context.metadata("mode", "rdb");
            context.metadata("cluster", true);
            context.metadata("rdbVersion", 10);
            context.metadata("keys", 4000L);
            context.metadata(
                    "shards",
                    List.of(
                            Map.of("artifact", "shard-0.rdb", "keys", 2000L, "slots", List.of(List.of(0, 8191))),
                            Map.of("artifact", "shard-1.rdb", "keys", 2000L, "slots", List.of(List.of(8192, 16383)))));
            try (OutputStream out = context.newArtifact("shard-0.rdb")) {
                out.write(shard0);
            }
            try (OutputStream out = context.newArtifact("shard-1.rdb")) {
                out.write(shard1);
            }
        }

        @Override
        public void restore(RestoreContext context) throws IOException {
            real.restore(context);
        }
    }

    /** 2000 keys named {@code prefix} and a number, of the slots of shard {@code index} (0: 0-8191, 1: 8192-16383). */
    static byte[] shard(String prefix, int index) {
        RdbBytes keys = RdbBytes.redis(10).selectDb(0);
        for (int i = 0, n = 0; n < 2000; i++) {
            if (SlotHash.getSlot(prefix + i) / 8192 == index) {
                keys.raw(0).string(prefix + i).string("v");
                n++;
            }
        }
        return keys.eof();
    }

    private DrKit kit(FixedCluster target) {
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
    void aDamagedShardFailsTheRestoreBeforeAnyShardsKeysAreSent() throws Exception {
        Prerequisites.requireTool("redis-server");
        byte[] shard1 = shard("b:", 1);
        shard1[shard1.length - 1] ^= 1; // shard 1's RDB CRC-64 is wrong; the repository's checksums are right
        try (RedisServer server = RedisServer.start()) {
            BackupTarget real = RedisTarget.builder()
                    .settings(Settings.builder().set("uri", server.uri()).build())
                    .build();
            try (DrKit kit = kit(new FixedCluster(shard("a:", 0), shard1, real))) {
                String id = kit.backup(new TargetSpec("cache", RedisTargetProvider.TYPE, Settings.empty()))
                        .id();
                assertThatThrownBy(() -> kit.restore(new RestoreRequest(
                                "cache",
                                id,
                                Settings.builder().set("to-uri", server.uri()).build(),
                                false)))
                        .hasMessageContaining("shard-1.rdb");
            }
            // the restore failed, and said only that shard-1.rdb is damaged
            assertThat(server.command("DBSIZE")).isEqualTo("0");
        }
    }

    @Test
    void aDamagedShardLeavesNoShardDirectoryBehind() throws Exception {
        byte[] shard1 = shard("b:", 1);
        shard1[shard1.length - 1] ^= 1;
        Path out = dir.resolve("restored");
        assertThatThrownBy(() -> backUpAndRestoreToDir(shard("a:", 0), shard1, out))
                .hasMessageContaining("shard-1.rdb");
        assertThat(out.resolve("shard-0").resolve("dump.rdb")).doesNotExist();
    }

    /** Backs up the two shards and restores them to {@code out} (for Redis 7.0). */
    private void backUpAndRestoreToDir(byte[] shard0, byte[] shard1, Path out) {
        BackupTarget real = RedisTarget.builder()
                .settings(Settings.builder().set("uri", "redis://127.0.0.1:1").build())
                .build();
        try (DrKit kit = kit(new FixedCluster(shard0, shard1, real))) {
            String id = kit.backup(new TargetSpec("cache", RedisTargetProvider.TYPE, Settings.empty()))
                    .id();
            Settings forRedis70 =
                    Settings.builder().set("server-version", "7.0.0").build();
            kit.restore(new RestoreRequest(
                    "cache",
                    id,
                    forRedis70.toBuilder().set("to-dir", out.toString()).build(),
                    false));
        }
    }

    /**
     * A shard's RDB holding keys of another shard's slots (a forged backup, or one taken from a node
     * announced for the wrong shard) was written as it was: its nodes.conf gave the node the
     * manifest's slots, and the keys of the others sat where the cluster never sent their slots.
     */
    @Test
    void aShardHoldingKeysOfAnotherShardsSlotsIsNotWrittenToADirectory() {
        Path out = dir.resolve("restored");
        assertThatThrownBy(() -> backUpAndRestoreToDir(shard("a:", 1), shard("b:", 1), out))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("shard-0.rdb holds a key of slot")
                .hasMessageContaining("which the manifest does not give shard 0 (0-8191)");
        assertThat(out.resolve("shard-1").resolve("dump.rdb")).doesNotExist();
        assertThat(out.resolve("shard-0").resolve("nodes.conf")).doesNotExist();
    }
}
