package dev.drkit.redis;

import dev.drkit.testkit.RedisServer;
import io.lettuce.core.Consumer;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScoredValue;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;

/** Test data of every type, and a canonical view of a server's contents to compare. */
final class RedisData implements AutoCloseable {
    private final RedisClient client;
    private final StatefulRedisConnection<String, String> conn;
    final RedisCommands<String, String> sync;

    RedisData(RedisServer server) {
        RedisURI.Builder b = RedisURI.builder().withHost(server.host()).withPort(server.port());
        if (server.password() != null) {
            b.withPassword(server.password().toCharArray());
        }
        client = RedisClient.create(b.build());
        conn = client.connect();
        sync = conn.sync();
    }

    /** Strings (plain, integer, long and compressible, long key names), hashes, lists, sets, zsets, a stream, TTLs, db 1. */
    void populate() {
        for (int i = 1; i <= 300; i++) {
            sync.set("str:" + i, "value " + i);
        }
        sync.set("int:1", "12345");
        sync.set("int:neg", "-70000");
        sync.set("long:text", "lorem ipsum ".repeat(10_000));
        sync.set("k".repeat(200) + ":compressible-key", "v");
        sync.set("bin:1", new String(new char[] {0, 1, 2, 255, 'x'}));
        sync.hset("hash:small", Map.of("a", "1", "b", "2"));
        Map<String, String> big = new TreeMap<>();
        for (int i = 0; i < 1000; i++) {
            big.put("field" + i, "value " + i);
        }
        sync.hset("hash:big", big);
        sync.rpush("list:small", "a", "b", "c");
        List<String> items = new ArrayList<>();
        for (int i = 0; i < 10_000; i++) {
            items.add("item " + i);
        }
        sync.rpush("list:big", items.toArray(String[]::new));
        for (int i = 0; i < 100; i++) {
            sync.sadd("set:int", String.valueOf(i));
            sync.sadd("set:big", "member " + i * 7919);
        }
        sync.sadd("set:small", "x", "y");
        sync.zadd("zset:small", 1.5, "one", 2.0, "two");
        for (int i = 0; i < 500; i++) {
            sync.zadd("zset:big", i / 3.0, "member " + i);
        }
        for (int i = 0; i < 100; i++) {
            sync.xadd("stream:1", Map.of("n", String.valueOf(i), "kind", i % 2 == 0 ? "even" : "odd"));
        }
        sync.xgroupCreate(XReadArgs.StreamOffset.from("stream:1", "0-0"), "workers");
        sync.xreadgroup(
                Consumer.from("workers", "w1"),
                XReadArgs.Builder.count(10),
                XReadArgs.StreamOffset.lastConsumed("stream:1"));
        for (int i = 1; i <= 10; i++) {
            sync.psetex("ttl:" + i, Duration.ofHours(2).toMillis(), "expiring " + i);
        }
        for (int i = 1; i <= 50; i++) {
            sync.hset("profile:" + i, Map.of("name", "user " + i, "plan", i % 3 == 0 ? "pro" : "free"));
        }
        sync.select(1);
        sync.set("other:1", "in db 1");
        sync.select(0);
    }

    /** Every key of every database, rendered canonically with its type, value and whether it expires. */
    Map<String, String> contents() {
        Map<String, String> all = new TreeMap<>();
        for (int db = 0; db < 16; db++) {
            sync.select(db);
            for (String key : sync.keys("*")) {
                all.put(db + "/" + key, render(key));
            }
        }
        sync.select(0);
        return all;
    }

    private String render(String key) {
        String type = sync.type(key);
        long pttl = sync.pttl(key);
        String ttl = pttl > 0 ? " ttl" : "";
        Function<List<String>, String> join = l -> String.join(",", l);
        String value = switch (type) {
            case "string" -> sync.get(key);
            case "hash" -> new TreeMap<>(sync.hgetall(key)).toString();
            case "list" -> join.apply(sync.lrange(key, 0, -1));
            case "set" -> new TreeSet<>(sync.smembers(key)).toString();
            case "zset" ->
                sync.zrangeWithScores(key, 0, -1).stream()
                        .map(ScoredValue::toString)
                        .toList()
                        .toString();
            case "stream" ->
                sync.xrange(key, Range.create("-", "+")).stream()
                                .map(m -> m.getId() + new TreeMap<>(m.getBody()))
                                .toList()
                        + " groups=" + sync.xinfoGroups(key) + " pending=" + sync.xpending(key, "workers");
            default -> "?";
        };
        return type + ttl + " " + value;
    }

    long dbsize(int db) {
        sync.select(db);
        long n = sync.dbsize();
        sync.select(0);
        return n;
    }

    @SuppressWarnings("unused")
    private static String ids(List<StreamMessage<String, String>> messages) {
        return messages.stream().map(StreamMessage::getId).toList().toString();
    }

    @Override
    public void close() {
        conn.close();
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
    }
}
