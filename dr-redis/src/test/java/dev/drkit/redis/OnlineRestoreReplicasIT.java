package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.DrEvent;
import dev.drkit.DrKit;
import dev.drkit.DrListener;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.spi.RestoreContext;
import dev.drkit.testkit.RedisCluster;
import dev.drkit.testkit.RedisServer;
import io.lettuce.core.RedisClient;
import io.lettuce.core.codec.ByteArrayCodec;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An online restore into a master with replicas ends once the replicas hold what it sent (WAIT):
 * before, it reported success while the replicas still lagged, and a failover right after it lost
 * restored keys. A replica that does not catch up in time is a warning to the host, not a failure.
 */
class OnlineRestoreReplicasIT {
    private static final int KEYS = 2000;

    @TempDir
    Path dir;

    private RedisServer master;
    private RedisServer replica;
    private final List<DrEvent> events = new CopyOnWriteArrayList<>();
    private DrKit kit;

    @BeforeEach
    void start() throws Exception {
        master = RedisServer.start();
        replica = RedisServer.start();
        assertThat(replica.command("REPLICAOF", "127.0.0.1", String.valueOf(master.port())))
                .isEqualTo("OK");
        await(() -> info(replica, "master_link_status:up"));
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
    void stop() {
        // each may be missing: a test skipped without redis-server starts none of them
        if (kit != null) {
            kit.close();
        }
        if (replica != null) {
            replica.close();
        }
        if (master != null) {
            master.close();
        }
    }

    private BackupResult backupThenLoseEveryKey() throws Exception {
        try (RedisData data = new RedisData(master)) {
            Map<String, String> keys = new HashMap<>();
            for (int i = 0; i < KEYS; i++) {
                keys.put("key:" + i, "value " + i + " ".repeat(100));
            }
            data.sync.mset(keys);
        }
        BackupResult b = kit.backup(new TargetSpec(
                "cache", "redis", Settings.builder().set("uri", master.uri()).build()));
        master.command("FLUSHALL");
        await(() -> "0".equals(command(replica, "DBSIZE")));
        master.command("CONFIG", "RESETSTAT");
        return b;
    }

    @Test
    void theRestoreEndsOnceTheReplicasHoldTheKeys() throws Exception {
        BackupResult b = backupThenLoseEveryKey();

        kit.restore(new RestoreRequest(
                "cache", b.id(), Settings.builder().set("to-uri", master.uri()).build(), false));

        assertThat(master.command("INFO", "commandstats")).contains("cmdstat_wait:calls=1,");
        assertThat(replica.command("DBSIZE")).isEqualTo(String.valueOf(KEYS)); // no wait here: the restore waited
        assertThat(events).noneMatch(e -> e.type() == DrEvent.Type.RESTORE_WARNING);
    }

    @Test
    void aReplicaThatDoesNotCatchUpIsAWarningAndTheKeysStayRestored() throws Exception {
        BackupResult b = backupThenLoseEveryKey();
        try (Socket silent = silentReplica()) {
            restore(b, "to-uri", master.uri(), "replica-wait", "2s");
        }

        assertThat(master.command("DBSIZE")).isEqualTo(String.valueOf(KEYS));
        assertThat(events)
                .filteredOn(e -> e.type() == DrEvent.Type.RESTORE_WARNING)
                .singleElement()
                .satisfies(e -> assertThat(e.message())
                        .contains("1 of the 2 replicas of")
                        .contains("within 2 s")
                        .contains("replica-wait"));
    }

    @Test
    void aReplicaWaitLongerThanTheCommandTimeoutIsWaitedForWhole() throws Exception {
        BackupResult b = backupThenLoseEveryKey();
        try (Socket silent = silentReplica()) {
            restore(b, "to-uri", master.uri(), "timeout", "1s", "replica-wait", "3s");
        }

        // WAIT is no ordinary command: the server answers it when replica-wait ends, not within 'timeout'
        assertThat(events)
                .filteredOn(e -> e.type() == DrEvent.Type.RESTORE_WARNING)
                .singleElement()
                .satisfies(e -> assertThat(e.message())
                        .contains("1 of the 2 replicas of")
                        .contains("within 3 s"));
    }

    /** A second replica that takes the stream and never acknowledges it; close it at the end of the test. */
    private Socket silentReplica() throws Exception {
        Socket silent = new Socket("127.0.0.1", master.port());
        OutputStream out = silent.getOutputStream();
        out.write("REPLCONF listening-port 1\r\n".getBytes(StandardCharsets.US_ASCII));
        out.flush();
        assertThat(silent.getInputStream().readNBytes(5)).asString().isEqualTo("+OK\r\n");
        out.write("PSYNC ? -1\r\n".getBytes(StandardCharsets.US_ASCII)); // not before the OK: the server refuses it
        out.flush();
        Thread drain = new Thread(() -> {
            try (InputStream in = silent.getInputStream()) {
                in.transferTo(OutputStream.nullOutputStream());
            } catch (Exception ignored) {
                // closed at the end of the test
            }
        });
        drain.setDaemon(true);
        drain.start();
        await(() -> info(master, "connected_slaves:2"));
        return silent;
    }

    /**
     * A node that took keys as a master and is a replica by the time the restore waits (a failover
     * during the restore, which a cluster's view taken before it does not show): its "no replicas"
     * said nothing, and the restore ended without a word.
     */
    @Test
    void aNodeThatIsAReplicaByTheTimeOfTheWaitIsAWarningNotSilence() throws Exception {
        List<String> warnings = new CopyOnWriteArrayList<>();
        RedisClient client = RedisClient.create(replica.uri());
        try (var conn = client.connect(ByteArrayCodec.INSTANCE)) {
            RedisTarget.awaitReplicas(
                    conn,
                    Duration.ofSeconds(2),
                    new RestoreContext() {
                        @Override
                        public BackupManifest manifest() {
                            throw new UnsupportedOperationException();
                        }

                        @Override
                        public InputStream openArtifact(String name) {
                            throw new UnsupportedOperationException();
                        }

                        @Override
                        public InputStream openArtifact(String backupId, String name) {
                            throw new UnsupportedOperationException();
                        }

                        @Override
                        public Settings options() {
                            return Settings.empty();
                        }

                        @Override
                        public boolean force() {
                            return false;
                        }

                        @Override
                        public void warn(String message) {
                            warnings.add(message);
                        }
                    },
                    "master 127.0.0.1:" + replica.port() + " of the Redis Cluster of test",
                    s -> s);
        } finally {
            client.shutdown();
        }
        assertThat(warnings)
                .singleElement()
                .asString()
                .contains("which is a replica now (of 127.0.0.1:" + master.port())
                .contains("is unknown");
    }

    @Test
    void replicaWaitZeroDoesNotWait() throws Exception {
        BackupResult b = backupThenLoseEveryKey();

        kit.restore(new RestoreRequest(
                "cache",
                b.id(),
                Settings.builder()
                        .set("to-uri", master.uri())
                        .set("replica-wait", "0s")
                        .build(),
                false));

        assertThat(master.command("INFO", "commandstats")).doesNotContain("cmdstat_wait");
        assertThat(master.command("DBSIZE")).isEqualTo(String.valueOf(KEYS));
    }

    @Test
    void inAClusterEachMastersReplicaThatTookNoRestoredKeyIsAWarning() throws Exception {
        // WAIT counts the writes of its connection: sent by another than the keys, it answered at once
        try (RedisCluster six = RedisCluster.start(3, 1);
                RedisClusterData data = new RedisClusterData(six)) {
            data.populate();
            BackupResult b = kit.backup(new TargetSpec(
                    "cluster",
                    "redis",
                    Settings.builder()
                            .set("uri", six.uri())
                            .set("cluster", "true")
                            .build()));
            six.flushAll();
            six.awaitReplicasInSync();
            RedisServer master = six.masters().get(0);
            String stopped = pid(replicaOf(six, master));
            signal(stopped, "-STOP"); // linked and online, it acknowledges nothing from now on
            long started = System.nanoTime();
            try {
                kit.restore(new RestoreRequest(
                        "cluster",
                        b.id(),
                        Settings.builder()
                                .set("to-uri", six.uri())
                                .set("replica-wait", "2s")
                                .set("timeout", "40s")
                                .build(),
                        false));
            } finally {
                signal(stopped, "-CONT");
            }
            // the hung replica held the restore up for the whole of 'timeout' before: asked for the topology,
            // it never answered (and a master drops a silent replica after 60 s, which hid the warning)
            assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(30));
        }

        assertThat(events)
                .filteredOn(e -> e.type() == DrEvent.Type.RESTORE_WARNING)
                .singleElement()
                .satisfies(e -> assertThat(e.message()).contains("0 of the 1 replicas of master 127.0.0.1:"));
    }

