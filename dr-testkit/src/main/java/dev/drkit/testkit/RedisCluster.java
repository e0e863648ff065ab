package dev.drkit.testkit;

import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A real Redis Cluster for tests on loopback: masters with the 16384 slots split evenly (or
 * nodes started from a restore's {@code shard-N/} directories), optionally replicas, each a
 * {@link RedisServer} with {@code cluster-enabled yes} and its own cluster bus port; built with
 * {@code CLUSTER ADDSLOTSRANGE}, {@code CLUSTER MEET} and {@code CLUSTER REPLICATE}, and ready
 * once every node reports {@code cluster_state:ok}, knows every other node and every replica
 * is linked to its master. {@code DEBUG} is enabled on loopback ({@code DEBUG DIGEST-VALUE}
 * compares values whatever order a hash table holds them in). Needs Redis 7.0 or newer ({@code redis-server} on PATH or
 * {@code REDIS_SERVER}); a missing one skips the test, or fails it under {@code CI=true}.
 * {@link #close()} stops and removes every node. Not thread-safe.
 */
public final class RedisCluster implements AutoCloseable {
    private static final Pattern REPL_OFFSET = Pattern.compile("(?m)^(?:master_repl_offset|slave_repl_offset):(\\d+)");
    private static final long TIMEOUT_NANOS = TimeUnit.SECONDS.toNanos(60);

    private final List<RedisServer> masters = new ArrayList<>();
    private final List<RedisServer> replicas = new ArrayList<>();
    private final Map<RedisServer, Integer> busPorts = new HashMap<>();

    private RedisCluster() {}

    /** Starts {@code masters} masters, each with {@code replicasPerMaster} replicas. */
    public static RedisCluster start(int masters, int replicasPerMaster) throws IOException, InterruptedException {
        if (masters < 1 || masters > 100 || replicasPerMaster < 0) {
            throw new IllegalArgumentException("masters must be 1-100 and replicas 0 or more");
        }
        RedisCluster cluster = new RedisCluster();
        try {
            for (int i = 0; i < masters; i++) {
                RedisServer m = cluster.node(RedisServer.builder());
                cluster.masters.add(m);
                int first = i * 16384 / masters;
                int last = (i + 1) * 16384 / masters - 1;
                expectOk(m.command("CLUSTER", "ADDSLOTSRANGE", String.valueOf(first), String.valueOf(last)));
            }
            for (int i = 0; i < masters * replicasPerMaster; i++) {
                cluster.replicas.add(cluster.node(RedisServer.builder()));
            }
            cluster.join();
            cluster.await(false); // a node replicates only a master it knows
            for (int i = 0; i < cluster.replicas.size(); i++) {
                String masterId = cluster.masters.get(i % masters).command("CLUSTER", "MYID");
                expectOk(cluster.replicas.get(i).command("CLUSTER", "REPLICATE", masterId));
            }
            cluster.awaitReady();
            return cluster;
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            cluster.close();
            throw e;
        }
    }

    /**
     * Starts one master per directory from what a cluster restore wrote there: its
     * {@code dump.rdb} and the {@code nodes.conf} that gives it its shard's slots.
     */
    public static RedisCluster fromShardDirectories(List<Path> shardDirs) throws IOException, InterruptedException {
        RedisCluster cluster = new RedisCluster();
        try {
            for (Path dir : shardDirs) {
                cluster.masters.add(cluster.node(RedisServer.builder()
                        .loadDump(dir.resolve("dump.rdb"))
                        .file("nodes.conf", dir.resolve("nodes.conf"))));
            }
            cluster.join();
            cluster.awaitReady();
            return cluster;
        } catch (IOException | InterruptedException | RuntimeException | Error e) {
            cluster.close();
            throw e;
        }
    }

    private RedisServer node(RedisServer.Builder b) throws IOException, InterruptedException {
        // a bus port of its own: the default, port + 10000, may be taken or beyond 65535
        int busPort = RedisServer.freePort();
        RedisServer node = b.config("cluster-enabled", "yes")
                .config("cluster-config-file", "nodes.conf")
                .config("cluster-port", String.valueOf(busPort))
                .config("cluster-node-timeout", "5000")
                .config("cluster-require-full-coverage", "yes")
                .config("enable-debug-command", "local") // DEBUG DIGEST-VALUE to compare contents
                .start();
        busPorts.put(node, busPort);
        return node;
    }

    private void join() throws IOException {
        RedisServer first = masters.get(0);
        for (RedisServer n : nodes()) {
            if (n != first) {
                expectOk(n.command(
                        "CLUSTER",
                        "MEET",
                        first.host(),
                        String.valueOf(first.port()),
                        String.valueOf(busPorts.get(first))));
            }
        }
    }

    /** Waits until every node sees a healthy cluster of all nodes and every replica is linked. */
    public void awaitReady() throws IOException, InterruptedException {
        await(true);
    }

    private void await(boolean replicasLinked) throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        int total = nodes().size();
        String last = "";
        while (System.nanoTime() < deadline) {
            boolean ready = true;
            for (RedisServer n : nodes()) {
                String info = n.command("CLUSTER", "INFO");
                last = n.port() + ": " + info;
                if (!info.contains("cluster_state:ok") || !info.contains("cluster_known_nodes:" + total + "\r")) {
                    ready = false;
                    break;
                }
                // every node must have heard (by gossip) which nodes are replicas now
                long seenReplicas = n.command("CLUSTER", "NODES")
                        .lines()
                        .filter(l -> l.contains("slave"))
                        .count();
                if (replicasLinked && seenReplicas != replicas.size()) {
                    last = n.port() + " knows " + seenReplicas + " of " + replicas.size() + " replicas";
                    ready = false;
                    break;
                }
            }
            for (RedisServer r : replicas) {
                if (ready && replicasLinked && !r.command("INFO", "replication").contains("master_link_status:up")) {
                    last = r.port() + " has no link to its master yet";
                    ready = false;
                }
            }
            if (ready) {
                return;
            }
            Thread.sleep(100);
        }
        throw new IOException("the Redis Cluster did not become ready within 60 s; last: " + last);
    }

    /** Waits until every replica has applied everything its master has written so far. */
    public void awaitReplicasInSync() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + TIMEOUT_NANOS;
        for (int i = 0; i < replicas.size(); i++) {
            RedisServer master = masters.get(i % masters.size());
            RedisServer replica = replicas.get(i);
            long want = offset(master);
            while (offset(replica) < want) {
                if (System.nanoTime() > deadline) {
                    throw new IOException("replica " + replica.port() + " did not catch up within 60 s");
                }
                Thread.sleep(20);
            }
        }
    }

    private static long offset(RedisServer server) throws IOException {
        Matcher m = REPL_OFFSET.matcher(server.command("INFO", "replication"));
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    /** Removes every key: FLUSHALL on every master, then waits until the replicas have it too. */
    public void flushAll() throws IOException, InterruptedException {
        for (RedisServer m : masters) {
            expectOk(m.command("FLUSHALL"));
        }
        awaitReplicasInSync();
    }

    /** How many keys the masters hold together. */
    public long keyCount() throws IOException {
        long n = 0;
        for (RedisServer m : masters) {
            n += Long.parseLong(m.command("DBSIZE"));
        }
        return n;
    }

    /** The masters, in the order of their slots (the first holds slot 0). */
    public List<RedisServer> masters() {
        return List.copyOf(masters);
    }

    /** The replicas; replica {@code i} replicates master {@code i % masters().size()}. */
    public List<RedisServer> replicas() {
        return List.copyOf(replicas);
    }

    /** Every node, masters first. */
    public List<RedisServer> nodes() {
        List<RedisServer> all = new ArrayList<>(masters);
        all.addAll(replicas);
        return all;
    }

    /** {@code redis://127.0.0.1:PORT} of the first master, a seed for cluster clients. */
    public String uri() {
        return masters.get(0).uri();
    }

    private static void expectOk(String reply) throws IOException {
        if (!"OK".equals(Objects.toString(reply))) {
            throw new IOException("Redis refused a cluster command: " + reply);
        }
    }

    @Override
    public void close() {
        for (RedisServer n : nodes()) {
            n.close();
        }
        masters.clear();
        replicas.clear();
    }
}
