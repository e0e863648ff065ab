package dev.drkit.redis;

import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.spi.RestoreContext;
import io.lettuce.core.RedisException;
import io.lettuce.core.cluster.ClusterClientOptions;
import io.lettuce.core.cluster.ClusterTopologyRefreshOptions;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.SlotHash;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import io.lettuce.core.codec.ByteArrayCodec;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Restores of Redis Cluster backups, and restores of any backup into a running cluster.
 * <ul>
 *   <li>{@code to-dir}: one directory per shard, {@code shard-N/dump.rdb} with a
 *   {@code shard-N/nodes.conf} that makes a fresh node started on it ({@code cluster-enabled yes},
 *   {@code cluster-config-file nodes.conf}) a master serving the shard's slots, and
 *   {@code slot-map.txt} (shard, slot ranges, the nodes at backup time). Nodes started so and
 *   joined with {@code CLUSTER MEET} form a cluster of the backup's shape.</li>
 *   <li>{@code to-uri} naming a cluster node (of a cluster of any shape): every key goes to the
 *   node that owns its slot (CRC16 of the key or its hash tag) with RESTORE and its absolute
 *   expiry, pipelined; redirections ({@code MOVED}, {@code ASK}) during resharding are followed
 *   and refresh the slot table.</li>
 * </ul>
 */
final class RedisClusterRestore {
    private static final Logger LOG = LoggerFactory.getLogger(RedisClusterRestore.class);

    private RedisClusterRestore() {}

    /** Whether the server is a Redis Cluster node ({@code cluster_enabled:1}). */
    static boolean isClusterNode(RedisEndpoint endpoint) throws IOException {
        try (RespConnection c = RespConnection.open(endpoint)) {
            return c.text("INFO", "cluster").contains("cluster_enabled:1");
        }
    }

    /** Writes {@code shard-N/dump.rdb} and {@code shard-N/nodes.conf} per shard, and {@code slot-map.txt}. */
    static void toDirectories(
            RedisTarget target,
            RestoreContext context,
            Path dir,
            List<RedisClusterManifest.ShardEntry> shards,
            int rdbVersion,
            KeyPattern match)
            throws IOException {
        // refuse before writing anything, so that a refused restore leaves the directory as it was
        for (RedisClusterManifest.ShardEntry shard : shards) {
            Path shardDir = dir.resolve("shard-" + shard.index());
            RedisTarget.requireAbsent(shardDir.resolve(RedisTarget.ARTIFACT), context);
            RedisTarget.requireAbsent(shardDir.resolve("nodes.conf"), context);
        }
        RedisTarget.requireAbsent(dir.resolve("slot-map.txt"), context);
        StringBuilder map =
                new StringBuilder("# Redis Cluster backup " + context.manifest().id()
                        + ": one line per shard: shard, slot ranges, keys, the nodes at backup time\n");
        // every shard written and checked before any is put in place: one damaged shard leaves the
        // directory as it was, not some shards restored
        List<RedisTarget.Staged> staged = new ArrayList<>();
        try {
            for (RedisClusterManifest.ShardEntry shard : shards) {
                Path file = dir.resolve("shard-" + shard.index()).resolve(RedisTarget.ARTIFACT);
                staged.add(target.stageToDir(context, shard.artifact(), file, rdbVersion, match, slotCheck(shard)));
            }
        } catch (IOException | RuntimeException e) {
            staged.forEach(RedisTarget.Staged::discard);
            throw e;
        }
        for (RedisTarget.Staged s : staged) {
            RedisTarget.install(s);
        }
        for (RedisClusterManifest.ShardEntry shard : shards) {
            Path shardDir = dir.resolve("shard-" + shard.index());
            writePrivate(shardDir.resolve("nodes.conf"), nodesConf(shard));
            map.append("shard-")
                    .append(shard.index())
                    .append(' ')
                    .append(slotText(shard.slots()))
                    .append(" keys=")
                    .append(shard.keys())
                    .append(' ')
                    .append(nodesAtBackup(context, shard.index()))
                    .append('\n');
        }
        writePrivate(dir.resolve("slot-map.txt"), map.toString());
        LOG.info(
                "wrote {} shards into {}: start a node (cluster-enabled yes, cluster-config-file nodes.conf) in each "
                        + "shard directory, then join them with CLUSTER MEET",
                shards.size(),
                dir);
    }

