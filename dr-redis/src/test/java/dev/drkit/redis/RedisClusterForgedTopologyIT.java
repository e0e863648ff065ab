package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.testkit.RedisCluster;
import dev.drkit.testkit.RedisServer;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A node given as the way into a cluster answered CLUSTER SHARDS with the masters of two real
 * shards swapped: each snapshot then came from the other shard's master, the backup succeeded, and
 * its manifest said shard-0.rdb held slots 0-8191 while it held the keys of 8192-16383. Each key of
 * a shard's snapshot must now be of a slot the shard serves.
 */
class RedisClusterForgedTopologyIT {
    @TempDir
    Path dir;

    @Test
    void aSeedThatAnnouncesTheMastersForTheWrongShardsFailsTheBackup() throws Exception {
        try (RedisCluster two = RedisCluster.start(2, 0)) {
            RedisClusterData.strings(two, 100);
            List<RedisServer> masters = two.masters();
            String swapped = "*2\r\n" + shard(0, 8191, masters.get(1)) + shard(8192, 16383, masters.get(0));
            try (ServerSocket seed = fakeSeed(swapped)) {
                DrKit kit = DrKit.builder()
                        .repository(dir.resolve("repo").toString())
                        .build();
                Settings settings = Settings.builder()
                        .set("uri", "redis://127.0.0.1:" + seed.getLocalPort())
                        .set("cluster", "true")
                        .set("backup-acl", "false")
                        .build();
                assertThatThrownBy(() -> kit.backup(new TargetSpec("cache", "redis", settings)))
                        .isInstanceOf(DrException.class)
                        .hasMessageContaining("holds a key of slot")
                        .hasMessageContaining("which that shard does not serve");
                assertThat(kit.list("cache")).isEmpty();
            }
        }
    }

    private static String shard(int first, int last, RedisServer master) throws IOException {
        String id = master.command("CLUSTER", "MYID");
        return "*4\r\n" + bulk("slots") + "*2\r\n:" + first + "\r\n:" + last + "\r\n" + bulk("nodes") + "*1\r\n*14\r\n"
                + bulk("id") + bulk(id) + bulk("port") + ":" + master.port() + "\r\n" + bulk("ip") + bulk("127.0.0.1")
                + bulk("endpoint") + bulk("127.0.0.1") + bulk("role") + bulk("master") + bulk("replication-offset")
                + ":0\r\n" + bulk("health") + bulk("online");
    }

    private static String bulk(String s) {
        return ScriptedRedis.bulk(s);
    }

    /** A cluster node that answers INFO as a cluster node and CLUSTER SHARDS with {@code shards}, on every connection. */
    private static ServerSocket fakeSeed(String shards) throws IOException {
        return ScriptedRedis.start(command -> command.get(0).equalsIgnoreCase("INFO")
                ? bulk("# Cluster\r\ncluster_enabled:1\r\n")
                : String.join(" ", command).equalsIgnoreCase("CLUSTER SHARDS")
                        ? shards
                        : "-ERR unknown command '" + command.get(0) + "'\r\n");
    }
}
