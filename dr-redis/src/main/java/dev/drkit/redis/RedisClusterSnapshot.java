package dev.drkit.redis;

import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.Settings;
import dev.drkit.spi.BackupContext;
import java.io.IOException;
import java.io.OutputStream;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A backup of a whole Redis Cluster ({@code cluster=true}): the masters are discovered from the
 * node in {@code uri}, every shard is snapshotted over the replication protocol (from its master,
 * or from a replica with {@code read-from}), up to {@code jobs} shards at a time, each into its
 * own artifact {@code shard-N.rdb}, checked (structure, CRC-64) as it streams. The manifest holds
 * the slot map. Each shard's snapshot is a point in time of that shard; the shards' points differ
 * by as much as the snapshots' start times do, so the backup is not one point in time across
 * shards. A slot map that changes while the backup runs (resharding) fails the backup, since keys
 * may then be missing or twice in it.
 */
final class RedisClusterSnapshot {
    private static final Logger LOG = LoggerFactory.getLogger(RedisClusterSnapshot.class);

    private final BackupContext context;
    private final RedisEndpoint seed;
    private final ReadFrom readFrom;
    private final int jobs;

    private RedisClusterSnapshot(BackupContext context, RedisEndpoint seed, ReadFrom readFrom, int jobs) {
        this.context = context;
        this.seed = seed;
        this.readFrom = readFrom;
        this.jobs = jobs;
    }

    /**
     * Backs up the cluster of the node in setting {@code uri}; with setting {@code backup-acl} (the
     * default) also that node's ACL users, as artifact {@code acl.txt}: each node of a cluster keeps
     * its own users, which a cluster's operator keeps the same on every node.
     */
    static void backup(BackupContext context, Settings settings) throws IOException {
        int jobs = settings.integer("jobs", 4);
        if (jobs < 1) {
            throw new ConfigException("redis: setting 'jobs' must be 1 or more, not " + jobs);
        }
        ReadFrom readFrom = ReadFrom.of(settings);
        RedisEndpoint seed = RedisEndpoint.from(settings, "uri");
        AclSnapshot.Listing users = settings.bool("backup-acl", true) ? AclSnapshot.list(seed) : null;
        new RedisClusterSnapshot(context, seed, readFrom, jobs).run();
        if (users != null) {
            AclSnapshot.store(context, users, seed.toString());
        }
    }

    private void run() throws IOException {
        try (RespConnection node = RespConnection.open(seed)) {
            RedisClusterTopology before = RedisClusterTopology.discover(node, seed.tls());
            if (before.slotsCovered() < RedisClusterTopology.SLOTS) {
                LOG.warn(
                        "the Redis Cluster of {} serves {} of {} slots; the backup holds the keys of those",
                        seed,
                        before.slotsCovered(),
                        RedisClusterTopology.SLOTS);
            }
            requireNoMigration(before);
            List<RedisClusterTopology.Node> sources = new ArrayList<>();
            for (RedisClusterTopology.Shard shard : before.shards()) {
                sources.add(source(shard));
            }
            context.metadata("mode", "rdb");
            context.metadata("cluster", true);
            context.metadata("server", seed.toString());
            context.metadata("readFrom", readFrom.setting());
            List<Map<String, Object>> shards = snapshotAll(before, sources);
            RedisClusterTopology after = RedisClusterTopology.discover(node, seed.tls());
            requireNoMigration(after);
            if (!after.slotMap().equals(before.slotMap())) {
                throw new DrException(
                        ErrorCode.TARGET,
                        "the slot map of the Redis Cluster of " + seed + " changed while the backup ran (from "
                                + before.slotMap() + " to " + after.slotMap() + "): keys that moved may be missing "
                                + "or held twice; take the backup again once resharding is over",
                        null,
                        true);
            }
            record(shards);
        }
    }

    /** A slot a node migrates ({@code [slot->-id]}) or imports ({@code [slot-<-id]}) in its own CLUSTER NODES line. */
    private static final Pattern MIGRATION = Pattern.compile("\\[(\\d+)-([<>])-([0-9a-f]+)]");

