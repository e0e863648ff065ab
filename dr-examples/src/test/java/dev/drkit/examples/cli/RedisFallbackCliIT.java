package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.RedisServer;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Through the real jar: a server with SYNC and PSYNC renamed away is backed up key by key with one
 * line on stderr saying so, --keys-fallback false fails instead, and --acl-users brings users back.
 */
class RedisFallbackCliIT {
    @TempDir
    Path work;

    @Test
    void theFallbackIsSaidOnceAndUsersComeBackOnRequest() throws Exception {
        Path repo = work.resolve("repo");
        try (RedisServer locked = RedisServer.builder()
                        .configLine("rename-command", "SYNC \"\"")
                        .configLine("rename-command", "PSYNC \"\"")
                        .start();
                RedisServer fresh = RedisServer.start()) {
            locked.command("SET", "greeting", "hello");
            locked.command("ACL", "SETUSER", "app", "on", ">app-Pa55", "~*", "+get");

            CliProcess.Result backup =
                    CliProcess.run(repo, "backup", "redis", "--name", "cache", "--uri", locked.uri());
            assertThat(backup.exit()).as(backup.err()).isZero();
            long warnings = Arrays.stream(backup.err().split("\n"))
                    .filter(l -> l.contains("forbids replication snapshots"))
                    .count();
            assertThat(warnings).as(backup.err()).isEqualTo(1);
            assertThat(backup.err())
                    .contains("drkit: warning: cache: redis: " + locked.uri() + " forbids replication snapshots (PSYNC")
                    .contains("not point-in-time")
                    .contains("set --keys-fallback to false to fail instead")
                    .doesNotContain("[WARN]");

            CliProcess.Result strict = CliProcess.run(
                    repo, "backup", "redis", "--name", "strict", "--uri", locked.uri(), "--keys-fallback", "false");
            assertThat(strict.exit()).as(strict.err()).isEqualTo(1);
            assertThat(strict.err()).contains("--keys-fallback is false").doesNotContain("setting '");

            CliProcess.Result restore = CliProcess.run(
                    repo, "restore", "--name", "cache", "--latest", "--to-uri", fresh.uri(), "--acl-users");
            assertThat(restore.exit()).as(restore.err()).isZero();
            assertThat(fresh.command("GET", "greeting")).isEqualTo("hello");
            assertThat(fresh.command("ACL", "LIST")).isEqualTo(locked.command("ACL", "LIST"));
        }
    }
}
