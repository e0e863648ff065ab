package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupResult;
import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerificationResult;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.testkit.RedisCluster;
import dev.drkit.testkit.RedisFixture;
import dev.drkit.testkit.RedisServer;
import java.io.IOException;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Backups of real three-master Redis 7 Clusters (with and without replicas) and their restores. */
class RedisClusterIT {
    @TempDir
    Path dir;

    DrKit kit;

    @BeforeEach
    void setUp() {
        kit = DrKit.builder().repository(dir.resolve("repo").toString()).build();
    }

    private static Settings cluster(String uri, String... more) {
        Settings.Builder s = Settings.builder().set("uri", uri).set("cluster", "true");
        for (int i = 0; i < more.length; i += 2) {
            s.set(more[i], more[i + 1]);
        }
        return s.build();
    }

    /**
     * A master that stops answering in the middle of an online restore: the failure names it and
     * says what to do. Before, it was "the Redis Cluster of ... did not answer RESTORE within 60 s"
     * (or Lettuce's own timeout text), naming neither the node nor a way on.
     */
    @Test
    void aMasterThatStopsAnsweringDuringARestoreIsNamedInTheFailure() throws Exception {
        try (RedisCluster three = RedisCluster.start(3, 0);
                RedisClusterData data = new RedisClusterData(three)) {
            Map<String, String> keys = new HashMap<>();
            for (int i = 0; i < 150_000; i++) {
                keys.put("k:" + i, "v" + i);
            }
            data.sync.mset(keys);
            BackupResult b = kit.backup(new TargetSpec("cache", "redis", cluster(three.uri())));
            three.flushAll();
            RedisServer hung = three.masters().get(2); // not the node the restore is given
            String pid = hung.command("INFO", "server").replaceAll("(?s).*process_id:(\\d+).*", "$1");
            AtomicBoolean stopped = new AtomicBoolean();
            Thread stopper = new Thread(() -> {
                try {
                    while ("0".equals(hung.command("DBSIZE"))) {
                        Thread.sleep(5); // until its first keys are in: the restore is under way
                    }
                    stopped.set(new ProcessBuilder("kill", "-STOP", pid).start().waitFor() == 0);
                } catch (IOException | InterruptedException e) {
                    throw new IllegalStateException(e);
                }
            });
            stopper.start();
            try {
                assertThatThrownBy(() -> kit.restore(new RestoreRequest(
                                "cache",
                                b.id(),
                                Settings.builder()
                                        .set("to-uri", three.uri())
                                        .set("timeout", "3s")
                                        .set("replica-wait", "0s")
                                        .build(),
                                false)))
                        .isInstanceOf(DrException.class)
                        .hasMessageContaining("node 127.0.0.1:" + hung.port() + " of the Redis Cluster of")
                        .hasMessageContaining("did not answer the RESTORE of key 'k:")
                        .hasMessageContaining("within 3 s (setting 'timeout')")
                        .hasMessageContaining("restore again");
            } finally {
                stopper.join();
                new ProcessBuilder("kill", "-CONT", pid).start().waitFor();
            }
            assertThat(stopped).isTrue();
        }
    }

    private void restoreWithUsers(String id, String uri) {
        kit.restore(new RestoreRequest(
                "cache",
                id,
                Settings.builder().set("to-uri", uri).set("acl-users", "true").build(),
                false));
    }

    private void restore(String id, String key, String value) {
        kit.restore(new RestoreRequest(
                "cache", id, Settings.builder().set(key, value).build(), false));
    }

