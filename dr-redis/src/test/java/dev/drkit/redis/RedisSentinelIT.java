package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.BackupResult;
import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.testkit.RedisServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A master, a replica and three sentinels of Redis 7 on loopback, all with passwords (the
 * sentinels' differs from the servers'): backups find the master through the sentinels and
 * follow a failover.
 */
class RedisSentinelIT {
    private static final String DATA_PASSWORD = "data-Pa55";
    private static final String SENTINEL_PASSWORD = "sentinel-Pa55";

    @TempDir
    Path dir;

    private final List<RedisServer> servers = new ArrayList<>();
    private RedisServer master;
    private RedisServer replica;
    private final List<RedisServer> sentinels = new ArrayList<>();
    private DrKit kit;
    private String sentinelUri;

    @BeforeEach
    void startTheSet() throws Exception {
        master = started(RedisServer.builder().password(DATA_PASSWORD).config("masterauth", DATA_PASSWORD));
        replica = started(RedisServer.builder()
                .password(DATA_PASSWORD)
                .config("masterauth", DATA_PASSWORD)
                .config("replicaof", master.host() + " " + master.port()));
        awaitValue(() -> replica.command("INFO", "replication").contains("master_link_status:up"), "replica linked");
        for (int i = 0; i < 3; i++) {
            sentinels.add(started(RedisServer.builder()
                    .password(SENTINEL_PASSWORD)
                    .configLine("sentinel", "sentinel-pass " + SENTINEL_PASSWORD)
                    .sentinel("mymaster", master, 2, DATA_PASSWORD)));
        }
        for (RedisServer s : sentinels) {
            awaitValue(() -> healthyReplicaKnown(s, replica), "sentinel sees the replica");
        }
        StringBuilder uri = new StringBuilder("redis-sentinel://127.0.0.1:" + closedPort());
        sentinels.forEach(s -> uri.append(",127.0.0.1:").append(s.port()));
        sentinelUri = uri.append("/mymaster").toString();
        Files.writeString(dir.resolve("data-pass"), DATA_PASSWORD + "\n");
        Files.writeString(dir.resolve("sentinel-pass"), SENTINEL_PASSWORD + "\n");
        for (String secret : List.of("data-pass", "sentinel-pass")) {
            Files.setPosixFilePermissions(dir.resolve(secret), PosixFilePermissions.fromString("rw-------"));
        }
        kit = DrKit.builder().repository(dir.resolve("repo").toString()).build();
    }

    private RedisServer started(RedisServer.Builder b) throws Exception {
        RedisServer s = b.start();
        servers.add(s);
        return s;
    }

    @AfterEach
    void stop() {
        if (kit != null) {
            kit.close();
        }
        servers.forEach(RedisServer::close);
    }

    private static boolean healthyReplicaKnown(RedisServer sentinel, RedisServer replica) throws IOException {
        String reply = sentinel.command("SENTINEL", "REPLICAS", "mymaster");
        return reply != null
                && reply.contains("\nport\n" + replica.port() + "\n")
                && reply.contains("\nflags\nslave\n")
                && reply.contains("\nmaster-link-status\nok\n");
    }

    /** A dead address first: the next sentinel is asked. */
    private String sentinelUri() {
        return sentinelUri;
    }

    private Settings.Builder settings(String key) throws IOException {
        return Settings.builder()
                .set(key, sentinelUri())
                .set("password-file", dir.resolve("data-pass").toString())
                .set("sentinel-password-file", dir.resolve("sentinel-pass").toString());
    }

    private static String replId(RedisServer server) throws IOException {
        for (String line : server.command("INFO", "replication").split("\r?\n")) {
            if (line.startsWith("master_replid:")) {
                return line.substring("master_replid:".length()).trim();
            }
        }
        throw new AssertionError("no master_replid in INFO of " + server.uri());
    }

