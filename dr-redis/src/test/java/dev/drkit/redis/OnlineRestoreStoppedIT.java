package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupResult;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.testkit.RedisServer;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An online restore that failed after keys were sent (a node gone, a connection dropped for good,
 * a key refused) said only what failed: not that part of the backup was now in the server, nor
 * what a second restore would do with it. The failure now says how many keys stayed.
 */
class OnlineRestoreStoppedIT {
    @TempDir
    Path dir;

    @Test
    void aRestoreThatFailsAfterKeysWereSentSaysTheyStay() throws Exception {
        try (DrKit kit = DrKit.builder()
                        .repository(dir.resolve("repo").toString())
                        .build();
                RedisServer server = RedisServer.start()) {
            for (int i = 0; i < 100; i++) {
                server.command("SET", "a:" + i, "v" + i);
            }
            // database 1 comes after database 0 in a snapshot: its key is refused after those of 0 went
            server.command("SET", "z:1", "x");
            assertThat(server.command("MOVE", "z:1", "1")).isEqualTo("1");
            BackupResult b = kit.backup(new TargetSpec(
                    "cache",
                    "redis",
                    Settings.builder().set("uri", server.uri()).build()));
            assertThat(server.command("FLUSHALL")).isEqualTo("OK");
            server.command("ACL", "SETUSER", "restorer", "on", ">pw", "~a:*", "+@all");

            Settings to = Settings.builder()
                    .set("to-uri", "redis://restorer:pw@" + server.host() + ":" + server.port())
                    .build();
            assertThatThrownBy(() -> kit.restore(new RestoreRequest("cache", b.id(), to, false)))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining("RESTORE of key 'z:1'")
                    .hasMessageContaining("at least 100 keys of the backup were restored into")
                    .hasMessageContaining("a restore again keeps them");
            assertThat(server.command("DBSIZE")).isEqualTo("100");
        }
    }
}