    @Test
    void everyShardIsBackedUpAndRestoresOnlineIntoAClusterOfTheSameOrAnotherShapeAndFromFiles() throws Exception {
        Map<String, String> before;
        BackupResult b;
        try (RedisCluster three = RedisCluster.start(3, 0);
                RedisClusterData data = new RedisClusterData(three)) {
            int keys = data.populate();
            before = data.contents();
            assertThat(before).hasSize(keys);
            assertThat(before.values())
                    .filteredOn(v -> !v.endsWith("expires -1"))
                    .hasSize(200);

            b = kit.backup(new TargetSpec("cache", "redis", cluster(three.uri())));
            Map<String, Object> meta = b.manifest().metadata();
            assertThat(meta).containsEntry("cluster", true).containsEntry("readFrom", "master");
            assertThat(((Number) meta.get("keys")).longValue()).isEqualTo(keys);
            assertThat(meta.get("keysPerDb")).isEqualTo(Map.of("0", (long) keys));
            assertThat(meta.get("expires")).isEqualTo(200L);
            List<Map<String, Object>> shards = shards(meta);
            assertThat(shards).hasSize(3);
            assertThat(b.manifest().artifacts())
                    .extracting(a -> a.name())
                    .contains("shard-0.rdb", "shard-1.rdb", "shard-2.rdb");
            for (int i = 0; i < 3; i++) {
                Map<String, Object> shard = shards.get(i);
                RedisServer master = three.masters().get(i);
                assertThat(shard)
                        .containsEntry("shard", i)
                        .containsEntry("artifact", "shard-" + i + ".rdb")
                        .containsEntry("source", "127.0.0.1:" + master.port())
                        .containsEntry("sourceRole", "master")
                        .containsEntry("master", master.command("CLUSTER", "MYID"))
                        .containsEntry("checksum", "valid");
                assertThat(shard.get("slots")).isEqualTo(List.of(List.of(i * 16384 / 3, (i + 1) * 16384 / 3 - 1)));
                assertThat(((Number) shard.get("keys")).longValue())
                        .isEqualTo(Long.parseLong(master.command("DBSIZE")));
                assertThat(shard.get("replicationId")).asString().hasSize(40);
                assertThat(shard).containsKey("replicationOffset");
            }

            VerifyReport decode = kit.verify("cache", b.id(), VerifyLevel.DECODE);
            assertThat(decode.passed()).as(decode.problems().toString()).isTrue();
            VerifyReport load = kit.verify("cache", b.id(), VerifyLevel.RESTORE);
            assertThat(load.passed()).as(load.problems().toString()).isTrue();
            VerificationResult loadTest = load.results().stream()
                    .filter(r -> r.verifier().equals("redis-load-test"))
                    .findFirst()
                    .orElseThrow();
            assertThat(loadTest.details())
                    .containsEntry("keysLoaded", (long) keys)
                    .containsEntry("shards", 3);

            three.flushAll();
            assertThat(three.keyCount()).isZero();
            restore(b.id(), "to-uri", three.uri());
            assertSame(data.contents(), before);
        }

        try (RedisCluster two = RedisCluster.start(2, 0);
                RedisClusterData data = new RedisClusterData(two)) {
            restore(b.id(), "to-uri", two.uri());
            assertSame(data.contents(), before);
        }

        Path out = dir.resolve("restored");
        restore(b.id(), "to-dir", out.toString());
        assertThat(Files.readString(out.resolve("slot-map.txt")))
                .contains("shard-0 0-5460 keys=")
                .contains("shard-2 10922-16383 keys=");
        assertThat(Files.readString(out.resolve("shard-1/nodes.conf")))
                .contains("myself,master")
                .contains(" 5461-10921");
        try (RedisCluster rebuilt = RedisCluster.fromShardDirectories(
                        List.of(out.resolve("shard-0"), out.resolve("shard-1"), out.resolve("shard-2")));
                RedisClusterData data = new RedisClusterData(rebuilt)) {
            assertSame(data.contents(), before);
        }
        assertThatThrownBy(() -> restore(b.id(), "to-dir", out.toString())).hasMessageContaining("already exists");
    }

