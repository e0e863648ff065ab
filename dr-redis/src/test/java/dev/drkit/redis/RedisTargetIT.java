package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupResult;
import dev.drkit.ConfigException;
import dev.drkit.DestinationNotEmptyException;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerificationResult;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.testkit.Prerequisites;
import dev.drkit.testkit.RedisServer;
import io.lettuce.core.AclSetuserArgs;
import io.lettuce.core.SetArgs;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Backups and restores of real Redis 7 (PATH) and 6.2 (embedded binary) servers. */
class RedisTargetIT {
    @TempDir
    Path dir;

    DrKit kit;

    @BeforeEach
    void setUp() {
        kit = DrKit.builder().repository(dir.resolve("repo").toString()).build();
    }

    static Stream<Arguments> servers() {
        return Stream.of(
                Arguments.of("7, diskless", false, "yes"),
                Arguments.of("7, disk", false, "no"),
                Arguments.of("6.2, disk", true, "no"),
                Arguments.of("6.2, diskless", true, "yes"));
    }

    static Stream<Arguments> versions() {
        return Stream.of(Arguments.of("7", false), Arguments.of("6.2", true));
    }

    private static RedisServer start(boolean embedded62, String diskless) throws Exception {
        RedisServer.Builder b = RedisServer.builder().config("repl-diskless-sync", diskless);
        return (embedded62 ? b.embedded62() : b).start();
    }

    private static Settings source(RedisServer server, String... more) {
        Settings.Builder s = Settings.builder().set("uri", server.uri());
        for (int i = 0; i < more.length; i += 2) {
            s.set(more[i], more[i + 1]);
        }
        return s.build();
    }

    @ParameterizedTest(name = "Redis {0}")
    @MethodSource("servers")
    void snapshotRestoresToADumpThatAFreshServerLoads(String label, boolean embedded62, String diskless)
            throws Exception {
        Map<String, String> before;
        BackupResult b;
        try (RedisServer server = start(embedded62, diskless);
                RedisData data = new RedisData(server)) {
            data.populate();
            before = data.contents();
            b = kit.backup(new TargetSpec("cache", "redis", source(server)));
            Map<String, Object> meta = b.manifest().metadata();
            assertThat(meta)
                    .containsEntry("mode", "rdb")
                    .containsEntry("redisVersion", server.version())
                    .containsEntry("rdbVersion", embedded62 ? 9 : 10)
                    .containsEntry("checksum", "valid")
                    .containsEntry("transfer", diskless.equals("yes") ? "diskless" : "disk");
            assertThat(((Number) meta.get("keys")).longValue()).isEqualTo(before.size());
            assertThat(meta.get("keysPerDb")).isEqualTo(Map.of("0", (long) before.size() - 1, "1", 1L));
            assertThat(meta.get("expires")).isEqualTo(10L);
            assertThat(meta).containsEntry("fieldExpiryKeys", 0L).containsEntry("moduleValues", 0L);
            assertThat(meta.get("replicationId")).asString().hasSize(40);
        }
        VerifyReport report = kit.verify("cache", b.id(), VerifyLevel.DECODE);
        assertThat(report.passed()).as(report.problems().toString()).isTrue();
        assertThat(report.results()).extracting(VerificationResult::verifier).contains("redis-rdb");

        Path out = dir.resolve("restored");
        kit.restore(new RestoreRequest(
                "cache",
                b.id(),
                Settings.builder().set("to-dir", out.toString()).build(),
                false));
        Path dump = out.resolve("dump.rdb");
        assertThat(checkRdb(dump)).contains("RDB looks OK");
        RedisServer.Builder fresh = RedisServer.builder().loadDump(dump);
        try (RedisServer loaded = (embedded62 ? fresh.embedded62() : fresh).start();
                RedisData data = new RedisData(loaded)) {
            assertThat(data.contents()).isEqualTo(before);
        }
    }

    /** redis-check-rdb's output; fails the test when it rejects the file. */
    private static String checkRdb(Path file) throws Exception {
        Path tool = Prerequisites.requireTool("redis-check-rdb");
        Process p = new ProcessBuilder(tool.toString(), file.toString())
                .redirectErrorStream(true)
                .start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(out).isZero();
        return out;
    }

