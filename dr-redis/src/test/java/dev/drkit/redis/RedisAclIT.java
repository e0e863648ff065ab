package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupResult;
import dev.drkit.ConfigException;
import dev.drkit.DestinationNotEmptyException;
import dev.drkit.DrEvent;
import dev.drkit.DrKit;
import dev.drkit.DrListener;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.testkit.RedisServer;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** ACL users backed up with the keys and restored on request, hashes and all, on Redis 7. */
class RedisAclIT {
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

    private static void createUsers(RedisServer server) throws Exception {
        assertThat(server.command("ACL", "SETUSER", "alice", "on", ">alice-Pa55", "~cache:*", "+get", "+set"))
                .isEqualTo("OK");
        assertThat(server.command(
                        "ACL", "SETUSER", "bob", "on", ">bob-1", ">bob-2", "~*", "&news", "+@read", "(~log:* +xadd)"))
                .isEqualTo("OK");
        assertThat(server.command("ACL", "SETUSER", "carol", "off", "nopass", "-@all"))
                .isEqualTo("OK");
    }

    private static String aclList(RedisServer server) throws Exception {
        return server.command("ACL", "LIST");
    }

    /** Each user's rules, sorted. */
    private static List<List<String>> rulesOf(String listing) {
        return Arrays.stream(listing.split("\n"))
                .map(line -> Arrays.stream(line.split(" ")).sorted().toList())
                .toList();
    }

    /** Restores backup {@code id} with its users into the server of {@code uri}. */
    private void restoreUsers(String id, String uri, boolean force) {
        kit.restore(new RestoreRequest(
                "cache",
                id,
                Settings.builder().set("to-uri", uri).set("acl-users", "true").build(),
                force));
    }

    /** Logs in as the user and reads a key it may read. */
    private static Object loginAndGet(RedisServer server, String user, String password) throws Exception {
        try (RespConnection c = RespConnection.open(new Socket(server.host(), server.port()), "test", user, password)) {
            return c.call("GET", "cache:1");
        }
    }

