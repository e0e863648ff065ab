package dev.drkit.redis;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The shards of a Redis Cluster as one of its nodes sees them: {@code CLUSTER SHARDS} (Redis
 * 7.0+), else {@code CLUSTER SLOTS} (6.2). Shards are ordered by their first slot, so shard 0
 * holds slot 0; a master that serves no slot holds no keys and is left out. Immutable.
 */
final class RedisClusterTopology {
    static final int SLOTS = 16384;

    /**
     * A node of a shard, as the cluster announced it; {@code health} as {@code CLUSTER SHARDS} gives
     * it ({@code online}, {@code failed}, {@code loading}), which Redis 7.0 reports as loading for
     * healthy replicas it has no offset for, so only {@code failed} is taken at its word.
     */
    record Node(String id, String host, int port, boolean master, String health, long replicationOffset) {
        boolean failed() {
            return health.startsWith("fail");
        }

        String address() {
            return (host.contains(":") ? "[" + host + "]" : host) + ":" + port;
        }

        String role() {
            return master ? "master" : "replica";
        }
    }

    /** A master with its slot ranges ({@code [first, last]}, inclusive) and its replicas. */
    record Shard(List<int[]> slots, List<Node> nodes) {
        Node master() {
            return nodes.stream().filter(Node::master).findFirst().orElse(null);
        }

        int firstSlot() {
            return slots.get(0)[0];
        }

        int slotCount() {
            return slots.stream().mapToInt(r -> r[1] - r[0] + 1).sum();
        }

        /** The ranges as Redis prints them: {@code 0-5460 10923}. */
        String slotText() {
            return slots.stream()
                    .map(r -> r[0] == r[1] ? String.valueOf(r[0]) : r[0] + "-" + r[1])
                    .collect(Collectors.joining(" "));
        }
    }

    private final List<Shard> shards;
    private final List<Node> idle;
    private final String seed;

    private RedisClusterTopology(List<Shard> shards, List<Node> idle, String seed) {
        this.shards = List.copyOf(shards);
        this.idle = List.copyOf(idle);
        this.seed = seed;
    }

    List<Shard> shards() {
        return shards;
    }

    /**
     * The nodes of shards that serve no slot (a master added to take slots later, its replicas), as
     * {@code CLUSTER SHARDS} lists them; {@code CLUSTER SLOTS} does not.
     */
    List<Node> idleNodes() {
        return idle;
    }

    /** Which of the 16384 slots the ranges ({@code [first, last]}, inclusive) hold. */
    static boolean[] owned(List<int[]> ranges) {
        boolean[] owned = new boolean[SLOTS];
        ranges.forEach(r -> Arrays.fill(owned, r[0], r[1] + 1, true));
        return owned;
    }

    /** How many of the 16384 slots a shard serves. */
    int slotsCovered() {
        return shards.stream().mapToInt(Shard::slotCount).sum();
    }

    /** The slot ranges of each shard, comparable between two discoveries (node ids aside: a failover keeps it). */
    String slotMap() {
        return shards.stream().map(Shard::slotText).collect(Collectors.joining(" | "));
    }

    /** Asks the node of {@code connection} for the cluster's shards. */
    static RedisClusterTopology discover(RespConnection connection, boolean tls) throws IOException {
        String info = connection.text("INFO", "cluster");
        if (!info.contains("cluster_enabled:1")) {
            throw new ConfigException("redis: setting 'cluster' is true but " + connection
                    + " is not a Redis Cluster node (cluster_enabled is not 1); give a node of the cluster, or leave "
                    + "setting 'cluster' out for a standalone server");
        }
        RedisClusterTopology topology;
        try {
            topology = fromShards(
                    list(connection.call("CLUSTER", "SHARDS"), connection.toString()), connection.toString(), tls);
        } catch (RespConnection.RespError e) {
            if (!e.unknownCommand()) {
                throw failed(connection, "CLUSTER SHARDS", e);
            }
            try {
                topology = fromSlots(
                        list(connection.call("CLUSTER", "SLOTS"), connection.toString()), connection.toString());
            } catch (RespConnection.RespError e2) {
                throw failed(connection, "CLUSTER SLOTS", e2);
            }
        }
        if (topology.shards.isEmpty()) {
            throw new DrException(
                    ErrorCode.TARGET,
                    "the Redis Cluster of " + connection + " has no slots assigned: create the cluster first",
                    null,
                    true);
        }
        return topology;
    }

