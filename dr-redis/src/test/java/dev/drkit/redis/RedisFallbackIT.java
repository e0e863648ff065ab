package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupResult;
import dev.drkit.DrEvent;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.DrListener;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.testkit.RedisServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Servers that forbid replication snapshots are backed up key by key, saying so once. */
class RedisFallbackIT {
    @TempDir
    Path dir;

    private DrKit kit;
    private final List<DrEvent> events = new CopyOnWriteArrayList<>();

    @BeforeEach
    void setUp() {
        kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .listener(new DrListener() {
                    @Override
                    public void onEvent(DrEvent event) {
                        events.add(event);
                    }
                })
                .build();
    }

    @AfterEach
    void close() {
        kit.close();
    }

    private List<DrEvent> warnings() {
        return events.stream()
                .filter(e -> e.type() == DrEvent.Type.BACKUP_WARNING)
                .toList();
    }

    @Test
    void aServerWithSyncAndPsyncRenamedAwayIsBackedUpKeyByKeyAndRestoresExactly() throws Exception {
        Map<String, String> before;
        Map<String, Long> ttlsBefore;
        BackupResult b;
        long readAt;
        try (RedisServer server = RedisServer.builder()
                        .configLine("rename-command", "SYNC \"\"")
                        .configLine("rename-command", "PSYNC \"\"")
                        .start();
                RedisData data = new RedisData(server)) {
            data.populate();
            data.sync.psetex("ttl:odd", 987_654, "an odd expiry");
            before = data.contents();
            ttlsBefore = Expiries.of(data);
            readAt = System.currentTimeMillis();
            b = kit.backup(new TargetSpec(
                    "cache",
                    "redis",
                    Settings.builder().set("uri", server.uri()).build()));

            Map<String, Object> meta = b.manifest().metadata();
            assertThat(meta)
                    .containsEntry("mode", "keys")
                    .containsEntry("requestedMode", "rdb")
                    .containsEntry("keys", (long) before.size())
                    .doesNotContainKey("replicationId");
            assertThat(meta.get("fallbackReason")).asString().startsWith("PSYNC: ERR unknown command");
            assertThat(warnings()).hasSize(1);
            assertThat(warnings().get(0).message())
                    .contains("forbids replication snapshots (PSYNC: ERR unknown command")
                    .contains("not point-in-time")
                    .contains("setting 'keys-fallback'");

            Settings strict = Settings.builder()
                    .set("uri", server.uri())
                    .set("keys-fallback", "false")
                    .build();
            assertThatThrownBy(() -> kit.backup(new TargetSpec("strict", "redis", strict)))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining("refused PSYNC")
                    .hasMessageContaining("setting 'keys-fallback' is false");
            assertThat(kit.list("strict")).isEmpty();
        }
        try (RedisServer empty = RedisServer.start();
                RedisData data = new RedisData(empty)) {
            kit.restore(new RestoreRequest(
                    "cache",
                    b.id(),
                    Settings.builder().set("to-uri", empty.uri()).build(),
                    false));
            assertThat(data.contents()).isEqualTo(before);
            Expiries.assertKept(ttlsBefore, Expiries.of(data), System.currentTimeMillis() - readAt);
        }
    }

    @Test
    void aUserDeniedPsyncByAclFallsBackToo() throws Exception {
        try (RedisServer server = RedisServer.start();
                RedisData data = new RedisData(server)) {
            data.populate();
            server.command("ACL", "SETUSER", "backup", "on", ">backup-pw", "~*", "&*", "+@all", "-psync", "-sync");
            Files.writeString(dir.resolve("pw"), "backup-pw");
            Files.setPosixFilePermissions(dir.resolve("pw"), PosixFilePermissions.fromString("rw-------"));
            BackupResult b = kit.backup(new TargetSpec(
                    "cache",
                    "redis",
                    Settings.builder()
                            .set("uri", "redis://backup@127.0.0.1:" + server.port())
                            .set("password-file", dir.resolve("pw").toString())
                            .build()));
            assertThat(b.manifest().metadata()).containsEntry("mode", "keys").containsEntry("keys", (long)
                    data.contents().size());
            assertThat(b.manifest().metadata().get("fallbackReason")).asString().startsWith("PSYNC: NOPERM");
            assertThat(warnings()).hasSize(1);
        }
    }
}