    @ParameterizedTest(name = "mode {0}")
    @ValueSource(strings = {"rdb", "keys"})
    void deletedUsersComeBackWithTheirHashesAndCanLogIn(String mode) throws Exception {
        try (RedisServer server = RedisServer.start()) {
            server.command("SET", "cache:1", "one");
            createUsers(server);
            String original = aclList(server);
            assertThat(original).contains("user alice on #").doesNotContain("alice-Pa55");

            BackupResult b = kit.backup(new TargetSpec(
                    "cache",
                    "redis",
                    Settings.builder()
                            .set("uri", server.uri())
                            .set("mode", mode)
                            .build()));
            assertThat(((Number) b.manifest().metadata().get("aclUsers")).intValue())
                    .isEqualTo(4);
            assertThat(b.manifest().artifact(AclSnapshot.ARTIFACT)).isPresent();

            assertThat(server.command("ACL", "DELUSER", "alice", "bob", "carol"))
                    .isEqualTo("3");
            server.command("ACL", "SETUSER", "dave", "on", ">dave-pw", "+ping"); // made after: left alone
            restoreUsers(b.id(), server.uri(), false);

            // the same rules and hashes; Redis lists command rules in an order of its own
            assertThat(rulesOf(aclList(server).replaceAll("\nuser dave [^\n]*", "")))
                    .isEqualTo(rulesOf(original));
            assertThat(loginAndGet(server, "alice", "alice-Pa55")).isEqualTo("one");
            assertThat(loginAndGet(server, "bob", "bob-2")).isEqualTo("one");
            assertThatThrownBy(() -> loginAndGet(server, "alice", "wrong"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("authentication to test failed");
        }
    }

    @Test
    void existingUsersAreKeptUnlessForcedAndToDirWritesAnAclFileAServerLoads() throws Exception {
        String original;
        BackupResult b;
        try (RedisServer server = RedisServer.start()) {
            server.command("SET", "cache:1", "one");
            createUsers(server);
            original = aclList(server);
            b = kit.backup(new TargetSpec(
                    "cache",
                    "redis",
                    Settings.builder().set("uri", server.uri()).build()));

            server.command("ACL", "SETUSER", "alice", "resetpass", ">changed");
            Settings online = Settings.builder()
                    .set("to-uri", server.uri())
                    .set("acl-users", "true")
                    .build();
            kit.restore(new RestoreRequest("cache", b.id(), online, false));
            assertThat(loginAndGet(server, "alice", "changed")).isEqualTo("one"); // kept: it exists
            kit.restore(new RestoreRequest("cache", b.id(), online, true)); // forced: replaced
            assertThat(rulesOf(aclList(server))).isEqualTo(rulesOf(original));
            assertThat(loginAndGet(server, "alice", "alice-Pa55")).isEqualTo("one");
        }

        Path out = dir.resolve("restored");
        Settings toDir = Settings.builder()
                .set("to-dir", out.toString())
                .set("acl-users", "true")
                .build();
        kit.restore(new RestoreRequest("cache", b.id(), toDir, false));
        Path aclFile = out.resolve("users.acl");
        assertThat(Files.getPosixFilePermissions(aclFile)).isEqualTo(PosixFilePermissions.fromString("rw-------"));
        assertThat(Files.readString(aclFile)).isEqualTo(original + "\n");
        assertThatThrownBy(() -> kit.restore(new RestoreRequest("cache", b.id(), toDir, false)))
                .isInstanceOf(DestinationNotEmptyException.class);
        try (RedisServer loaded = RedisServer.builder()
                .loadDump(out.resolve("dump.rdb"))
                .config("aclfile", aclFile.toString())
                .start()) {
            assertThat(rulesOf(aclList(loaded))).isEqualTo(rulesOf(original));
            assertThat(loginAndGet(loaded, "alice", "alice-Pa55")).isEqualTo("one");
        }
    }

    /**
     * Users were recreated in the order ACL LIST gives them (by name). A forced restore logged in
     * as 'admin', whose rules in the backup lack +acl, replaced 'admin' first: the connection lost
     * ACL SETUSER at once, and every later user ('app', 'default') failed with NOPERM, half the
     * users restored. The restoring user's own entry now comes last.
     */
    @Test
    void theRestoringUsersOwnEntryIsReplacedLast() throws Exception {
        try (RedisServer server = RedisServer.start()) {
            server.command("ACL", "SETUSER", "admin", "on", ">admin-pw", "~*", "+get");
            server.command("ACL", "SETUSER", "app", "on", ">app-pw", "~cache:*", "+get");
            BackupResult b = kit.backup(new TargetSpec(
                    "cache",
                    "redis",
                    Settings.builder().set("uri", server.uri()).build()));
            String original = aclList(server);

            server.command("ACL", "SETUSER", "admin", "&*", "+@all");
            server.command("ACL", "DELUSER", "app");
            restoreUsers(b.id(), "redis://admin:admin-pw@" + server.host() + ":" + server.port(), true);
            assertThat(rulesOf(aclList(server))).isEqualTo(rulesOf(original));
        }
    }

    /** A key pattern with a control character, which Redis takes: backed up, and restored (it was refused). */
    @Test
    void aPatternWithAControlCharacterIsRestored() throws Exception {
        try (RedisServer server = RedisServer.start()) {
            server.command("ACL", "SETUSER", "app", "on", ">app-pw", "~a\u0001b");
            String original = aclList(server);
            BackupResult b = kit.backup(new TargetSpec(
                    "cache",
                    "redis",
                    Settings.builder().set("uri", server.uri()).build()));
            server.command("ACL", "DELUSER", "app");
            restoreUsers(b.id(), server.uri(), false);
            assertThat(aclList(server)).contains("~a\u0001b").isEqualTo(original);
        }
    }

    @Test
    void redis62UsersAreListedAndReplacedToo() throws Exception {
        try (RedisServer server = RedisServer.builder().embedded62().start()) {
            server.command("SET", "cache:1", "one");
            assertThat(server.command(
                            "ACL",
                            "SETUSER",
                            "alice",
                            "on",
                            ">alice-Pa55",
                            "~cache:*",
                            "resetchannels",
                            "&news",
                            "+get"))
                    .isEqualTo("OK");
            String original = aclList(server);
            BackupResult b = kit.backup(new TargetSpec(
                    "cache",
                    "redis",
                    Settings.builder().set("uri", server.uri()).build()));
            assertThat(((Number) b.manifest().metadata().get("aclUsers")).intValue())
                    .isEqualTo(2);

            server.command("ACL", "SETUSER", "alice", "resetpass", ">changed", "+set");
            restoreUsers(b.id(), server.uri(), true);
            assertThat(rulesOf(aclList(server))).isEqualTo(rulesOf(original));
            assertThat(loginAndGet(server, "alice", "alice-Pa55")).isEqualTo("one");
        }
    }

    @Test
    void aUserThatMayNotListUsersGetsOneWarningAndTheKeysAreBackedUp() throws Exception {
        try (RedisServer server = RedisServer.start()) {
            server.command("SET", "cache:1", "one");
            server.command("ACL", "SETUSER", "backup", "on", ">backup-pw", "~*", "&*", "+@all", "-acl");
            Files.writeString(dir.resolve("pw"), "backup-pw");
            Files.setPosixFilePermissions(dir.resolve("pw"), PosixFilePermissions.fromString("rw-------"));
            Settings limited = Settings.builder()
                    .set("uri", "redis://backup@127.0.0.1:" + server.port())
                    .set("password-file", dir.resolve("pw").toString())
                    .build();
            BackupResult b = kit.backup(new TargetSpec("cache", "redis", limited));

            assertThat(b.manifest().metadata()).containsEntry("keys", 1L).doesNotContainKey("aclUsers");
            assertThat(b.manifest().artifact(AclSnapshot.ARTIFACT)).isEmpty();
            List<DrEvent> warnings = events.stream()
                    .filter(e -> e.type() == DrEvent.Type.BACKUP_WARNING)
                    .toList();
            assertThat(warnings).hasSize(1);
            assertThat(warnings.get(0).message())
                    .contains("ACL users of redis://backup@127.0.0.1:" + server.port() + " are not in this backup")
                    .contains("+acl|list")
                    .doesNotContain("backup-pw");
            assertThat(warnings.get(0).backupId()).isEqualTo(b.id());

            Settings withUsers = Settings.builder()
                    .set("to-uri", server.uri())
                    .set("acl-users", "true")
                    .build();
            assertThatThrownBy(() -> kit.restore(new RestoreRequest("cache", b.id(), withUsers, true)))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("holds no ACL users");

            // switched off: no users, no warning
            events.clear();
            BackupResult quiet = kit.backup(new TargetSpec(
                    "cache",
                    "redis",
                    limited.toBuilder().set("backup-acl", "false").build()));
            assertThat(quiet.manifest().artifact(AclSnapshot.ARTIFACT)).isEmpty();
            assertThat(events).noneMatch(e -> e.type() == DrEvent.Type.BACKUP_WARNING);
        }
    }
}