    /**
     * Refuses a key of a slot the shard does not serve: its nodes.conf gives the node the shard's
     * slots only, so the key would sit on a node the cluster does not send its slot to.
     */
    private static RdbParser.Visitor slotCheck(RedisClusterManifest.ShardEntry shard) {
        boolean[] owned = RedisClusterTopology.owned(shard.slots());
        return (db, key, type, at, value) -> {
            int slot = SlotHash.getSlot(key);
            if (!owned[slot]) {
                throw new CorruptDataException(shard.artifact() + " holds a key of slot " + slot + ", which the "
                        + "manifest does not give shard " + shard.index() + " (" + slotText(shard.slots()) + "): the "
                        + "snapshot and the slot map disagree, so the backup is damaged; restore it online into a "
                        + "running cluster (each key goes to its slot's node), or restore another backup");
            }
        };
    }

    /**
     * A node configuration that makes a new node the master of the shard's slots, with a new node
     * id and the shard's own config epoch (so that the joined masters never collide). Redis fills
     * in the node's ports when it starts and learns its address when it joins.
     */
    static String nodesConf(RedisClusterManifest.ShardEntry shard) {
        byte[] id = new byte[20];
        new SecureRandom().nextBytes(id);
        int epoch = shard.index() + 1;
        return HexFormat.of().formatHex(id) + " 127.0.0.1:6379@16379 myself,master - 0 0 " + epoch + " connected "
                + slotText(shard.slots()) + "\nvars currentEpoch " + epoch + " lastVoteEpoch 0\n";
    }

    private static String slotText(List<int[]> slots) {
        return slots.stream()
                .map(r -> r[0] == r[1] ? String.valueOf(r[0]) : r[0] + "-" + r[1])
                .collect(Collectors.joining(" "));
    }

    /** {@code nodes=ADDRESS(role),...} from the manifest, for people; absent fields are left out. */
    private static String nodesAtBackup(RestoreContext context, int index) {
        if (!(context.manifest().metadata().get("shards") instanceof List<?> shards)
                || !(shards.get(index) instanceof Map<?, ?> shard)
                || !(shard.get("nodes") instanceof List<?> nodes)) {
            return "";
        }
        return "nodes="
                + nodes.stream()
                        .filter(n -> n instanceof Map<?, ?>)
                        .map(n -> (Map<?, ?>) n)
                        .map(n -> printable(n.get("address")) + "(" + printable(n.get("role")) + ")")
                        .collect(Collectors.joining(","));
    }

    /** Text from the manifest, reduced to what an address or role can hold. */
    private static String printable(Object value) {
        String s = String.valueOf(value);
        return s.length() > 100 ? "?" : s.replaceAll("[^A-Za-z0-9.:\\[\\]_-]", "?");
    }

