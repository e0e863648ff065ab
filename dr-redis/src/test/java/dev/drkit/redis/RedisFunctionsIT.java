package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.testkit.RedisServer;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Redis 7 function libraries (FUNCTION LOAD) travel with a backup, a snapshot or one in keys
 * mode (FUNCTION DUMP): an online restore loads them before the keys, keeps a library that exists unless forced, and replaces it when forced.
 */
class RedisFunctionsIT {
    private static final String LIBRARY = "#!lua name=drkitlib\n"
            + "redis.register_function('drkit_hello', function(keys, args) return 'hello from the backup' end)";
    private static final String OTHER = "#!lua name=drkitlib\n"
            + "redis.register_function('drkit_hello', function(keys, args) return 'the live one' end)";

    @TempDir
    Path dir;

    @ParameterizedTest
    @ValueSource(strings = {"rdb", "keys"})
    void anOnlineRestoreLoadsTheFunctionLibrariesOfTheBackup(String mode) throws Exception {
        try (RedisServer source = RedisServer.start();
                RedisServer target = RedisServer.start();
                DrKit kit = DrKit.builder()
                        .repository(dir.resolve("repo").toString())
                        .build()) {
            assertThat(source.command("FUNCTION", "LOAD", LIBRARY)).isEqualTo("drkitlib");
            source.command("SET", "k", "v");
            String id = kit.backup(new TargetSpec(
                            "cache",
                            RedisTargetProvider.TYPE,
                            Settings.builder()
                                    .set("uri", source.uri())
                                    .set("mode", mode)
                                    .build()))
                    .id();
            assertThat(kit.list("cache").get(0).metadata()).containsEntry("functions", 1);
            Settings online = Settings.builder().set("to-uri", target.uri()).build();

            kit.restore(new RestoreRequest("cache", id, online, false));

            assertThat(target.command("FCALL", "drkit_hello", "0")).isEqualTo("hello from the backup");
            assertThat(target.command("GET", "k")).isEqualTo("v");

            // an existing library is kept, like an existing key, unless the restore is forced
            target.command("FUNCTION", "LOAD", "REPLACE", OTHER);
            kit.restore(new RestoreRequest("cache", id, online, false));
            assertThat(target.command("FCALL", "drkit_hello", "0")).isEqualTo("the live one");
            kit.restore(new RestoreRequest("cache", id, online, true));
            assertThat(target.command("FCALL", "drkit_hello", "0")).isEqualTo("hello from the backup");
        }
    }
}