    /**
     * Fails when a master is migrating or importing a slot: the slot map stays the same until the
     * move ends, but its keys are then split between two nodes, so a snapshot of each could miss
     * some or hold some twice. Checked before the snapshots and after them (a move that started
     * and ended in between changes the slot map, which is compared too).
     */
    private void requireNoMigration(RedisClusterTopology topology) throws IOException {
        for (RedisClusterTopology.Shard shard : topology.shards()) {
            RedisClusterTopology.Node master = shard.master();
            String nodes;
            try (RespConnection c = RespConnection.open(seed.withAddress(master.host(), master.port()))) {
                nodes = c.text("CLUSTER", "NODES");
            }
            for (String line : nodes.split("\n")) {
                if (!line.contains("myself")) {
                    continue;
                }
                Matcher m = MIGRATION.matcher(line);
                if (m.find()) {
                    throw new DrException(
                            ErrorCode.TARGET,
                            "slot " + m.group(1) + " of the Redis Cluster of " + seed + " is being "
                                    + (m.group(2).equals(">") ? "migrated away from " : "imported into ")
                                    + master.address() + ": its keys are split between two nodes, so a backup could "
                                    + "miss some or hold some twice; take the backup once resharding is over",
                            null,
                            true);
                }
            }
        }
    }

    /** The node to snapshot a shard from, as setting {@code read-from} asks. */
    private RedisClusterTopology.Node source(RedisClusterTopology.Shard shard) throws IOException {
        if (readFrom != ReadFrom.MASTER) {
            List<RedisClusterTopology.Node> replicas = shard.nodes().stream()
                    .filter(n -> !n.master() && !n.failed())
                    .sorted(Comparator.comparingLong(RedisClusterTopology.Node::replicationOffset)
                            .reversed())
                    .toList();
            for (RedisClusterTopology.Node replica : replicas) {
                if (linkedAndLoaded(replica)) {
                    return replica;
                }
            }
            if (readFrom == ReadFrom.REPLICA) {
                throw new DrException(
                        ErrorCode.TARGET,
                        "shard with slots " + shard.slotText() + " of the Redis Cluster of " + seed
                                + " has no online replica to take the snapshot from; set setting 'read-from' to "
                                + "replica-preferred (or master) to take it from the master",
                        null,
                        true);
            }
            LOG.info("shard with slots {} has no online replica: its snapshot comes from the master", shard.slotText());
        }
        return shard.master();
    }

    /** Whether a replica is linked to its master and not loading: a snapshot of it is current. */
    private boolean linkedAndLoaded(RedisClusterTopology.Node replica) {
        try (RespConnection c = RespConnection.open(seed.withAddress(replica.host(), replica.port()))) {
            String info = c.text("INFO", "replication") + c.text("INFO", "persistence");
            return info.contains("master_link_status:up") && info.contains("loading:0");
        } catch (IOException | DrException e) {
            LOG.info("replica {} cannot give a snapshot: {}", replica.address(), e.getMessage());
            return false;
        }
    }

    private List<Map<String, Object>> snapshotAll(
            RedisClusterTopology topology, List<RedisClusterTopology.Node> sources) throws IOException {
        int n = topology.shards().size();
        ExecutorService pool = daemonPool(Math.min(jobs, n), "drkit-redis-shard-");
        try {
            List<Future<Map<String, Object>>> futures = new ArrayList<>();
            for (int i = 0; i < n; i++) {
                int index = i;
                futures.add(pool.submit(() -> snapshot(index, topology.shards().get(index), sources.get(index))));
            }
            List<Map<String, Object>> shards = new ArrayList<>();
            for (Future<Map<String, Object>> f : futures) {
                shards.add(result(f));
            }
            return shards;
        } finally {
            stop(pool);
        }
    }

