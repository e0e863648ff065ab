package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Cluster replies as Redis sends them (maps as flat lists, bulk strings as bytes), and manifests' slot maps. */
class RedisClusterTopologyTest {
    private static byte[] b(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private static List<Object> node(String id, int port, String role, String health, long offset) {
        return node("10.0.0.1", id, port, role, health, offset);
    }

    private static List<Object> node(String ip, String id, int port, String role, String health, long offset) {
        return List.of(
                b("id"),
                b(id),
                b("port"),
                (long) port,
                b("ip"),
                b(ip),
                b("endpoint"),
                b(ip),
                b("role"),
                b(role),
                b("replication-offset"),
                offset,
                b("health"),
                b(health));
    }

    private static List<Object> shard(List<Object> slots, List<Object> nodes) {
        return List.of(b("slots"), slots, b("nodes"), nodes);
    }

    @Test
    void clusterShardsGiveShardsInSlotOrderWithTheirNodes() {
        List<Object> reply = List.of(
                shard(List.of(10923L, 16383L), List.of(node("c", 7003, "master", "online", 90))),
                shard(
                        List.of(0L, 5460L),
                        List.of(node("a", 7001, "master", "online", 100), node("a2", 7004, "replica", "loading", 0))),
                shard(List.of(5461L, 10921L, 10922L, 10922L), List.of(node("b", 7002, "master", "online", 50))),
                shard(List.of(), List.of(node("empty", 7009, "master", "online", 0))));
        RedisClusterTopology t = RedisClusterTopology.fromShards(reply, "seed", false);
        assertThat(t.shards()).hasSize(3);
        assertThat(t.shards())
                .extracting(RedisClusterTopology.Shard::slotText)
                .containsExactly("0-5460", "5461-10921 10922", "10923-16383");
        assertThat(t.slotsCovered()).isEqualTo(16384);
        RedisClusterTopology.Shard first = t.shards().get(0);
        assertThat(first.master().id()).isEqualTo("a");
        assertThat(first.nodes().get(1).address()).isEqualTo("10.0.0.1:7004");
        assertThat(first.nodes().get(1).master()).isFalse();
        assertThat(first.nodes().get(1).failed())
                .as("7.0 reports healthy replicas as loading")
                .isFalse();
        assertThat(t.slotMap()).isEqualTo("0-5460 | 5461-10921 10922 | 10923-16383");
    }

    @Test
    void tlsTakesTheTlsPort() {
        List<Object> n = new ArrayList<>(node("a", 7001, "master", "online", 0));
        n.addAll(List.of(b("tls-port"), 17001L));
        RedisClusterTopology t =
                RedisClusterTopology.fromShards(List.of(shard(List.of(0L, 16383L), List.of(n))), "seed", true);
        assertThat(t.shards().get(0).master().port()).isEqualTo(17001);
    }

    @Test
    void clusterSlotsOfOneMasterMakeOneShard() {
        List<Object> reply = List.of(
                List.of(0L, 100L, List.of(b("10.0.0.1"), 7001L, b("a")), List.of(b("10.0.0.2"), 7004L, b("a2"))),
                List.of(101L, 16383L, List.of(b("10.0.0.3"), 7002L, b("b"))),
                List.of(200L, 200L, List.of(b("10.0.0.1"), 7001L, b("a"))));
        assertThatThrownBy(() -> RedisClusterTopology.fromSlots(reply, "seed"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("slot 200 is served by two shards");
        RedisClusterTopology t = RedisClusterTopology.fromSlots(reply.subList(0, 2), "seed");
        assertThat(t.shards()).hasSize(2);
        assertThat(t.shards().get(0).nodes())
                .extracting(RedisClusterTopology.Node::role)
                .containsExactly("master", "replica");
    }

    @Test
    void malformedRepliesAreRefusedWithWhatIsWrong() {
        assertThatThrownBy(() -> RedisClusterTopology.fromShards(
                        List.of(shard(List.of(0L, 16384L), List.of(node("a", 1, "master", "online", 0)))), "s", false))
                .hasMessageContaining("outside 0-16383");
        assertThatThrownBy(() -> RedisClusterTopology.fromShards(
                        List.of(shard(List.of(0L), List.of(node("a", 1, "master", "online", 0)))), "s", false))
                .hasMessageContaining("not pairs");
        assertThatThrownBy(() -> RedisClusterTopology.fromShards(
                        List.of(shard(List.of(0L, 10L), List.of(node("a", 70000, "master", "online", 0)))), "s", false))
                .hasMessageContaining("not a port");
        assertThatThrownBy(() -> RedisClusterTopology.fromShards(
                        List.of(shard(List.of(0L, 10L), List.of(node("a", 1, "replica", "online", 0)))), "s", false))
                .hasMessageContaining("no master for slots 0-10");
        assertThatThrownBy(() -> RedisClusterTopology.fromShards(List.of(b("x")), "s", false))
                .hasMessageContaining("a list was expected");
    }

    /**
     * A node's address went as the node announced it into messages, the manifest and a name
     * lookup: a reply could put line breaks (or any text) there. It must be a host name or an IP.
     */
    @Test
    void aNodeAddressThatIsNoHostIsRefused() {
        List<Object> node = node("10.0.0.1\r\nforged log line", "a", 7000, "master", "online", 0);
        assertThatThrownBy(() ->
                        RedisClusterTopology.fromShards(List.of(shard(List.of(0L, 16383L), List.of(node))), "s", false))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("a node's address is not a host name or IP address")
                .hasMessageNotContaining("forged");
        assertThatThrownBy(() -> RedisClusterTopology.fromSlots(
                        List.of(List.of(0L, 16383L, List.of(b("?"), 7000L, b("a")))), "s"))
                .hasMessageContaining("not a host name or IP address");
        assertThat(RedisClusterTopology.fromShards(
                                List.of(shard(List.of(0L, 16383L), List.of(node("a", 7000, "master", "online", 0)))),
                                "s",
                                false)
                        .shards())
                .hasSize(1);
    }

    /**
     * A reply that names one node the master of two shards gave both shards that node's snapshot:
     * the backup's slot map said the second shard's slots were in it, and they were not.
     */
    @Test
    void aNodeAnnouncedAsTheMasterOfTwoShardsIsRefused() {
        assertThatThrownBy(() -> RedisClusterTopology.fromShards(
                        List.of(
                                shard(List.of(0L, 8191L), List.of(node("a", 7000, "master", "online", 0))),
                                shard(List.of(8192L, 16383L), List.of(node("b", 7000, "master", "online", 0)))),
                        "s",
                        false))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("node 10.0.0.1:7000 is the master of two shards");
    }

    private static BackupManifest manifest(Map<String, Object> metadata, String... artifacts) {
        List<ArtifactInfo> infos = new ArrayList<>();
        for (String a : artifacts) {
            infos.add(new ArtifactInfo(a, a + ".zst", 1, 1, "00", null, List.of("zstd"), List.of()));
        }
        return new BackupManifest(
                2,
                "20250101T000000Z-abcd",
                "cache",
                "redis",
                "full",
                null,
                null,
                Instant.EPOCH,
                Instant.EPOCH,
                "test",
                "host",
                infos,
                metadata);
    }

    private static BackupManifest twoShards(Object slots0, Object slots1) {
        return manifest(
                Map.of("cluster", true, "shards", List.of(shardEntry(0, slots0), shardEntry(1, slots1))),
                "shard-0.rdb",
                "shard-1.rdb");
    }

    private static Map<String, Object> shardEntry(int index, Object slots) {
        return Map.of(
                "shard",
                index,
                "artifact",
                "shard-" + index + ".rdb",
                "slots",
                slots,
                "keys",
                3L,
                "keysPerDb",
                Map.of("0", 3L));
    }

    @Test
    void aManifestsShardsAreReadStrictly() {
        BackupManifest good = twoShards(List.of(List.of(0, 8191)), List.of(List.of(8192L, 16383L)));
        List<RedisClusterManifest.ShardEntry> shards = RedisClusterManifest.shards(good);
        assertThat(shards)
                .extracting(RedisClusterManifest.ShardEntry::artifact)
                .containsExactly("shard-0.rdb", "shard-1.rdb");
        assertThat(shards.get(1).slots().get(0)).containsExactly(8192, 16383);
        assertThat(shards.get(1).keysPerDb()).containsEntry("0", 3L);

        assertThatThrownBy(() -> RedisClusterManifest.shards(manifest(
                        Map.of("cluster", true, "shards", List.of(shardEntry(0, List.of(List.of(0, 16384))))),
                        "shard-0.rdb")))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("within 0-16383");
        assertThatThrownBy(() -> RedisClusterManifest.shards(manifest(
                        Map.of("cluster", true, "shards", List.of(shardEntry(0, List.of(List.of(0, 1)))))
                        /* no artifact */ )))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("is not in the backup");
        assertThatThrownBy(() -> RedisClusterManifest.shards(manifest(
                        Map.of("cluster", true, "shards", List.of(shardEntry(1, List.of(List.of(0, 1))))),
                        "shard-1.rdb")))
                .as("the first shard must be shard 0 with shard-0.rdb, not a name of the manifest's choosing")
                .isInstanceOf(CorruptDataException.class);
        assertThatThrownBy(() -> RedisClusterManifest.shards(manifest(Map.of("cluster", true), "shard-0.rdb")))
                .hasMessageContaining("no list of shards");

        BackupManifest standalone = manifest(Map.of("keys", 5L, "keysPerDb", Map.of("0", 5L)), "dump.rdb");
        assertThat(RedisClusterManifest.shards(standalone))
                .singleElement()
                .satisfies(s -> assertThat(s.artifact()).isEqualTo("dump.rdb"));
    }

    /**
     * A forged manifest could give a slot to two shards: to-dir then wrote two nodes.conf files
     * that each made their node the master of it, with epochs 1 and 2, and once joined the cluster
     * kept the one of the higher epoch, so the other shard's keys of that slot were lost without a
     * word. Such a slot map is damage.
     */
    @Test
    void aManifestThatGivesASlotToTwoShardsIsRefused() {
        assertThatThrownBy(() -> RedisClusterManifest.shards(
                        twoShards(List.of(List.of(0, 8191)), List.of(List.of(8000, 16383)))))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("slot 8000 twice");
        assertThatThrownBy(() -> RedisClusterManifest.shards(manifest(
                        Map.of(
                                "cluster",
                                true,
                                "shards",
                                List.of(shardEntry(0, List.of(List.of(0, 9), List.of(5, 5))))),
                        "shard-0.rdb")))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("slot 5 twice");
    }

    @Test
    void nodesConfMakesANewNodeTheMasterOfTheShardsSlots() {
        BackupManifest m = manifest(
                Map.of(
                        "cluster",
                        true,
                        "shards",
                        List.of(
                                shardEntry(0, List.of(List.of(0, 10))),
                                shardEntry(1, List.of(List.of(11, 99), List.of(200, 200))))),
                "shard-0.rdb",
                "shard-1.rdb");
        String conf =
                RedisClusterRestore.nodesConf(RedisClusterManifest.shards(m).get(1));
        assertThat(conf)
                .matches("(?s)[0-9a-f]{40} 127\\.0\\.0\\.1:6379@16379 myself,master - 0 0 2 connected 11-99 200\n"
                        + "vars currentEpoch 2 lastVoteEpoch 0\n");
    }
}