    @ParameterizedTest(name = "Redis {0}")
    @MethodSource("versions")
    void keysModeRestoresDeletedKeysOnlineAndLeavesTheOthersAlone(String label, boolean embedded62) throws Exception {
        try (RedisServer server = start(embedded62, "yes");
                RedisData data = new RedisData(server)) {
            data.populate();
            Map<String, String> before = data.contents();
            BackupResult b = kit.backup(new TargetSpec("cache", "redis", source(server, "mode", "keys")));
            assertThat(b.manifest().metadata()).containsEntry("mode", "keys").containsEntry("keys", (long)
                    before.size());
            assertThat(kit.verify("cache", b.id(), VerifyLevel.DECODE).passed()).isTrue();

            // the accident: every profile is deleted; meanwhile other keys change and one profile is recreated
            List<String> profiles = data.sync.keys("profile:*");
            assertThat(profiles).hasSize(50);
            data.sync.del(profiles.toArray(String[]::new));
            data.sync.set("str:1", "changed after the backup");
            data.sync.hset("profile:7", Map.of("name", "recreated live"));

            Settings online = Settings.builder()
                    .set("to-uri", server.uri())
                    .set("match", "profile:*")
                    .build();
            kit.restore(new RestoreRequest("cache", b.id(), online, false));
            Map<String, String> after = data.contents();
            for (String key : before.keySet()) {
                if (key.startsWith("0/profile:") && !key.equals("0/profile:7")) {
                    assertThat(after.get(key)).as(key).isEqualTo(before.get(key));
                }
            }
            assertThat(data.sync.hget("profile:7", "name")).isEqualTo("recreated live"); // kept: it exists
            assertThat(data.sync.get("str:1")).isEqualTo("changed after the backup"); // not matched: untouched

            kit.restore(new RestoreRequest("cache", b.id(), online, true)); // --force replaces
            assertThat(data.sync.hget("profile:7", "name")).isEqualTo("user 7");
            assertThat(data.sync.get("str:1")).isEqualTo("changed after the backup");
        }
    }

    @ParameterizedTest(name = "Redis {0}")
    @MethodSource("versions")
    void snapshotRestoresOnlineIntoAnEmptyServerWithTtls(String label, boolean embedded62) throws Exception {
        Map<String, String> before;
        BackupResult b;
        try (RedisServer server = start(embedded62, "yes");
                RedisData data = new RedisData(server)) {
            data.populate();
            before = data.contents();
            b = kit.backup(new TargetSpec("cache", "redis", source(server)));
        }
        try (RedisServer empty = start(embedded62, "yes");
                RedisData data = new RedisData(empty)) {
            kit.restore(new RestoreRequest(
                    "cache",
                    b.id(),
                    Settings.builder().set("to-uri", empty.uri()).build(),
                    false));
            assertThat(data.contents()).isEqualTo(before);
            assertThat(data.sync.pttl("ttl:3")).isBetween(1L, 2 * 3600_000L);
        }
    }