    @Test
    void replicasGiveTheSnapshotsAndThePrimariesDoNoFullSync() throws Exception {
        try (RedisCluster six = RedisCluster.start(3, 1);
                RedisClusterData data = new RedisClusterData(six)) {
            data.populate();
            six.awaitReplicasInSync();
            Map<String, String> before = data.contents();
            List<Long> fullSyncs = fullSyncs(six.masters());

            BackupResult b = kit.backup(new TargetSpec("cache", "redis", cluster(six.uri(), "read-from", "replica")));
            List<Map<String, Object>> shards = shards(b.manifest().metadata());
            assertThat(shards).hasSize(3);
            for (int i = 0; i < 3; i++) {
                assertThat(shards.get(i))
                        .containsEntry("sourceRole", "replica")
                        .containsEntry(
                                "source", "127.0.0.1:" + six.replicas().get(i).port());
                assertThat((List<?>) shards.get(i).get("nodes")).hasSize(2);
            }
            assertThat(fullSyncs(six.masters()))
                    .as("full syncs served by the masters")
                    .isEqualTo(fullSyncs);
            assertThat(kit.verify("cache", b.id(), VerifyLevel.DECODE).passed()).isTrue();

            six.flushAll();
            restore(b.id(), "to-uri", six.uri());
            // the restore waited for each master's replica (WAIT): no waiting here
            for (int i = 0; i < 3; i++) {
                assertThat(six.masters().get(i).command("INFO", "commandstats")).contains("cmdstat_wait:calls=1,");
                assertThat(six.replicas().get(i).command("DBSIZE"))
                        .isEqualTo(six.masters().get(i).command("DBSIZE"));
            }
            six.awaitReplicasInSync();
            assertSame(data.contents(), before);
        }
    }

    @Test
    void keysOfASlotBeingMigratedFollowAskAndAClusterBackupRestoresIntoOneStandaloneServer() throws Exception {
        Map<String, String> before;
        BackupResult b;
        try (RedisCluster three = RedisCluster.start(3, 0);
                RedisClusterData data = new RedisClusterData(three)) {
            data.populate();
            before = data.contents();
            b = kit.backup(new TargetSpec("cache", "redis", cluster(three.uri(), "jobs", "1")));
            three.flushAll();

            // slot of {user:7} half-way from its master to another: the old owner answers ASK for keys it lacks
            String slot = three.masters().get(0).command("CLUSTER", "KEYSLOT", "{user:7}:mail");
            int owner = 0;
            for (int i = 0; i < 3; i++) {
                owner = i * 16384 / 3 <= Integer.parseInt(slot) ? i : owner;
            }
            RedisServer from = three.masters().get(owner);
            RedisServer to = three.masters().get((owner + 1) % 3);
            String fromId = from.command("CLUSTER", "MYID");
            String toId = to.command("CLUSTER", "MYID");
            assertThat(to.command("CLUSTER", "SETSLOT", slot, "IMPORTING", fromId))
                    .isEqualTo("OK");
            assertThat(from.command("CLUSTER", "SETSLOT", slot, "MIGRATING", toId))
                    .isEqualTo("OK");
            // the slot map is unchanged until the move ends, but the slot's keys are on two nodes
            assertThatThrownBy(() -> kit.backup(new TargetSpec("cache", "redis", cluster(three.uri(), "jobs", "1"))))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining("slot " + slot + " of the Redis Cluster")
                    .hasMessageContaining("take the backup once resharding is over");
            restore(b.id(), "to-uri", three.uri());
            assertThat(to.command("CLUSTER", "COUNTKEYSINSLOT", slot))
                    .as("keys sent on by ASK")
                    .isEqualTo("2");
            assertThat(from.command("CLUSTER", "COUNTKEYSINSLOT", slot)).isEqualTo("0");
            for (RedisServer m : three.masters()) {
                assertThat(m.command("CLUSTER", "SETSLOT", slot, "NODE", toId)).isEqualTo("OK");
            }
            // a new client, with the slot map as it is now: DEBUG DIGEST-VALUE is never redirected
            try (RedisClusterData now = new RedisClusterData(three)) {
                assertSame(now.contents(), before);

                // the test fixture flushes every master, then restores each key to its slot's node
                now.sync.set("left-over", "from a test");
                now.sync.del("str:7");
                RedisFixture.of(() -> dir.resolve("repo").toString(), "cache", b.id(), three::uri)
                        .beforeEach(null);
                assertSame(now.contents(), before);
            }
        }
        try (RedisServer one = RedisServer.start()) {
            restore(b.id(), "to-uri", one.uri());
            assertThat(Long.parseLong(one.command("DBSIZE"))).isEqualTo(before.size());
            assertThat(one.command("GET", "{user:7}:mail")).isEqualTo("m7");
        }
    }

