package dev.drkit.redis;

import dev.drkit.testkit.RedisCluster;
import io.lettuce.core.Consumer;
import io.lettuce.core.RedisURI;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.cluster.RedisClusterClient;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.api.sync.RedisAdvancedClusterCommands;
import io.lettuce.core.codec.ByteArrayCodec;
import io.lettuce.core.output.ArrayOutput;
import io.lettuce.core.protocol.CommandArgs;
import io.lettuce.core.protocol.CommandType;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/** Test data of every type with TTLs spread over a cluster's slots, and an exact view of its contents. */
final class RedisClusterData implements AutoCloseable {
    private final RedisClusterClient client;
    private final StatefulRedisClusterConnection<String, String> conn;
    private final StatefulRedisClusterConnection<byte[], byte[]> raw;
    final RedisAdvancedClusterCommands<String, String> sync;

    RedisClusterData(RedisCluster cluster) {
        RedisURI seed = RedisURI.create(cluster.uri());
        client = RedisClusterClient.create(seed);
        conn = client.connect();
        raw = client.connect(ByteArrayCodec.INSTANCE);
        sync = conn.sync();
    }

    /** Sets {@code key:0} to {@code key:<n-1>} in a cluster, spread over its slots. */
    static void strings(RedisCluster cluster, int n) {
        try (RedisClusterData data = new RedisClusterData(cluster)) {
            for (int i = 0; i < n; i++) {
                data.sync.set("key:" + i, "v" + i);
            }
        }
    }

    /** Strings, hashes, lists, sets, sorted sets, a stream with a group, hash-tagged keys, TTLs; returns the key count. */
    int populate() {
        int keys = 0;
        for (int i = 0; i < 1000; i++) {
            sync.set("str:" + i, "value " + i);
            keys++;
        }
        for (int i = 0; i < 100; i++) {
            sync.psetex("ttl:" + i, Duration.ofHours(2).toMillis() + i, "expiring " + i);
            sync.hset("hash:" + i, Map.of("name", "user " + i, "plan", i % 3 == 0 ? "pro" : "free"));
            sync.rpush("list:" + i, "a" + i, "b", "c");
            sync.sadd("set:" + i, "x", "y", String.valueOf(i));
            sync.zadd("zset:" + i, 1.5, "one", (double) i, "n");
            sync.set("{user:" + i + "}:name", "n" + i); // hash tags: both in the slot of user:i
            sync.set("{user:" + i + "}:mail", "m" + i);
            sync.pexpire("hash:" + i, Duration.ofDays(1).toMillis());
            keys += 7;
        }
        List<String> items = new ArrayList<>();
        for (int i = 0; i < 5000; i++) {
            items.add("item " + i);
        }
        sync.rpush("list:big", items.toArray(String[]::new));
        Map<String, String> big = new TreeMap<>();
        for (int i = 0; i < 1000; i++) {
            big.put("field" + i, "value " + i);
        }
        sync.hset("hash:big", big);
        sync.set("long:text", "lorem ipsum ".repeat(5000));
        for (int i = 0; i < 50; i++) {
            sync.xadd("stream:1", Map.of("n", String.valueOf(i)));
        }
        sync.xgroupCreate(XReadArgs.StreamOffset.from("stream:1", "0-0"), "workers");
        sync.xreadgroup(
                Consumer.from("workers", "w1"),
                XReadArgs.Builder.count(5),
                XReadArgs.StreamOffset.lastConsumed("stream:1"));
        return keys + 4;
    }

    /**
     * Every key with its type, value digest ({@code DEBUG DIGEST-VALUE}, which does not depend on
     * the order a hash table holds its elements in) and absolute expiry ({@code PEXPIRETIME}, -1 for
     * none).
     */
    Map<String, String> contents() {
        Map<String, String> m = new TreeMap<>();
        for (byte[] key : raw.sync().keys("*")) {
            List<Object> digest = raw.sync()
                    .dispatch(
                            CommandType.DEBUG,
                            new ArrayOutput<>(ByteArrayCodec.INSTANCE),
                            new CommandArgs<>(ByteArrayCodec.INSTANCE)
                                    .add("DIGEST-VALUE")
                                    .addKey(key));
            long expireAt = raw.sync().pexpiretime(key);
            m.put(
                    new String(key, StandardCharsets.UTF_8),
                    raw.sync().type(key) + " " + new String((byte[]) digest.get(0), StandardCharsets.US_ASCII)
                            + " expires " + expireAt);
        }
        return m;
    }

    @Override
    public void close() {
        raw.close();
        conn.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
}