    private static RedisServer replicaOf(RedisCluster cluster, RedisServer master) throws Exception {
        for (RedisServer r : cluster.replicas()) {
            if (r.command("INFO", "replication").contains("master_port:" + master.port() + "\r\n")) {
                return r;
            }
        }
        throw new AssertionError("no replica of " + master.port());
    }

    private static String pid(RedisServer server) throws Exception {
        return server.command("INFO", "server").replaceAll("(?s).*process_id:(\\d+).*", "$1");
    }

    private static void signal(String pid, String signal) throws Exception {
        assertThat(new ProcessBuilder("kill", signal, pid).start().waitFor()).isZero();
    }

    /** Restores backup {@code b} with the settings given as name, value pairs. */
    private void restore(BackupResult b, String... settings) {
        Settings.Builder s = Settings.builder();
        for (int i = 0; i < settings.length; i += 2) {
            s.set(settings[i], settings[i + 1]);
        }
        kit.restore(new RestoreRequest("cache", b.id(), s.build(), false));
    }

    private static boolean info(RedisServer server, String line) {
        return command(server, "INFO", "replication").contains(line);
    }

    private static String command(RedisServer server, String... args) {
        try {
            return server.command(args);
        } catch (Exception e) {
            return "";
        }
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + 30_000_000_000L;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within 30 s");
            }
            Thread.sleep(20);
        }
    }
}
