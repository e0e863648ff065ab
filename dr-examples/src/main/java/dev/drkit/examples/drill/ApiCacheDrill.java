package dev.drkit.examples.drill;

import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerificationFailedException;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.spi.support.LoopbackPorts;
import dev.drkit.spi.support.OrphanGuard;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The DR drill for the API's session store: a Redis server (the one on PATH, else the Redis 6.2
 * binary shipped in the jar) holding the API's sessions, an RDB snapshot backup, then an
 * accidental {@code FLUSHALL}, recovered by restoring the snapshot online. Sessions written after
 * the snapshot are lost by design; the drill measures that loss against the API's RPO.
 */
public final class ApiCacheDrill implements AutoCloseable {
    /** The classic plan's API objectives. */
    static final Duration API_RPO = Duration.ofHours(1);

    static final Duration API_RTO = Duration.ofHours(1);
    static final String TARGET = "api-sessions";
    private static final String EMBEDDED = "redis-server-6.2.6-v5-linux-amd64";
    private static final int SESSIONS = 20_000;

    private final DrKit kit;
    private final Path work;
    private final PrintWriter log;
    private final List<String> notes;
    private Process server;
    private OrphanGuard guard;
    private RedisClient client;

    public ApiCacheDrill(DrKit kit, Path work, PrintWriter log, List<String> notes) {
        this.kit = kit;
        this.work = work;
        this.log = log;
        this.notes = notes;
    }

    /** Plays the scenario, or returns none (with a note) where no Redis server can run. */
    public List<DrillReport.Scenario> run()
            throws IOException, InterruptedException, ExecutionException, TimeoutException {
        Optional<Path> binary = binary();
        if (binary.isEmpty()) {
            notes.add("API session store skipped: no redis-server on PATH and the bundled one is for Linux x86-64");
            step("API session store skipped: no redis-server to run");
            return List.of();
        }
        String uri = start(binary.get());
        step("Redis started for the API's sessions (" + binary.get() + ")");
        Map<String, Instant> written = new LinkedHashMap<>();
        Map<String, String> values = new LinkedHashMap<>();
        try (StatefulRedisConnection<String, String> c = client.connect()) {
            RedisCommands<String, String> redis = c.sync();
            List<RedisFuture<String>> pending = new ArrayList<>();
            for (int i = 0; i < SESSIONS; i++) {
                String value = "{\"user\":" + i + ",\"scopes\":[\"reports\"],\"token\":\""
                        + Integer.toHexString(i * 7919) + "\"}";
                values.put("session:" + i, value);
                pending.add(c.async().setex("session:" + i, 86_400, value));
            }
            for (RedisFuture<String> f : pending) {
                f.get(30, TimeUnit.SECONDS);
            }
            Instant loaded = Instant.now();
            values.keySet().forEach(k -> written.put(k, loaded));
            BackupResult snapshot = kit.backup(new TargetSpec(
                    TARGET, "redis", Settings.builder().set("uri", uri).build()));
            VerifyReport verified = kit.verify(TARGET, snapshot.id(), VerifyLevel.DECODE);
            if (!verified.passed()) {
                throw new VerificationFailedException("the Redis snapshot did not verify: " + verified.problems());
            }
            step("RDB snapshot " + snapshot.id() + " of " + SESSIONS + " sessions taken and verified");
            notes.add("Redis snapshot " + snapshot.id() + " of the API's sessions: RDB structure, CRC-64 and key "
                    + "counts verified");
            for (int i = 0; i < 50; i++) { // the API keeps logging users in after the snapshot
                String value = "{\"user\":" + (SESSIONS + i) + "}";
                redis.setex("session:new:" + i, 86_400, value);
                values.put("session:new:" + i, value);
                written.put("session:new:" + i, Instant.now());
                Thread.sleep(10);
            }
            Instant disaster = Instant.now();
            redis.flushall();
            step("disaster: FLUSHALL emptied the API's session store at " + disaster);

            long start = System.nanoTime();
            kit.restore(RestoreRequest.latest(
                    TARGET, Settings.builder().set("to-uri", uri).build()));
            long present = 0;
            Instant newestKept = null;
            boolean valuesMatch = true;
            for (Map.Entry<String, Instant> w : written.entrySet()) {
                String value = redis.get(w.getKey());
                if (value != null) {
                    present++;
                    newestKept = newestKept == null || w.getValue().isAfter(newestKept) ? w.getValue() : newestKept;
                    valuesMatch &= value.equals(values.get(w.getKey()));
                }
            }
            long ttl = redis.ttl("session:7");
            double rto = (System.nanoTime() - start) / 1e9;
            long lost = written.size() - present;
            boolean validated =
                    present == SESSIONS && valuesMatch && ttl > 0 && ttl <= 86_400 && redis.dbsize() == SESSIONS;
            double rpo = newestKept == null
                    ? Double.POSITIVE_INFINITY
                    : Duration.between(newestKept, disaster).toMillis() / 1000.0;
            step("sessions restored online: " + present + " of " + written.size() + " present, " + lost
                    + " written after the snapshot lost");
            List<String> checks = List.of(
                    present + " sessions restored: every one in the snapshot, each value "
                            + (valuesMatch ? "equals" : "DIFFERS FROM") + " the one written",
                    lost + " sessions written after the snapshot are lost, as an RPO by snapshot allows",
                    "TTLs kept (session:7 expires in " + ttl + " s)");
            boolean met = rpo <= API_RPO.toSeconds() && rto <= API_RTO.toSeconds();
            return List.of(new DrillReport.Scenario(
                    "flushed sessions",
                    "API sessions",
                    "FLUSHALL emptied the API's "
                            + "Redis; the newest RDB snapshot was restored into it online (RESTORE with the keys' TTLs).",
                    rpo,
                    rto,
                    API_RPO.toSeconds(),
                    API_RTO.toSeconds(),
                    checks,
                    validated && met));
        }
    }