    @Test
    void badSettingsAreRefusedWithTheSettingNamed() throws Exception {
        try (RedisServer standalone = RedisServer.start()) {
            assertThatThrownBy(() -> kit.backup(new TargetSpec("cache", "redis", cluster(standalone.uri()))))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("setting 'cluster'")
                    .hasMessageContaining("not a Redis Cluster node");
            assertThatThrownBy(() -> kit.backup(new TargetSpec(
                            "cache",
                            "redis",
                            Settings.builder()
                                    .set("uri", standalone.uri())
                                    .set("read-from", "replica")
                                    .build())))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining(
                            "setting 'read-from' needs a redis-sentinel:// URI in setting 'uri', or setting "
                                    + "'cluster' true");
        }
        try (RedisCluster three = RedisCluster.start(3, 0)) {
            assertThatThrownBy(() ->
                            kit.backup(new TargetSpec("cache", "redis", cluster(three.uri(), "read-from", "replica"))))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining("has no online replica")
                    .hasMessageContaining("replica-preferred");
            BackupResult b = kit.backup(
                    new TargetSpec("cache", "redis", cluster(three.uri(), "read-from", "replica-preferred")));
            assertThat(shards(b.manifest().metadata()))
                    .allSatisfy(s -> assertThat(s).containsEntry("sourceRole", "master"));
        }
    }