    @Test
    void anRdbNewerThanTheDestinationLoadsIsRefusedSayingWhatFits() throws Exception {
        BackupResult b;
        try (RedisServer seven = RedisServer.start();
                RedisData data = new RedisData(seven)) {
            data.sync.set("a", "1");
            b = kit.backup(new TargetSpec("cache", "redis", source(seven)));
        }
        try (RedisServer old = RedisServer.builder().embedded62().start();
                RedisData data = new RedisData(old)) {
            Settings online = Settings.builder().set("to-uri", old.uri()).build();
            assertThatThrownBy(() -> kit.restore(new RestoreRequest("cache", b.id(), online, true)))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("RDB version 10")
                    .hasMessageContaining("Redis 7.0 or newer")
                    .hasMessageContaining("up to 9");
            assertThat(data.dbsize(0)).isZero();
        }
        Settings toDir = Settings.builder()
                .set("to-dir", dir.resolve("old").toString())
                .set("server-version", "6.2.11")
                .build();
        assertThatThrownBy(() -> kit.restore(new RestoreRequest("cache", b.id(), toDir, false)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("up to 9");
        assertThat(dir.resolve("old/dump.rdb")).doesNotExist();
    }

    @Test
    void aRestoreTestLoadsTheSnapshotIntoAScratchServerAndTimesIt() throws Exception {
        BackupResult b;
        Path embedded62;
        try (RedisServer server = RedisServer.start();
                RedisData data = new RedisData(server);
                RedisServer old = RedisServer.builder().embedded62().start()) {
            embedded62 = old.binary();
            data.populate();
            // long enough to be in the snapshot even on a loaded machine, then waited out
            long expiresAt = System.currentTimeMillis() + 10_000;
            data.sync.set("short-lived", "gone soon", SetArgs.Builder.pxAt(expiresAt));
            b = kit.backup(new TargetSpec("cache", "redis", source(server)));
            assertThat(b.manifest().finishedAt().toEpochMilli())
                    .as("the backup ended before the short-lived key expired")
                    .isLessThan(expiresAt);
            // the short-lived key expires: a server loading the snapshot drops it
            Thread.sleep(Math.max(0, expiresAt - System.currentTimeMillis()) + 100);
        }
        VerifyReport report = kit.verify("cache", b.id(), VerifyLevel.RESTORE);
        assertThat(report.passed()).as(report.problems().toString()).isTrue();
        VerificationResult load = report.results().stream()
                .filter(r -> r.verifier().equals("redis-load-test"))
                .findFirst()
                .orElseThrow();
        assertThat(load.details())
                .containsKey("loadSeconds")
                .containsEntry("expiredSinceBackup", 1L)
                .containsEntry("keysLoaded", ((Number) b.manifest().metadata().get("keys")).longValue() - 1);

        // a server too old for the snapshot's RDB version fails the test, saying why
        VerifyReport old = kit.verify(
                "cache",
                b.id(),
                VerifyLevel.RESTORE,
                Settings.builder().set("redis-server", embedded62.toString()).build());
        assertThat(old.passed()).isFalse();
        assertThat(String.join("\n", old.problems()))
                .contains("redis-server exited while loading")
                .contains("RDB format version 10");
        try (var left = Files.list(Path.of(System.getProperty("java.io.tmpdir")))) {
            assertThat(left.map(p -> p.getFileName().toString())).noneMatch(n -> n.startsWith("drkit-redis-verify-"));
        }
    }

    @Test
    void snapshotsOfAChangingServerDeduplicateAndRestoreToDumpsThatLoad() throws Exception {
        Map<String, String> firstContents;
        Map<String, String> secondContents;
        BackupResult first;
        BackupResult second;
        try (RedisServer server = RedisServer.start();
                RedisData data = new RedisData(server)) {
            data.populate();
            // a large value that stays the same between the snapshots: its chunks are stored once
            data.sync.set("big", "v".repeat(3 << 20) + "end");
            firstContents = data.contents();
            first = kit.backup(new TargetSpec("cache", "redis", source(server, "dedup", "true")));
            data.sync.set("changed", "after the first snapshot");
            secondContents = data.contents();
            second = kit.backup(new TargetSpec("cache", "redis", source(server, "dedup", "true")));
        }
        assertThat(second.manifest().artifacts().get(0).storedName()).endsWith(".chunks");
        assertThat(kit.verify("cache", second.id(), VerifyLevel.DECODE).passed())
                .isTrue();
        for (BackupResult b : List.of(first, second)) {
            Path out = dir.resolve("restored-" + b.id());
            kit.restore(new RestoreRequest(
                    "cache",
                    b.id(),
                    Settings.builder().set("to-dir", out.toString()).build(),
                    false));
            assertThat(checkRdb(out.resolve("dump.rdb"))).contains("RDB looks OK");
            try (RedisServer loaded = RedisServer.builder()
                            .loadDump(out.resolve("dump.rdb"))
                            .start();
                    RedisData data = new RedisData(loaded)) {
                assertThat(data.contents()).isEqualTo(b == first ? firstContents : secondContents);
            }
        }
    }

    @Test
    void anExistingDumpIsReplacedOnlyWithForce() throws Exception {
        BackupResult b;
        try (RedisServer server = RedisServer.start();
                RedisData data = new RedisData(server)) {
            data.sync.set("a", "1");
            b = kit.backup(new TargetSpec("cache", "redis", source(server)));
        }
        Path target = dir.resolve("data");
        Files.createDirectories(target);
        Files.writeString(target.resolve("dump.rdb"), "the live server's file");
        Settings toDir = Settings.builder().set("to-dir", target.toString()).build();
        assertThatThrownBy(() -> kit.restore(new RestoreRequest("cache", b.id(), toDir, false)))
                .isInstanceOf(DestinationNotEmptyException.class)
                .hasMessageContaining("RestoreRequest.force");
        assertThat(Files.readString(target.resolve("dump.rdb"))).isEqualTo("the live server's file");
        kit.restore(new RestoreRequest("cache", b.id(), toDir, true));
        assertThat(checkRdb(target.resolve("dump.rdb"))).contains("RDB looks OK");
        try (var files = Files.list(target)) {
            assertThat(files.map(p -> p.getFileName().toString())).containsExactly("dump.rdb"); // no temp files left
        }
    }

    @Test
    void aFlippedByteInTheStoredSnapshotFailsVerifyAndRestore() throws Exception {
        BackupResult b;
        try (RedisServer server = RedisServer.start();
                RedisData data = new RedisData(server)) {
            data.populate();
            b = kit.backup(new TargetSpec("cache", "redis", source(server)));
        }
        var artifact = b.manifest().artifact("dump.rdb").orElseThrow();
        Path stored = dir.resolve("repo/backups/cache/" + b.id() + "/" + artifact.storedName());
        byte[] bytes = Files.readAllBytes(stored);
        bytes[bytes.length / 2] ^= 0x01;
        Files.write(stored, bytes);
        VerifyReport report = kit.verify("cache", b.id(), VerifyLevel.DECODE);
        assertThat(report.passed()).isFalse();
        assertThat(String.join("\n", report.problems())).contains("dump.rdb");
        Path out = dir.resolve("restored");
        assertThatThrownBy(() -> kit.restore(new RestoreRequest(
                        "cache",
                        b.id(),
                        Settings.builder().set("to-dir", out.toString()).build(),
                        false)))
                .isInstanceOf(DrException.class);
        assertThat(out.resolve("dump.rdb")).doesNotExist();
    }

    @Test
    void anRdbWithoutChecksumIsUnverifiedNotValid() throws Exception {
        try (RedisServer server =
                        RedisServer.builder().config("rdbchecksum", "no").start();
                RedisData data = new RedisData(server)) {
            data.sync.set("a", "1");
            BackupResult b = kit.backup(new TargetSpec("cache", "redis", source(server)));
            assertThat(b.manifest().metadata()).containsEntry("checksum", "absent");
            VerifyReport report = kit.verify("cache", b.id(), VerifyLevel.DECODE);
            VerificationResult rdb = report.results().stream()
                    .filter(r -> r.verifier().equals("redis-rdb"))
                    .findFirst()
                    .orElseThrow();
            assertThat(rdb.status()).isEqualTo(VerificationResult.Status.UNVERIFIED);
            assertThat(rdb.problems().get(0)).contains("no CRC-64");
        }
    }

    @Test
    void passwordsComeFromAFileAndAWrongOneIsAClearErrorWithoutTheSecret() throws Exception {
        try (RedisServer server = RedisServer.builder().password("s3cret-Pa55").start();
                RedisData data = new RedisData(server)) {
            data.sync.set("a", "1");
            Path good = dir.resolve("good");
            Files.writeString(good, "s3cret-Pa55\n");
            Files.setPosixFilePermissions(good, PosixFilePermissions.fromString("rw-------"));
            for (String mode : List.of("rdb", "keys")) {
                BackupResult b = kit.backup(new TargetSpec(
                        "cache", "redis", source(server, "password-file", good.toString(), "mode", mode)));
                assertThat(b.manifest().metadata()).containsEntry("keys", 1L);
            }
            Path bad = dir.resolve("bad");
            Files.writeString(bad, "wrong-Pa55\n");
            Files.setPosixFilePermissions(bad, PosixFilePermissions.fromString("rw-------"));
            assertThatThrownBy(() -> kit.backup(
                            new TargetSpec("cache", "redis", source(server, "password-file", bad.toString()))))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("authentication to " + server.uri())
                    .satisfies(e -> assertThat(e.getMessage())
                            .doesNotContain("wrong-Pa55")
                            .doesNotContain("s3cret"));
        }
    }

    @Test
    void overTlsWithAPrivateCaAndAsAnAclUser() throws Exception {
        try (RedisServer server = RedisServer.builder().tls().start();
                RedisData data = new RedisData(server)) {
            data.populate();
            long keys = data.contents().size();
            data.sync.aclSetuser(
                    "backup",
                    AclSetuserArgs.Builder.on()
                            .addPassword("acl-Pa55")
                            .allKeys()
                            .allCommands());
            Path secret = dir.resolve("acl-password");
            Files.writeString(secret, "acl-Pa55");
            Files.setPosixFilePermissions(secret, PosixFilePermissions.fromString("rw-------"));
            for (String mode : List.of("rdb", "keys")) {
                Settings tls = Settings.builder()
                        .set("uri", "rediss://backup@127.0.0.1:" + server.tlsPort())
                        .set("tls-ca", server.tlsCa().toString())
                        .set("password-file", secret.toString())
                        .set("mode", mode)
                        .build();
                BackupResult b = kit.backup(new TargetSpec("cache", "redis", tls));
                assertThat(b.manifest().metadata()).containsEntry("keys", keys);
                assertThat(kit.verify("cache", b.id(), VerifyLevel.DECODE).passed())
                        .isTrue();
            }
            // without the private CA the server's certificate is not trusted
            Settings untrusted = Settings.builder().set("uri", server.tlsUri()).build();
            assertThatThrownBy(() -> kit.backup(new TargetSpec("cache", "redis", untrusted)))
                    .isInstanceOf(DrException.class);
        }
    }

    @Test
    void anUnreachableServerFailsCleanlyWithNoBackupListed() throws Exception {
        int port;
        try (var s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        Settings nowhere =
                Settings.builder().set("uri", "redis://127.0.0.1:" + port).build();
        assertThatThrownBy(() -> kit.backup(new TargetSpec("cache", "redis", nowhere)))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("127.0.0.1:" + port);
        assertThat(kit.list("cache")).isEmpty();
    }

    @Test
    void keysModeWithMatchAndAnEmptyServer() throws Exception {
        try (RedisServer server = RedisServer.start();
                RedisData data = new RedisData(server)) {
            BackupResult empty = kit.backup(new TargetSpec("cache", "redis", source(server, "mode", "keys")));
            assertThat(empty.manifest().metadata()).containsEntry("keys", 0L);
            assertThat(kit.verify("cache", empty.id(), VerifyLevel.DECODE).passed())
                    .isTrue();
            data.populate();
            BackupResult some =
                    kit.backup(new TargetSpec("cache", "redis", source(server, "mode", "keys", "match", "profile:*")));
            assertThat(some.manifest().metadata()).containsEntry("keys", 50L).containsEntry("match", "profile:*");
            Path out = dir.resolve("profiles");
            kit.restore(new RestoreRequest(
                    "cache",
                    some.id(),
                    Settings.builder().set("to-dir", out.toString()).build(),
                    false));
            assertThat(checkRdb(out.resolve("dump.rdb"))).contains("RDB looks OK");
            try (RedisServer loaded = RedisServer.builder()
                            .loadDump(out.resolve("dump.rdb"))
                            .start();
                    RedisData check = new RedisData(loaded)) {
                assertThat(check.dbsize(0)).isEqualTo(50);
                assertThat(check.sync.hget("profile:9", "plan")).isEqualTo("pro");
            }
        }
    }
}