    private Optional<Path> binary() throws IOException {
        String explicit = System.getenv("REDIS_SERVER");
        if (explicit != null && !explicit.isBlank() && Files.isExecutable(Path.of(explicit))) {
            return Optional.of(Path.of(explicit));
        }
        for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
            Path p = Path.of(d, "redis-server");
            if (!d.isEmpty() && Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        try (InputStream in = ApiCacheDrill.class.getClassLoader().getResourceAsStream(EMBEDDED)) {
            if (in == null || !"amd64".equals(System.getProperty("os.arch"))) {
                return Optional.empty();
            }
            Path target = work.resolve("redis-bin").resolve("redis-server");
            Files.createDirectories(target.getParent());
            Files.copy(in, target, StandardCopyOption.REPLACE_EXISTING);
            Files.setPosixFilePermissions(target, PosixFilePermissions.fromString("rwx------"));
            return Optional.of(target);
        }
    }

    private String start(Path binary) throws IOException, InterruptedException {
        Path dir = Files.createDirectories(work.resolve("redis"));
        int port = LoopbackPorts.free();
        List<String> cmd = new ArrayList<>(List.of(
                binary.toString(),
                "--port",
                String.valueOf(port),
                "--bind",
                "127.0.0.1",
                "--dir",
                dir.toString(),
                "--save",
                "",
                "--appendonly",
                "no",
                "--daemonize",
                "no",
                "--repl-diskless-sync-delay",
                "0",
                "--logfile",
                dir.resolve("redis.log").toString()));
        server = new ProcessBuilder(cmd)
                .redirectErrorStream(true)
                .redirectOutput(dir.resolve("stdout.log").toFile())
                .start();
        guard = OrphanGuard.child(server, "TERM"); // a killed drill leaves no server behind
        String uri = "redis://127.0.0.1:" + port;
        client = RedisClient.create(uri);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (true) {
            try (StatefulRedisConnection<String, String> c = client.connect()) {
                if ("PONG".equals(c.sync().ping())) {
                    return uri;
                }
            } catch (RuntimeException e) {
                if (!server.isAlive() || System.nanoTime() > deadline) {
                    throw new IOException("redis-server did not start: see " + dir.resolve("redis.log"), e);
                }
                Thread.sleep(50);
            }
        }
    }

    private void step(String what) {
        log.println("drill: " + what);
        log.flush();
    }

    /** Stops the Redis server. */
    @Override
    public void close() {
        if (client != null) {
            client.shutdown();
        }
        if (server != null) {
            server.destroy();
            try {
                if (!server.waitFor(10, TimeUnit.SECONDS)) {
                    server.destroyForcibly();
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                server.destroyForcibly();
            }
        }
        OrphanGuard.close(guard);
    }
}