    private static DrException failed(RespConnection connection, String command, RuntimeException e) {
        return new DrException(
                ErrorCode.TARGET,
                connection + " refused " + command + ": " + e.getMessage()
                        + "; the user needs +cluster|shards or +cluster|slots to back up a cluster");
    }

    /**
     * Parses a {@code CLUSTER SHARDS} reply: per shard, {@code slots} (pairs of integers) and
     * {@code nodes} (maps with {@code id}, {@code ip}/{@code endpoint}, {@code port}, {@code tls-port},
     * {@code role}, {@code replication-offset}, {@code health}), maps sent as flat key-value lists.
     * With {@code tls}, a node's {@code tls-port} is taken where it has one.
     */
    static RedisClusterTopology fromShards(List<Object> reply, String seed, boolean tls) {
        List<Shard> shards = new ArrayList<>();
        List<Node> idle = new ArrayList<>();
        for (Object item : reply) {
            Map<String, Object> shard = map(item, seed);
            List<Object> slotList = list(shard.get("slots"), seed);
            if (slotList.size() % 2 != 0) {
                throw malformed(seed, "a shard's slots are not pairs");
            }
            List<int[]> ranges = new ArrayList<>();
            for (int i = 0; i < slotList.size(); i += 2) {
                ranges.add(range(slotList.get(i), slotList.get(i + 1), seed));
            }
            List<Node> nodes = new ArrayList<>();
            for (Object n : list(shard.get("nodes"), seed)) {
                Map<String, Object> node = map(n, seed);
                String host = text(node.getOrDefault("ip", ""), seed);
                if (host.isEmpty()) {
                    host = text(node.get("endpoint"), seed);
                }
                host = host(host, seed);
                Object port = tls && node.containsKey("tls-port") || !node.containsKey("port")
                        ? node.get("tls-port")
                        : node.get("port");
                nodes.add(new Node(
                        text(node.get("id"), seed),
                        host,
                        port(port, seed),
                        "master".equals(text(node.get("role"), seed)),
                        text(node.getOrDefault("health", "online"), seed),
                        number(node.getOrDefault("replication-offset", 0L), seed)));
            }
            if (!ranges.isEmpty()) {
                shards.add(shard(ranges, nodes, seed));
            } else {
                idle.addAll(nodes);
            }
        }
        return ordered(shards, idle, seed);
    }

    /**
     * Parses a {@code CLUSTER SLOTS} reply: per slot range {@code [first, last, master, replica...]},
     * each node {@code [ip, port, id, ...]}. Ranges of the same master make one shard; every node
     * listed is taken as online (the reply leaves failed nodes out).
     */
    static RedisClusterTopology fromSlots(List<Object> reply, String seed) {
        Map<String, List<int[]>> ranges = new LinkedHashMap<>();
        Map<String, List<Node>> nodes = new LinkedHashMap<>();
        for (Object item : reply) {
            List<Object> entry = list(item, seed);
            if (entry.size() < 3) {
                throw malformed(seed, "a slot range names no master");
            }
            int[] range = range(entry.get(0), entry.get(1), seed);
            List<Node> members = new ArrayList<>();
            for (int i = 2; i < entry.size(); i++) {
                List<Object> n = list(entry.get(i), seed);
                if (n.size() < 3) {
                    throw malformed(seed, "a node of a slot range has no id");
                }
                members.add(new Node(
                        text(n.get(2), seed),
                        host(text(n.get(0), seed), seed),
                        port(n.get(1), seed),
                        i == 2,
                        "online",
                        0));
            }
            String masterId = members.get(0).id();
            ranges.computeIfAbsent(masterId, k -> new ArrayList<>()).add(range);
            nodes.putIfAbsent(masterId, members);
        }
        List<Shard> shards = new ArrayList<>();
        ranges.forEach((id, r) -> shards.add(shard(r, nodes.get(id), seed)));
        return ordered(shards, List.of(), seed);
    }