    @Test
    void theUriNodesAclUsersTravelWithAClusterBackupAndAreRestoredOnEveryNode() throws Exception {
        BackupResult b;
        try (RedisCluster three = RedisCluster.start(3, 0)) {
            for (RedisServer node : three.nodes()) {
                node.command("ACL", "SETUSER", "app", "on", ">app-Pa55", "~*", "+@all");
            }
            b = kit.backup(new TargetSpec("cache", "redis", cluster(three.uri())));
            assertThat(b.manifest().artifacts()).extracting(a -> a.name()).contains("acl.txt", "shard-0.rdb");
            assertThat(((Number) b.manifest().metadata().get("aclUsers")).intValue())
                    .isEqualTo(2);
        }
        try (RedisCluster fresh = RedisCluster.start(2, 1)) {
            kit.restore(new RestoreRequest(
                    "cache",
                    b.id(),
                    Settings.builder()
                            .set("to-uri", fresh.uri())
                            .set("acl-users", "true")
                            .build(),
                    false));
            assertThat(fresh.nodes()).hasSize(4).allSatisfy(node -> {
                try {
                    assertThat(node.command("ACL", "LIST")).contains("user app on");
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
        }
        Path out = dir.resolve("files");
        kit.restore(new RestoreRequest(
                "cache",
                b.id(),
                Settings.builder()
                        .set("to-dir", out.toString())
                        .set("acl-users", "true")
                        .build(),
                false));
        assertThat(Files.readString(out.resolve("users.acl"))).contains("user app on");
        assertThat(out.resolve("shard-2").resolve("dump.rdb")).exists();
    }

    /**
     * Users are recreated node by node after the keys. A node that refused them failed the restore
     * saying only that ACL SETUSER failed there: not that the keys were all restored, nor that the
     * nodes before it had the users and the others not.
     */
    @Test
    void usersRefusedByOneNodeAreReportedWithTheNodesThatHaveThem() throws Exception {
        try (RedisCluster two = RedisCluster.start(2, 0)) {
            RedisClusterData.strings(two, 10);
            for (RedisServer node : two.nodes()) {
                node.command("ACL", "SETUSER", "app", "on", ">app-Pa55", "~*", "+@all");
            }
            BackupResult b = kit.backup(new TargetSpec("cache", "redis", cluster(two.uri())));
            RedisServer first = two.masters().get(0);
            RedisServer refusing = two.masters().get(1);
            for (RedisServer node : two.nodes()) {
                node.command("ACL", "DELUSER", "app");
            }
            refusing.command("ACL", "SETUSER", "default", "-acl|setuser");
            assertThatThrownBy(() -> restoreWithUsers(b.id(), two.uri()))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining("127.0.0.1:" + refusing.port())
                    .hasMessageContaining("the keys were restored, and the users were recreated on 1 of the "
                            + "cluster's 2 nodes (127.0.0.1:" + first.port() + ")");
            assertThat(first.command("ACL", "LIST")).contains("user app on");
        }
    }

    /**
     * Replicas that do not answer (stopped, their host swapping) held the users' restore up for
     * setting 'timeout' and stopped it at the first: the nodes after it were never tried. Every
     * node is tried at once now: two hung replicas cost one timeout, not two, and the failure names
     * both, and the nodes that have the users.
     */
    @Test
    void replicasThatDoNotAnswerCostOneTimeoutAndTheOtherNodesGetTheUsers() throws Exception {
        try (RedisCluster four = RedisCluster.start(2, 1)) {
            RedisClusterData.strings(four, 10);
            for (RedisServer node : four.nodes()) {
                node.command("ACL", "SETUSER", "app", "on", ">app-Pa55", "~*", "+@all");
            }
            BackupResult b = kit.backup(new TargetSpec("cache", "redis", cluster(four.uri())));
            for (RedisServer node : four.nodes()) {
                node.command("ACL", "DELUSER", "app");
            }
            List<String> pids = new ArrayList<>();
            for (RedisServer hung : four.replicas()) {
                pids.add(hung.command("INFO", "server").replaceAll("(?s).*process_id:(\\d+).*", "$1"));
            }
            for (String pid : pids) {
                assertThat(new ProcessBuilder("kill", "-STOP", pid).start().waitFor())
                        .isZero();
            }
            long started = System.nanoTime();
            try {
                assertThatThrownBy(() -> kit.restore(new RestoreRequest(
                                "cache",
                                b.id(),
                                Settings.builder()
                                        .set("to-uri", four.uri())
                                        .set("acl-users", "true")
                                        .set("timeout", "2s")
                                        .set("replica-wait", "0s")
                                        .build(),
                                false)))
                        .isInstanceOf(DrException.class)
                        .hasMessageContaining(
                                "127.0.0.1:" + four.replicas().get(0).port())
                        .hasMessageContaining(
                                "127.0.0.1:" + four.replicas().get(1).port())
                        .hasMessageContaining("the users were recreated on 2 of the cluster's 4 nodes")
                        .hasMessageContaining("once those nodes accept them");
            } finally {
                for (String pid : pids) {
                    new ProcessBuilder("kill", "-CONT", pid).start().waitFor();
                }
            }
            // one timeout, not one per hung node
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            assertThat(took).isLessThan(Duration.ofSeconds(4));
            for (RedisServer node : four.masters()) {
                assertThat(node.command("ACL", "LIST"))
                        .as("node " + node.port())
                        .contains("user app on");
            }
        }
    }

    /**
     * Users were recreated on the nodes of the shards that serve slots only: a master just added to
     * take slots later (CLUSTER SHARDS lists it, with no slots) was passed over without a word, and
     * once slots moved to it its clients were refused.
     */
    @Test
    void usersAreRestoredOnAMasterThatServesNoSlotYet() throws Exception {
        try (RedisCluster two = RedisCluster.start(2, 0);
                RedisServer added = RedisServer.builder()
                        .config("cluster-enabled", "yes")
                        .config("cluster-config-file", "nodes.conf")
                        .config("cluster-port", String.valueOf(freePort()))
                        .start()) {
            RedisServer first = two.masters().get(0);
            Matcher bus = Pattern.compile(":" + first.port() + "@(\\d+)").matcher(first.command("CLUSTER", "NODES"));
            assertThat(bus.find()).isTrue();
            added.command("CLUSTER", "MEET", first.host(), String.valueOf(first.port()), bus.group(1));
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!first.command("CLUSTER", "SHARDS").contains("\n" + added.port() + "\n")) {
                assertThat(System.nanoTime())
                        .as("the added node is listed in CLUSTER SHARDS")
                        .isLessThan(deadline);
                Thread.sleep(50);
            }
            first.command("ACL", "SETUSER", "app", "on", ">app-Pa55", "~*", "+@all");
            BackupResult b = kit.backup(new TargetSpec("cache", "redis", cluster(two.uri())));
            assertThat(added.command("ACL", "LIST")).doesNotContain("user app");

            restoreWithUsers(b.id(), two.uri());
            assertThat(added.command("ACL", "LIST")).contains("user app on");
        }
    }

    @Test
    void aClusterNodeThatForbidsSnapshotsFailsTheBackupInsteadOfFallingBackToKeys() throws Exception {
        try (RedisCluster three = RedisCluster.start(3, 0)) {
            for (RedisServer node : three.nodes()) {
                node.command("ACL", "SETUSER", "default", "-psync", "-sync");
            }
            assertThatThrownBy(() -> kit.backup(new TargetSpec("cache", "redis", cluster(three.uri()))))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining("is a Redis Cluster node")
                    .hasMessageContaining("setting 'keys-fallback' does not apply")
                    .hasMessageContaining("+sync +psync");
            // nor does a backup of one of its nodes without setting 'cluster' walk that node's keys
            assertThatThrownBy(() -> kit.backup(new TargetSpec(
                            "cache",
                            "redis",
                            Settings.builder().set("uri", three.uri()).build())))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining("is a Redis Cluster node")
                    .hasMessageContaining("setting 'cluster' true");
            assertThat(kit.list("cache")).isEmpty();
        }
    }

    /**
     * A restore into a cluster with a master down failed with the client library's exception
     * class and message as its whole reason ("...RedisConnectionException: Unable to connect");
     * it now names the master and says that nothing was restored.
     */
    @Test
    void aRestoreIntoAClusterWithAMasterDownNamesItAndRestoresNothing() throws Exception {
        try (RedisCluster two = RedisCluster.start(2, 0)) {
            RedisClusterData.strings(two, 100);
            BackupResult b = kit.backup(new TargetSpec("cache", "redis", cluster(two.uri())));
            RedisServer down = two.masters().get(1);
            two.flushAll();
            assertThatThrownBy(() -> down.command("SHUTDOWN", "NOSAVE")).isInstanceOf(IOException.class);
            assertThatThrownBy(
                            () -> restore(b.id(), "to-uri", two.masters().get(0).uri()))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining("cannot connect to master 127.0.0.1:" + down.port())
                    .hasMessageContaining("no key was restored")
                    .hasMessageNotContaining("Exception");
            assertThat(two.masters().get(0).command("DBSIZE")).isEqualTo("0");
        }
    }

    /**
     * After a failover whose old master is still down (the nodes keep it in their tables, as a
     * master without slots, until CLUSTER FORGET), an online restore refused with "cannot connect to
     * master": the moment a restore is most needed. A master that serves no slot takes no key.
     */
    @Test
    void aRestoreAfterAFailoverPassesOverTheOldMasterThatIsStillDown() throws Exception {
        // three masters: the two left are a majority, which a failover needs
        try (RedisCluster cluster = RedisCluster.start(3, 1)) {
            RedisClusterData.strings(cluster, 200);
            long keys = cluster.keyCount();
            BackupResult b = kit.backup(new TargetSpec("cache", "redis", cluster(cluster.uri())));
            cluster.flushAll();
            RedisServer down = cluster.masters().get(1);
            assertThatThrownBy(() -> down.command("SHUTDOWN", "NOSAVE")).isInstanceOf(IOException.class);
            RedisServer first = cluster.masters().get(0);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            // the old master failed, its replica promoted, and the cluster serving every slot again
            while (!failedOver(first, down)) {
                assertThat(System.nanoTime())
                        .as("a failover within 60 s: %s", first.command("CLUSTER", "NODES"))
                        .isLessThan(deadline);
                Thread.sleep(100);
            }

            restore(b.id(), "to-uri", first.uri());

            long restored = 0;
            for (RedisServer n : cluster.nodes()) {
                if (n != down && n.command("INFO", "replication").contains("role:master")) {
                    restored += Long.parseLong(n.command("DBSIZE"));
                }
            }
            assertThat(restored).isEqualTo(keys);
        }
    }

    private static boolean failedOver(RedisServer node, RedisServer down) throws IOException {
        List<String> lines = node.command("CLUSTER", "NODES").lines().toList();
        return node.command("CLUSTER", "INFO").contains("cluster_state:ok")
                && lines.stream()
                        .anyMatch(l -> l.contains(":" + down.port() + "@")
                                && l.contains("master,fail ")
                                && l.trim().endsWith("disconnected"))
                && lines.stream()
                                .filter(l -> l.contains(" master ") || l.contains(",master "))
                                .filter(l -> !l.contains("fail"))
                                .count()
                        == 3;
    }

    @Test
    void aSentinelUriIsNoWayIntoACluster() {
        assertThatThrownBy(() ->
                        kit.backup(new TargetSpec("cache", "redis", cluster("redis-sentinel://127.0.0.1:1/cache"))))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("setting 'cluster' needs a node of the cluster");
    }

    /** Every key, value and expiry equal; a difference names the first keys that differ, not all contents. */
    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    private static void assertSame(Map<String, String> actual, Map<String, String> expected) {
        List<String> differ = new ArrayList<>();
        Set<String> keys = new TreeSet<>(expected.keySet());
        keys.addAll(actual.keySet());
        for (String k : keys) {
            if (!Objects.equals(actual.get(k), expected.get(k))) {
                differ.add(k + ": " + abbreviate(expected.get(k)) + " -> " + abbreviate(actual.get(k)));
            }
        }
        assertThat(differ.subList(0, Math.min(5, differ.size())))
                .as(differ.size() + " of " + expected.size() + " keys differ")
                .isEmpty();
    }

    private static String abbreviate(String s) {
        return s == null
                ? "(missing)"
                : s.length() > 120 ? s.substring(0, 60) + "..." + s.substring(s.length() - 40) : s;
    }

    private static List<Long> fullSyncs(List<RedisServer> masters) throws Exception {
        Pattern p = Pattern.compile("(?m)^sync_full:(\\d+)");
        List<Long> counts = new ArrayList<>();
        for (RedisServer m : masters) {
            Matcher matcher = p.matcher(m.command("INFO", "stats"));
            assertThat(matcher.find()).isTrue();
            counts.add(Long.parseLong(matcher.group(1)));
        }
        return counts;
    }

    @SuppressWarnings("unchecked")
    private static List<Map<String, Object>> shards(Map<String, Object> meta) {
        return (List<Map<String, Object>>) meta.get("shards");
    }
}
