package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.testkit.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A target built in code around the host's Lettuce client, configured in the kit by name. */
class RedisTargetBuilderIT {
    @TempDir
    Path dir;

    @Test
    void keysComeBackThroughTheHostsClientAndExistingKeysAreKeptUnlessForced() throws Exception {
        try (RedisServer server = RedisServer.start()) {
            RedisClient hostClient = RedisClient.create(server.uri());
            try (StatefulRedisConnection<String, String> conn = hostClient.connect()) {
                RedisCommands<String, String> redis = conn.sync();
                redis.set("user:1", "ada");
                redis.set("user:2", "bob");
                redis.hset("profile:1", Map.of("name", "Ada", "lang", "en"));
                redis.set("session:1", "token");
                redis.expire("session:1", Duration.ofHours(1));

                RedisTarget target = RedisTarget.builder()
                        .client(hostClient)
                        .settings(Settings.builder().set("mode", "keys").build())
                        .build();
                try (DrKit kit = DrKit.builder()
                        .repository(dir.resolve("repo").toString())
                        .target("cache", target)
                        .build()) {
                    BackupResult b = kit.backup("cache");
                    assertThat(b.manifest().metadata())
                            .containsEntry("mode", "keys")
                            .containsEntry("keys", 4L);

                    redis.del("user:1", "profile:1", "session:1");
                    redis.set("user:2", "bob, changed after the backup");

                    kit.restore(new RestoreRequest("cache", b.id(), Settings.empty(), false));
                    assertThat(redis.get("user:1")).isEqualTo("ada");
                    assertThat(redis.hgetall("profile:1")).isEqualTo(Map.of("name", "Ada", "lang", "en"));
                    assertThat(redis.get("session:1")).isEqualTo("token");
                    assertThat(redis.ttl("session:1")).isBetween(1L, 3600L);
                    assertThat(redis.get("user:2"))
                            .as("a key that exists is kept")
                            .isEqualTo("bob, changed after the backup");

                    kit.restore(new RestoreRequest("cache", b.id(), Settings.empty(), true));
                    assertThat(redis.get("user:2"))
                            .as("forced, the backup's value")
                            .isEqualTo("bob");
                }
                // the host's client is still the host's: the kit did not shut it down
                try (StatefulRedisConnection<String, String> again = hostClient.connect()) {
                    assertThat(again.sync().get("user:1")).isEqualTo("ada");
                }
            } finally {
                hostClient.shutdown();
            }
        }
    }
}
