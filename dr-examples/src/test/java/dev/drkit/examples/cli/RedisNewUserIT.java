package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.Prerequisites;
import dev.drkit.testkit.RedisServer;
import io.lettuce.core.LettuceFutures;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RedisURI;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The Redis issue's "tried as a new user would", through the real jar, with 200k keys of several types. */
class RedisNewUserIT {
    static final int KEYS = 200_000;

    @TempDir
    Path work;

    /** 140k strings (20k expiring), 20k profile hashes, 20k lists, 10k sets, 10k sorted sets. */
    private static void load(RedisServer server) {
        RedisClient client = RedisClient.create(RedisURI.create(server.uri()));
        try (StatefulRedisConnection<String, String> conn = client.connect()) {
            RedisAsyncCommands<String, String> async = conn.async();
            conn.setAutoFlushCommands(false);
            List<RedisFuture<?>> batch = new ArrayList<>();
            for (int i = 0; i < KEYS; i++) {
                if (i < 140_000) {
                    batch.add(
                            i < 20_000
                                    ? async.psetex("session:" + i, 3_600_000, "token " + i)
                                    : async.set("cache:" + i, "value " + i));
                } else if (i < 160_000) {
                    batch.add(async.hset(
                            "profile:" + i, Map.of("name", "user " + i, "plan", i % 2 == 0 ? "pro" : "free")));
                } else if (i < 180_000) {
                    batch.add(async.rpush("events:" + i, "login", "view " + i, "logout"));
                } else if (i < 190_000) {
                    batch.add(async.sadd("tags:" + i, "red", "green", "t" + i % 50));
                } else {
                    batch.add(async.zadd("board:" + i, (double) i, "alice", i * 2.0, "bob"));
                }
                if (batch.size() == 5000) {
                    conn.flushCommands();
                    LettuceFutures.awaitAll(Duration.ofSeconds(60), batch.toArray(RedisFuture[]::new));
                    batch.clear();
                }
            }
            conn.flushCommands();
            LettuceFutures.awaitAll(Duration.ofSeconds(60), batch.toArray(RedisFuture[]::new));
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }

    private static <T> T with(RedisServer server, Function<RedisCommands<String, String>, T> f) {
        RedisClient client = RedisClient.create(RedisURI.create(server.uri()));
        try (StatefulRedisConnection<String, String> conn = client.connect()) {
            return f.apply(conn.sync());
        } finally {
            client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        }
    }

    @Test
    void snapshotVerifyRestoreLoadKeysModeAndCorruption() throws Exception {
        Path repo = work.resolve("repo");
        String id;
        try (RedisServer live = RedisServer.start()) {
            load(live);
            String uri = live.uri();

            CliProcess.Result backup = CliProcess.run(repo, "backup", "redis", "--name", "cache", "--uri", uri);
            assertThat(backup.exit()).as(backup.err()).isZero();
            id = backup.lastLine();

            CliProcess.Result verify =
                    CliProcess.run(repo, "verify", "--name", "cache", "--id", id, "--level", "restore");
            assertThat(verify.exit()).as(verify.out() + verify.err()).isZero();
            assertThat(verify.out())
                    .contains("redis-rdb")
                    .contains("redis-load-test")
                    .contains("loadSeconds")
                    .doesNotContain("FAILED");

            // a dump.rdb for a stopped server: redis-check-rdb accepts it and a fresh server loads it
            Path dataDir = work.resolve("redis-data");
            CliProcess.Result restore =
                    CliProcess.run(repo, "restore", "--name", "cache", "--id", id, "--to-dir", dataDir.toString());
            assertThat(restore.exit()).as(restore.err()).isZero();
            Path dump = dataDir.resolve("dump.rdb");
            Process check = new ProcessBuilder(
                            Prerequisites.requireTool("redis-check-rdb").toString(), dump.toString())
                    .redirectErrorStream(true)
                    .start();
            String checked = new String(check.getInputStream().readAllBytes());
            assertThat(check.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(check.exitValue()).as(checked).isZero();
            assertThat(checked).contains("RDB looks OK");
            try (RedisServer fresh = RedisServer.builder().loadDump(dump).start()) {
                with(fresh, r -> {
                    assertThat(r.dbsize()).isEqualTo(KEYS);
                    assertThat(r.get("cache:77777")).isEqualTo("value 77777");
                    assertThat(r.hgetall("profile:150001"))
                            .containsEntry("name", "user 150001")
                            .containsEntry("plan", "free");
                    assertThat(r.lrange("events:170000", 0, -1)).containsExactly("login", "view 170000", "logout");
                    assertThat(r.smembers("tags:185000")).containsExactlyInAnyOrder("red", "green", "t0");
                    assertThat(r.zscore("board:195000", "bob")).isEqualTo(390000.0);
                    assertThat(r.pttl("session:19999")).isBetween(1L, 3_600_000L);
                    assertThat(r.pttl("cache:77777")).isEqualTo(-1L);
                    return null;
                });
            }

            // keys mode: the profiles are deleted by accident and restored online, the rest left alone
            CliProcess.Result keys =
                    CliProcess.run(repo, "backup", "redis", "--name", "cache-keys", "--mode", "keys", "--uri", uri);
            assertThat(keys.exit()).as(keys.err()).isZero();
            with(live, r -> {
                List<String> profiles = r.keys("profile:*");
                assertThat(profiles).hasSize(20_000);
                for (int i = 0; i < profiles.size(); i += 1000) {
                    r.del(profiles.subList(i, Math.min(profiles.size(), i + 1000))
                            .toArray(String[]::new));
                }
                r.set("cache:20005", "written after the backup");
                return null;
            });
            CliProcess.Result online = CliProcess.run(
                    repo, "restore", "--name", "cache-keys", "--latest", "--to-uri", uri, "--match", "profile:*");
            assertThat(online.exit()).as(online.err()).isZero();
            with(live, r -> {
                assertThat(r.keys("profile:*")).hasSize(20_000);
                assertThat(r.hget("profile:159999", "name")).isEqualTo("user 159999");
                assertThat(r.get("cache:20005")).isEqualTo("written after the backup");
                assertThat(r.dbsize()).isEqualTo(KEYS);
                return null;
            });
        }

        // one flipped byte in the stored snapshot fails verify, naming the artifact
        Path stored = repo.resolve("backups/cache/" + id + "/dump.rdb.zst");
        byte[] bytes = Files.readAllBytes(stored);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(stored, bytes);
        CliProcess.Result corrupt = CliProcess.run(repo, "verify", "--name", "cache", "--id", id);
        assertThat(corrupt.exit()).isEqualTo(1);
        assertThat(corrupt.err() + corrupt.out()).contains("dump.rdb");
    }
}