    /** A pool of {@code size} daemon threads named {@code prefix} and a number from 1 (one per node or shard). */
    static ExecutorService daemonPool(int size, String prefix) {
        AtomicInteger threads = new AtomicInteger();
        return Executors.newFixedThreadPool(size, r -> {
            Thread t = new Thread(r, prefix + threads.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /**
     * After a shard failed, the others' transfers still run (a socket read does not stop for an
     * interrupt) and write into artifacts the failed backup discards: they are waited for, as long
     * as a silent server may take, before the backup reports its failure.
     */
    private void stop(ExecutorService pool) {
        pool.shutdownNow();
        try {
            if (!pool.awaitTermination(seed.timeout().toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("snapshots of other shards of {} still run after the backup failed", seed);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static Map<String, Object> result(Future<Map<String, Object>> f) throws IOException {
        try {
            return f.get();
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof IOException io) {
                throw io;
            }
            if (c instanceof RuntimeException r) {
                throw r;
            }
            throw new DrException(
                    ErrorCode.TARGET,
                    "a shard's snapshot failed: " + (c.getMessage() != null ? c.getMessage() : "without a reason"),
                    c,
                    true);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DrException(ErrorCode.INTERRUPTED, "interrupted while snapshotting the Redis Cluster");
        }
    }

    private Map<String, Object> snapshot(int index, RedisClusterTopology.Shard shard, RedisClusterTopology.Node source)
            throws IOException {
        RedisEndpoint endpoint = seed.withAddress(source.host(), source.port());
        String artifact = RedisClusterManifest.artifact(index);
        long start = System.nanoTime();
        ReplicationSnapshot.Result r;
        boolean[] owned = RedisClusterTopology.owned(shard.slots());
        RdbParser.KeySlots slotCheck = slot -> {
            if (!owned[slot]) {
                throw notTheShardsNode(index, shard, source, slot);
            }
        };
        try (OutputStream out = context.newArtifact(artifact)) {
            r = ReplicationSnapshot.takeKeySlots(endpoint, out, slotCheck);
        } catch (SnapshotRefusedException e) {
            throw e.onClusterNode(endpoint.toString());
        }
        RdbParser.Summary s = r.summary();
        if (s.checksum == RdbParser.Checksum.MISMATCH) {
            throw new CorruptDataException("the snapshot of shard " + index + " from " + endpoint
                    + " fails its own CRC-64 check: the server or the network corrupted it; take the backup again");
        }
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("shard", index);
        m.put("artifact", artifact);
        m.put("slots", RedisClusterManifest.slotLists(shard.slots()));
        m.put("master", shard.master().id());
        List<Map<String, Object>> nodes = new ArrayList<>();
        for (RedisClusterTopology.Node node : shard.nodes()) {
            nodes.add(Map.of("id", node.id(), "address", node.address(), "role", node.role()));
        }
        m.put("nodes", nodes);
        m.put("source", source.address());
        // the role the server reported when it took the snapshot: a failover since discovery shows here
        String reported = r.server().get("role");
        m.put("sourceRole", reported == null ? source.role() : reported.equals("slave") ? "replica" : reported);
        m.put("redisVersion", r.server().getOrDefault("redis_version", "unknown"));
        if (r.replicationId() != null) {
            m.put("replicationId", r.replicationId());
            m.put("replicationOffset", r.replicationOffset());
        }
        m.put("transfer", r.diskless() ? "diskless" : "disk");
        RedisTarget.recordSummary(m::put, s);
        LOG.info(
                "snapshot of shard {} (slots {}) from {} {}: RDB version {}, {} keys, {} bytes in {} ms",
                index,
                shard.slotText(),
                source.role(),
                endpoint,
                s.version,
                s.keys,
                s.bytes,
                (System.nanoTime() - start) / 1_000_000);
        return m;
    }

    /**
     * A snapshot holding a key of a slot its shard does not serve came from a node that is not (or
     * no longer) that shard's: the backup's slot map would not say what its snapshots hold.
     */
    private DrException notTheShardsNode(
            int index, RedisClusterTopology.Shard shard, RedisClusterTopology.Node source, int slot) {
        return new DrException(
                ErrorCode.TARGET,
                "the snapshot of shard " + index + " (slots " + shard.slotText() + ") of the Redis Cluster of " + seed
                        + ", taken from " + source.address() + ", holds a key of slot " + slot + ", which that shard "
                        + "does not serve: the node announced for the shard serves other slots (a failover or "
                        + "resharding while the backup ran, or a node announced for the wrong shard), so the backup's "
                        + "slot map would not say what its snapshots hold; take the backup again once the cluster is "
                        + "stable",
                null,
                true);
    }

    /** The shards and their totals; the totals use the keys a standalone backup's metadata has. */
    private void record(List<Map<String, Object>> shards) {
        long keys = 0;
        long expires = 0;
        long functions = 0;
        int rdbVersion = 0;
        String checksum = "valid";
        Map<String, Long> perDb = new TreeMap<>();
        for (Map<String, Object> shard : shards) {
            keys += (Long) shard.get("keys");
            expires += (Long) shard.get("expires");
            functions = Math.max(functions, ((Number) shard.get("functions")).longValue());
            rdbVersion = Math.max(rdbVersion, (Integer) shard.get("rdbVersion"));
            if (!"valid".equals(shard.get("checksum"))) {
                checksum = (String) shard.get("checksum");
            }
            @SuppressWarnings("unchecked")
            Map<String, Long> counts = (Map<String, Long>) shard.get("keysPerDb");
            counts.forEach((db, count) -> perDb.merge(db, count, Long::sum));
        }
        context.metadata("redisVersion", shards.get(0).get("redisVersion"));
        context.metadata("shards", shards);
        context.metadata("rdbVersion", rdbVersion);
        context.metadata("keys", keys);
        context.metadata("keysPerDb", perDb);
        context.metadata("expires", expires);
        context.metadata("functions", functions);
        context.metadata("checksum", checksum);
        LOG.info("Redis Cluster backup of {}: {} shards, {} keys", seed, shards.size(), keys);
    }
}