    @Test
    void backupsFollowAFailoverAndRestoreThroughTheSentinelsEveryKeyValueAndTtl() throws Exception {
        try (RedisData data = new RedisData(master)) {
            data.populate();
            data.sync.psetex("ttl:odd", 987_654, "an odd expiry");
        }
        long oddSetAt = System.currentTimeMillis();
        assertThat(master.command("WAIT", "1", "10000")).isEqualTo("1");

        BackupResult first =
                kit.backup(new TargetSpec("cache", "redis", settings("uri").build()));
        Map<String, Object> m1 = first.manifest().metadata();
        assertThat(m1)
                .containsEntry("server", master.uri())
                .containsEntry("sentinel", sentinelUri())
                .containsEntry("readFrom", "master")
                .containsEntry("role", "master")
                .containsEntry("replicationId", replId(master))
                .containsEntry("mode", "rdb");

        // with read-from replica the snapshot comes from the replica
        BackupResult fromReplica = kit.backup(new TargetSpec(
                "cache", "redis", settings("uri").set("read-from", "replica").build()));
        assertThat(fromReplica.manifest().metadata())
                .containsEntry("server", replica.uri())
                .containsEntry("role", "slave")
                .containsEntry("keys", m1.get("keys"));

        // a sentinel may still answer NOGOODSLAVE while its view of the replica refreshes
        awaitValue(
                () -> "OK".equals(sentinels.get(0).command("SENTINEL", "FAILOVER", "mymaster")),
                "the sentinel starts a failover");
        awaitValue(
                () -> sentinels.stream()
                                .allMatch(s -> uncheckedCommand(s, "SENTINEL", "GET-MASTER-ADDR-BY-NAME", "mymaster")
                                        .endsWith("\n" + replica.port()))
                        && replica.command("INFO", "replication").contains("role:master"),
                "every sentinel names the replica as the new master");

        Map<String, String> before;
        Map<String, Long> ttlsBefore;
        try (RedisData data = new RedisData(replica)) {
            data.sync.set("written:after-failover", "on the new master");
            before = data.contents();
            ttlsBefore = Expiries.of(data);
        }
        long readAt = System.currentTimeMillis();
        BackupResult second =
                kit.backup(new TargetSpec("cache", "redis", settings("uri").build()));
        Map<String, Object> m2 = second.manifest().metadata();
        assertThat(m2)
                .containsEntry("server", replica.uri())
                .containsEntry("role", "master")
                .containsEntry("replicationId", replId(replica));
        assertThat(m2.get("replicationId")).isNotEqualTo(m1.get("replicationId"));
        assertThat(((Number) m2.get("keys")).longValue()).isEqualTo(before.size());

        // keys mode finds the new master the same way
        BackupResult keys = kit.backup(new TargetSpec(
                "cache", "redis", settings("uri").set("mode", "keys").build()));
        assertThat(keys.manifest().metadata())
                .containsEntry("mode", "keys")
                .containsEntry("server", replica.uri())
                .containsEntry("sentinel", sentinelUri());

        // the accident, then an online restore that finds the master through the sentinels
        replica.command("FLUSHALL");
        kit.restore(new RestoreRequest("cache", second.id(), settings("to-uri").build(), false));
        try (RedisData data = new RedisData(replica)) {
            assertThat(data.contents()).isEqualTo(before);
            Expiries.assertKept(ttlsBefore, Expiries.of(data), System.currentTimeMillis() - readAt);
            // what is left of it, however long the backups, the failover and the restore took
            long since = System.currentTimeMillis() - oddSetAt;
            assertThat(data.sync.pttl("ttl:odd")).isBetween(987_654L - since - 1000, 987_654L);
        }
    }

    @Test
    void wrongSentinelCredentialsAndAnUnknownMasterAreToldApart() throws Exception {
        Settings wrongPassword =
                settings("uri").set("sentinel-password", "nope").build();
        assertThatThrownBy(() -> kit.backup(new TargetSpec("cache", "redis", wrongPassword)))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("authentication to sentinel 127.0.0.1:")
                .hasMessageNotContaining("nope");

        Settings noPassword = settings("uri").remove("sentinel-password-file").build();
        assertThatThrownBy(() -> kit.backup(new TargetSpec("cache", "redis", noPassword)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("requires a password")
                .hasMessageContaining("setting 'sentinel-password-file'");

        Settings unknown = settings("uri")
                .set("uri", sentinelUri().replace("/mymaster", "/othermaster"))
                .build();
        assertThatThrownBy(() -> kit.backup(new TargetSpec("cache", "redis", unknown)))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("no sentinel of redis-sentinel://")
                .hasMessageContaining("knows no master named 'othermaster'")
                .hasMessageNotContaining(DATA_PASSWORD)
                .hasMessageNotContaining(SENTINEL_PASSWORD);
        assertThat(kit.list("cache")).isEmpty();
    }

    private static String uncheckedCommand(RedisServer s, String... args) {
        try {
            String reply = s.command(args);
            return reply == null ? "" : reply;
        } catch (IOException e) {
            return "";
        }
    }

    private static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    private static void awaitValue(Callable<Boolean> condition, String what) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (System.nanoTime() < deadline) {
            if (Boolean.TRUE.equals(condition.call())) {
                return;
            }
            Thread.sleep(100);
        }
        throw new AssertionError("timed out waiting for: " + what);
    }
}