    private static Shard shard(List<int[]> ranges, List<Node> nodes, String seed) {
        List<int[]> sorted = new ArrayList<>(ranges);
        sorted.sort(Comparator.comparingInt(r -> r[0]));
        Shard shard = new Shard(List.copyOf(sorted), List.copyOf(nodes));
        if (shard.master() == null) {
            throw new DrException(
                    ErrorCode.TARGET,
                    "the Redis Cluster of " + seed + " has no master for slots " + shard.slotText()
                            + " (a failover in progress?); try again once the cluster is healthy",
                    null,
                    true);
        }
        return shard;
    }

    private static RedisClusterTopology ordered(List<Shard> shards, List<Node> idle, String seed) {
        shards.sort(Comparator.comparingInt(Shard::firstSlot));
        // one node is the master of one shard: one announced for two would give both shards one snapshot
        Set<String> masters = new HashSet<>();
        for (Shard s : shards) {
            if (!masters.add(s.master().address())) {
                throw malformed(seed, "node " + s.master().address() + " is the master of two shards");
            }
        }
        boolean[] seen = new boolean[SLOTS];
        for (Shard s : shards) {
            for (int[] r : s.slots()) {
                for (int slot = r[0]; slot <= r[1]; slot++) {
                    if (seen[slot]) {
                        throw malformed(seed, "slot " + slot + " is served by two shards");
                    }
                    seen[slot] = true;
                }
            }
        }
        return new RedisClusterTopology(shards, idle, seed);
    }

    private static int[] range(Object first, Object last, String seed) {
        long a = number(first, seed);
        long b = number(last, seed);
        if (a < 0 || b >= SLOTS || a > b) {
            throw malformed(seed, "slot range " + a + "-" + b + " is outside 0-16383");
        }
        return new int[] {(int) a, (int) b};
    }

    private static String host(String host, String seed) {
        if (!RedisEndpoint.isHost(host)) {
            throw malformed(seed, "a node's address is not a host name or IP address");
        }
        return host;
    }

    private static int port(Object value, String seed) {
        long p = number(value, seed);
        if (p < 1 || p > 65535) {
            throw malformed(seed, "port " + p + " is not a port");
        }
        return (int) p;
    }

    private static Map<String, Object> map(Object value, String seed) {
        List<Object> flat = list(value, seed);
        if (flat.size() % 2 != 0) {
            throw malformed(seed, "a map has an odd number of elements");
        }
        Map<String, Object> m = new LinkedHashMap<>();
        for (int i = 0; i < flat.size(); i += 2) {
            m.put(text(flat.get(i), seed), flat.get(i + 1));
        }
        return m;
    }

    @SuppressWarnings("unchecked")
    private static List<Object> list(Object value, String seed) {
        if (value instanceof List<?> l) {
            return (List<Object>) l;
        }
        throw malformed(seed, "a list was expected");
    }

    private static String text(Object value, String seed) {
        if (value instanceof byte[] b) {
            return new String(b, StandardCharsets.UTF_8);
        }
        if (value instanceof String s) {
            return s;
        }
        if (value instanceof Number n) {
            return n.toString();
        }
        throw malformed(seed, "a text field is missing");
    }

    private static long number(Object value, String seed) {
        if (value instanceof Number n) {
            return n.longValue();
        }
        try {
            return Long.parseLong(text(value, seed));
        } catch (NumberFormatException e) {
            throw malformed(seed, "'" + text(value, seed) + "' is not a number");
        }
    }

    private static DrException malformed(String seed, String what) {
        return new DrException(
                ErrorCode.TARGET,
                "cannot read the cluster's shards from " + seed + ": " + what
                        + "; is it a Redis Cluster node of Redis 6.2 or newer?");
    }

    @Override
    public String toString() {
        return shards.size() + " shards of the Redis Cluster of " + seed;
    }
}
