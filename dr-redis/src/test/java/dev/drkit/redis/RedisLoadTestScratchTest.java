package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.spi.support.PrivateScratch;
import dev.drkit.storage.FileStorageBackend;
import dev.drkit.testkit.RedisServer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The load test's scratch redis-server holds the decrypted snapshot on a loopback TCP port,
 * where every local user may connect: it asked for no password, so anyone could read the backup
 * while it ran (and after a kill -9 of drkit, when the server is orphaned), and its directory was
 * outside drkit's private scratch area, so what a killed run left was never removed.
 */
class RedisLoadTestScratchTest {
    @TempDir
    Path dir;

    @Test
    void theScratchServerOfALoadTestNeedsAPasswordAndLivesInThePrivateScratchArea() throws Exception {
        Path out = Files.createDirectories(dir.resolve("out"));
        // stands in for redis-server: starts the real one, then reads a key as a client without a password
        Path wrapper = dir.resolve("redis-server");
        Files.writeString(
                wrapper,
                String.join(
                        "\n",
                        "#!/bin/sh",
                        "if [ \"$1\" = --version ]; then exec redis-server --version; fi",
                        "cp \"$1\" " + out.resolve("redis.conf"),
                        "sed -n 's/^dir //p' \"$1\" > " + out.resolve("dir"),
                        "port=$(sed -n 's/^port //p' \"$1\")",
                        // best effort (the window is short): read the key as a client without a password
                        "( i=0; while [ $i -lt 400 ]; do",
                        "  v=$(redis-cli -h 127.0.0.1 -p \"$port\" GET session:42 2>/dev/null)",
                        "  case \"$v\" in tok-*) echo \"$v\" > " + out.resolve("stolen") + "; exit;; esac",
                        "  i=$((i+1)); done ) &",
                        "exec redis-server \"$@\"",
                        ""));
        Files.setPosixFilePermissions(wrapper, PosixFilePermissions.fromString("rwx------"));
        try (RedisServer source = RedisServer.builder().password("source-pass").start();
                RedisData data = new RedisData(source);
                DrKit kit = DrKit.builder()
                        .storage(new FileStorageBackend(dir.resolve("repo")))
                        .build()) {
            data.sync.set("session:42", "tok-secret-session");
            data.sync.save();
            TargetSpec spec = new TargetSpec(
                    "cache",
                    RedisTargetProvider.TYPE,
                    Settings.builder()
                            .set("uri", source.uri())
                            .set("password", "source-pass")
                            .build());
            BackupResult backup = kit.backup(spec);
            VerifyReport report = kit.verify(
                    "cache",
                    backup.id(),
                    VerifyLevel.RESTORE,
                    Settings.builder().set("redis-server", wrapper.toString()).build());
            assertThat(report.problems()).isEmpty();
            assertThat(report.passed()).isTrue();
        }
        assertThat(out.resolve("dir")).exists();
        Path scratch = Path.of(
                Files.readString(out.resolve("dir"), StandardCharsets.UTF_8).strip());
        String conf = Files.readString(out.resolve("redis.conf"), StandardCharsets.UTF_8);
        assertThat(out.resolve("stolen"))
                .as("a client without a password read the backup's key from the scratch server")
                .doesNotExist();
        assertThat(conf)
                .as("the scratch server's configuration: a loopback TCP port any local user may connect to")
                .containsPattern("(?m)^requirepass \\S+");
        assertThat(scratch)
                .as("the scratch server's directory, which a killed run leaves behind")
                .startsWithRaw(PrivateScratch.current().parent());
    }
}
