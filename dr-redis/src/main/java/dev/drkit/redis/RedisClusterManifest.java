package dev.drkit.redis;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.CorruptDataException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The shards of a Redis Cluster backup as its manifest records them (metadata {@code cluster}
 * true and {@code shards}: per shard its artifact, slot ranges, nodes at backup time, the node the
 * snapshot came from, its replication offset and key counts). Reading is strict: the manifest
 * comes from a repository, so every field is checked before it is trusted.
 */
final class RedisClusterManifest {
    private static final Pattern ARTIFACT = Pattern.compile("shard-(\\d{1,4})\\.rdb");

    /** One shard's snapshot as recorded, with its artifact. */
    record ShardEntry(int index, ArtifactInfo info, List<int[]> slots, Map<String, Long> keysPerDb, long keys) {
        String artifact() {
            return info.name();
        }
    }

    private RedisClusterManifest() {}

    /** The artifact name of shard {@code index}. */
    static String artifact(int index) {
        return "shard-" + index + ".rdb";
    }

    /** Whether the backup is of a Redis Cluster. */
    static boolean isCluster(BackupManifest manifest) {
        return Boolean.TRUE.equals(manifest.metadata().get("cluster"));
    }

    /**
     * The shards of a cluster backup; for a standalone backup its one {@code dump.rdb} as shard 0
     * with every slot and the manifest's key counts.
     *
     * @throws CorruptDataException when the manifest's shard list is malformed
     */
    static List<ShardEntry> shards(BackupManifest manifest) {
        Map<String, Object> metadata = manifest.metadata();
        if (!isCluster(manifest)) {
            return List.of(new ShardEntry(
                    0,
                    manifest.artifact(RedisTarget.ARTIFACT)
                            .or(() -> KeyDelta.isDelta(manifest)
                                    ? manifest.artifact(KeyDelta.ARTIFACT)
                                    : Optional.empty())
                            .orElseThrow(() -> new CorruptDataException(
                                    "backup " + manifest.id() + " has no " + RedisTarget.ARTIFACT)),
                    List.<int[]>of(new int[] {0, RedisClusterTopology.SLOTS - 1}),
                    counts(metadata.get("keysPerDb"), manifest),
                    metadata.get("keys") instanceof Number n ? n.longValue() : -1));
        }
        if (!(metadata.get("shards") instanceof List<?> list) || list.isEmpty() || list.size() > 16384) {
            throw bad(manifest, "no list of shards");
        }
        List<ShardEntry> shards = new ArrayList<>();
        // a slot is one shard's: two that claim it would become two masters of it in to-dir's nodes.conf files
        boolean[] claimed = new boolean[RedisClusterTopology.SLOTS];
        for (Object item : list) {
            if (!(item instanceof Map<?, ?> m)) {
                throw bad(manifest, "a shard that is not an object");
            }
            int index = shards.size();
            Object artifact = m.get("artifact");
            if (!artifact(index).equals(artifact)
                    || !ARTIFACT.matcher(artifact(index)).matches()) {
                throw bad(manifest, "shard " + index + " without its artifact " + artifact(index));
            }
            ArtifactInfo info = manifest.artifact(artifact(index))
                    .orElseThrow(() -> bad(
                            manifest,
                            "shard " + index + " whose artifact " + artifact(index) + " is not in the backup"));
            if (!(m.get("keys") instanceof Number keys) || keys.longValue() < 0) {
                throw bad(manifest, "shard " + index + " without its key count");
            }
            List<int[]> slots = slots(m.get("slots"), manifest);
            for (int[] r : slots) {
                for (int slot = r[0]; slot <= r[1]; slot++) {
                    if (claimed[slot]) {
                        throw bad(manifest, "slot " + slot + " twice (the second time in shard " + index + ")");
                    }
                    claimed[slot] = true;
                }
            }
            shards.add(new ShardEntry(index, info, slots, counts(m.get("keysPerDb"), manifest), keys.longValue()));
        }
        return List.copyOf(shards);
    }

    private static List<int[]> slots(Object value, BackupManifest manifest) {
        if (!(value instanceof List<?> list) || list.isEmpty() || list.size() > RedisClusterTopology.SLOTS) {
            throw bad(manifest, "a shard without slot ranges");
        }
        List<int[]> ranges = new ArrayList<>();
        for (Object r : list) {
            if (!(r instanceof List<?> pair)
                    || pair.size() != 2
                    || !(pair.get(0) instanceof Number a)
                    || !(pair.get(1) instanceof Number b)
                    || a.longValue() < 0
                    || b.longValue() >= RedisClusterTopology.SLOTS
                    || a.longValue() > b.longValue()) {
                throw bad(manifest, "a slot range that is not [first, last] within 0-16383");
            }
            ranges.add(new int[] {a.intValue(), b.intValue()});
        }
        return List.copyOf(ranges);
    }

    /** Key counts per database; absent counts give an empty map. */
    private static Map<String, Long> counts(Object value, BackupManifest manifest) {
        Map<String, Long> counts = new LinkedHashMap<>();
        if (value == null) {
            return counts;
        }
        if (!(value instanceof Map<?, ?> m)) {
            throw bad(manifest, "key counts that are not an object");
        }
        for (Map.Entry<?, ?> e : m.entrySet()) {
            if (!(e.getKey() instanceof String db) || !db.matches("\\d{1,5}") || !(e.getValue() instanceof Number n)) {
                throw bad(manifest, "a key count that is not a database number and a count");
            }
            counts.put(db, n.longValue());
        }
        return counts;
    }

    /** The ranges as lists for the manifest: {@code [[0, 5460], [10923, 10923]]}. */
    static List<List<Integer>> slotLists(List<int[]> ranges) {
        return ranges.stream().map(r -> List.of(r[0], r[1])).toList();
    }

    private static CorruptDataException bad(BackupManifest manifest, String what) {
        return new CorruptDataException("the manifest of Redis Cluster backup " + manifest.id() + " records " + what
                + "; it is damaged: check the repository, or restore another backup");
    }
}