    private static void writePrivate(Path file, String text) throws IOException {
        Files.createDirectories(file.getParent());
        Path tmp = file.resolveSibling("." + file.getFileName() + ".drkit-tmp");
        Files.deleteIfExists(tmp);
        Files.createFile(tmp, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
        Files.writeString(tmp, text, StandardCharsets.UTF_8);
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** Restores every shard's keys into the cluster of {@code endpoint}, each key to its slot's node. */
    static void online(
            RedisTarget target,
            RestoreContext context,
            RedisEndpoint endpoint,
            List<RedisClusterManifest.ShardEntry> shards,
            int rdbVersion,
            KeyPattern match)
            throws IOException {
        RedisClusterClient client = client(endpoint);
        try (StatefulRedisClusterConnection<byte[], byte[]> conn = connect(client, endpoint)) {
            // the node named: a cluster runs one version but for the time of a rolling upgrade
            String version =
                    RdbVersions.serverVersion(RedisTarget.infoFields(conn.sync().info("server")));
            RedisTarget.requireLoadable(
                    rdbVersion, version, "the Redis Cluster of " + endpoint + " (" + RdbVersions.label(version) + ")");
            // connect to every master before pipelining: commands queued for a connection that is still
            // being opened would miss the flush that sends them. A master without slots takes no key:
            // an old master failed over and still down stays in the nodes' tables (until CLUSTER
            // FORGET) as one, and refusing the restore for it refused it after every such failover
            for (RedisClusterNode node : slotMasters(conn)) {
                connectMaster(conn, node, endpoint);
            }
            RedisTarget.OnlineRestore restore = new RedisTarget.OnlineRestore(
                    conn, conn.async(), context.force(), match, "the Redis Cluster of " + endpoint, endpoint::redact);
            try {
                RedisTarget.restoreOnline(
                        context,
                        shards.stream()
                                .map(RedisClusterManifest.ShardEntry::artifact)
                                .toList(),
                        restore);
            } finally {
                conn.setAutoFlushCommands(true);
            }
            restore.log("the Redis Cluster of " + endpoint + " ("
                    + conn.getPartitions().size() + " nodes)");
            if (restore.sentAnything()) {
                // each master's replicas, through the connection its keys went by (WAIT counts that client's
                // writes): Lettuce routes a slot's commands by the master's host and port, and keeps the
                // connection it gives by node id apart, on which WAIT counted nothing and answered at once
                Duration wait = context.options().duration("replica-wait").orElse(RedisTarget.DEFAULT_REPLICA_WAIT);
                for (RedisClusterNode node : slotMasters(conn)) {
                    RedisTarget.awaitReplicas(
                            conn.getConnection(
                                    node.getUri().getHost(), node.getUri().getPort()),
                            wait,
                            context,
                            "master " + node.getUri().getHost() + ":"
                                    + node.getUri().getPort() + " of the Redis " + "Cluster of " + endpoint,
                            endpoint::redact);
                }
            }
        } finally {
            RedisEndpoint.shutdown(client);
        }
    }

    /**
     * Recreates the users on every node of the cluster of {@code endpoint}, replicas too: each node
     * keeps its own ACL users, and a replica that a failover promotes needs them as well. A node the
     * cluster reports as failed is left out with a warning. The nodes are done all at once, so that
     * one that does not answer holds the restore up for setting {@code timeout} once, not once per
     * node after it; every node is tried, and a failure names each node that lacks the users and
     * each that has them.
     */
    static void restoreUsers(RedisEndpoint endpoint, List<AclSnapshot.User> users, boolean force) throws IOException {
        RedisClusterTopology topology;
        try (RespConnection c = RespConnection.open(endpoint)) {
            topology = RedisClusterTopology.discover(c, endpoint.tls());
        }
        List<RedisClusterTopology.Node> all = new ArrayList<>();
        topology.shards().forEach(shard -> all.addAll(shard.nodes()));
        all.addAll(topology.idleNodes()); // a master that takes slots later needs the users then
        List<RedisClusterTopology.Node> live = new ArrayList<>();
        for (RedisClusterTopology.Node node : all) {
            if (node.failed()) {
                LOG.warn("ACL users not restored on {}: the cluster reports it failed", node.address());
            } else {
                live.add(node);
            }
        }
        if (live.isEmpty()) {
            return;
        }
        ExecutorService pool =
                RedisClusterSnapshot.daemonPool(Math.min(live.size(), MAX_USER_SESSIONS), "drkit-redis-acl-");
        List<String> done = new ArrayList<>();
        Map<String, Exception> refused = new LinkedHashMap<>(); // a node's failure, whatever it is
        try {
            List<Future<?>> sessions = new ArrayList<>();
            for (RedisClusterTopology.Node node : live) {
                sessions.add(pool.submit(() -> {
                    try (RedisSession session = RedisSession.open(endpoint.withAddress(node.host(), node.port()))) {
                        AclSnapshot.restore(session.connection(), users, force, session);
                    }
                    return null;
                }));
            }
            for (int i = 0; i < live.size(); i++) {
                try {
                    sessions.get(i).get();
                    done.add(live.get(i).address());
                } catch (ExecutionException e) {
                    if (e.getCause() instanceof Error err) {
                        throw err;
                    }
                    refused.put(live.get(i).address(), (Exception) e.getCause());
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while recreating the ACL users on the cluster's nodes");
        } finally {
            pool.shutdownNow();
        }
        if (refused.isEmpty()) {
            return;
        }
        // the keys are in, and some nodes have the users: the nodes differ until this is fixed
        String what = "the keys were restored, and the users were recreated on " + done.size() + " of the cluster's "
                + all.size() + " nodes" + (done.isEmpty() ? "" : " (" + String.join(", ", done) + ")")
                + ": restore with setting 'acl-users' again once "
                + (refused.size() == 1 ? "that node accepts" : "those nodes accept") + " them";
        List<String> each = new ArrayList<>();
        refused.forEach((node, e) -> each.add(
                e instanceof DrException
                        ? e.getMessage()
                        : node + ": " + endpoint.redact(String.valueOf(e.getMessage()))));
        refused.keySet().forEach(node -> LOG.warn("ACL users not restored on {}: {}", node, what));
        Exception first = refused.values().iterator().next();
        DrException failure = new DrException(
                first instanceof DrException d ? d.code() : ErrorCode.TARGET,
                String.join("; also ", each) + "; " + what,
                first,
                refused.values().stream().allMatch(e -> !(e instanceof DrException d) || d.retryable()));
        refused.values().stream().skip(1).forEach(failure::addSuppressed);
        throw failure;
    }

    /** The most nodes whose users are recreated at once. */
    private static final int MAX_USER_SESSIONS = 32;

    /** The masters that serve slots: the ones keys go to. */
    private static List<RedisClusterNode> slotMasters(StatefulRedisClusterConnection<byte[], byte[]> conn) {
        List<RedisClusterNode> masters = new ArrayList<>();
        for (RedisClusterNode node : conn.getPartitions()) {
            if (node.is(RedisClusterNode.NodeFlag.UPSTREAM) && !node.getSlots().isEmpty()) {
                masters.add(node);
            }
        }
        return masters;
    }

    /** Connects to one master, or fails naming it: its slots' keys could not be restored. */
    private static void connectMaster(
            StatefulRedisClusterConnection<byte[], byte[]> conn, RedisClusterNode node, RedisEndpoint endpoint) {
        try {
            conn.getConnection(node.getNodeId());
        } catch (RedisException e) {
            String address = node.getUri() == null
                    ? node.getNodeId()
                    : node.getUri().getHost() + ":" + node.getUri().getPort();
            throw new DrException(
                    ErrorCode.TARGET,
                    "cannot connect to master " + address + " of the Redis Cluster of " + endpoint + ": "
                            + endpoint.redact(String.valueOf(e.getMessage())) + "; no key was restored. Every master "
                            + "must be up to take its slots' keys: start it or fail it over, then restore again",
                    null,
                    true);
        }
    }

    private static RedisClusterClient client(RedisEndpoint endpoint) {
        RedisClusterClient client = RedisClusterClient.create(RedisEndpoint.clientResources(), endpoint.redisUri());
        ClusterClientOptions.Builder options = ClusterClientOptions.builder()
                .maxRedirects(16)
                .topologyRefreshOptions(ClusterTopologyRefreshOptions.builder()
                        // the topology from the node named, as a backup reads it: asking every node made a
                        // hung replica (stopped, or behind a dropped route) hold the restore up for the whole
                        // of setting 'timeout' before a key was sent, though no key goes to a replica
                        .dynamicRefreshSources(false)
                        .enableAdaptiveRefreshTrigger(
                                ClusterTopologyRefreshOptions.RefreshTrigger.MOVED_REDIRECT,
                                ClusterTopologyRefreshOptions.RefreshTrigger.ASK_REDIRECT,
                                ClusterTopologyRefreshOptions.RefreshTrigger.PERSISTENT_RECONNECTS)
                        .adaptiveRefreshTriggersTimeout(Duration.ofSeconds(1))
                        .build());
        if (endpoint.sslOptions() != null) {
            options.sslOptions(endpoint.sslOptions());
        }
        client.setOptions(options.build());
        return client;
    }

    private static StatefulRedisClusterConnection<byte[], byte[]> connect(RedisClusterClient client, RedisEndpoint e) {
        try {
            return client.connect(ByteArrayCodec.INSTANCE);
        } catch (RedisException ex) {
            throw new DrException(
                    ErrorCode.TARGET,
                    "cannot connect to the Redis Cluster of " + e + ": " + e.redact(String.valueOf(ex.getMessage()))
                            + "; check that its nodes are up and reachable",
                    null,
                    true);
        }
    }
}
