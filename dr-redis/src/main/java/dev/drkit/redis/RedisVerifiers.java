package dev.drkit.redis;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.ChecksumMismatchException;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.Settings;
import dev.drkit.VerificationResult;
import dev.drkit.VerificationResult.Status;
import dev.drkit.VerifyLevel;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.OptionSpec.Type;
import dev.drkit.spi.VerificationContext;
import dev.drkit.spi.Verifier;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.spi.support.LoopbackPorts;
import dev.drkit.spi.support.OrphanGuard;
import dev.drkit.spi.support.PrivateScratch;
import dev.drkit.spi.support.TargetVerifierProvider;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Verifiers for {@code redis} backups. {@code redis-rdb} (level decode) walks the stored
 * {@code dump.rdb} from the magic through every opcode to EOF, checks the CRC-64 trailer (a
 * zero trailer, written by a server with {@code rdbchecksum no}, leaves the file
 * unverified rather than valid) and compares the key count per database with the manifest.
 * {@code redis-load-test} (level restore) writes the snapshot to a scratch directory, starts a
 * {@code redis-server} on it (the one on PATH, or {@code redis-server=PATH}) on a free loopback
 * port, waits until the data is loaded, compares the keys per database with the manifest (less
 * the keys whose expiry has passed since, which a server drops while loading), stops the
 * server, removes the directory and reports how long loading took: the measured RTO of the
 * snapshot.
 */
public final class RedisVerifiers {
    /**
     * A parser's complaint about the bytes, or the stored checksum mismatch behind it: damaged
     * stored bytes can decode into garbage the parser meets before the stream's end, where the
     * artifact's reader compares the stored checksum; reading the rest of the stream gets there.
     */
    static DrException explained(InputStream in, DrException e) {
        if (e instanceof ChecksumMismatchException) {
            return e;
        }
        try {
            in.transferTo(OutputStream.nullOutputStream());
        } catch (ChecksumMismatchException mismatch) {
            mismatch.addSuppressed(e);
            return mismatch;
        } catch (IOException | RuntimeException ignored) {
            // the parser's complaint says more
        }
        return e;
    }

    private RedisVerifiers() {}

    /**
     * The RDB of a snapshot artifact: as stored, or, for a key-level delta, rebuilt from it and
     * the backups it builds on (checked against the key count and digest the backup recorded).
     */
    static InputStream openSnapshot(VerificationContext context, ArtifactInfo artifact) throws IOException {
        BackupManifest m = context.manifest();
        if (!artifact.name().equals(KeyDelta.ARTIFACT)) {
            return context.openDecoded(artifact);
        }
        KeyDelta.Artifacts artifacts = (id, name) -> id.equals(m.id())
                ? context.openDecoded(m.artifact(name)
                        .orElseThrow(() -> new CorruptDataException("backup " + m.id() + " has no " + name)))
                : context.openDecoded(id, name);
        return KeyDelta.openState(m, artifacts);
    }

    /** The snapshots of the backup (one, or one per cluster shard), or null with the problem added. */
    private static List<RedisClusterManifest.ShardEntry> shards(VerificationContext context, List<String> problems) {
        try {
            return RedisClusterManifest.shards(context.manifest());
        } catch (DrException e) {
            problems.add(e.getMessage());
            return null;
        }
    }

    /** Provides {@code redis-rdb} at level decode. */
    public static final class RdbProvider extends TargetVerifierProvider {
        public RdbProvider() {
            super(
                    "redis-rdb",
                    VerifyLevel.DECODE,
                    RedisTargetProvider.TYPE,
                    OptionSchema.none(),
                    settings -> new RdbVerifier());
        }
    }

    /** Provides {@code redis-load-test} at level restore. */
    public static final class LoadTestProvider extends TargetVerifierProvider {
        public LoadTestProvider() {
            super(
                    "redis-load-test",
                    VerifyLevel.RESTORE,
                    RedisTargetProvider.TYPE,
                    OptionSchema.of(
                            RedisTargetProvider.REDIS_SERVER,
                            OptionSpec.builder("timeout", Type.DURATION)
                                    .defaultValue("30min")
                                    .description("how long the scratch server may take to load the snapshot")
                                    .build()),
                    LoadTestVerifier::new);
        }
    }

    static final class RdbVerifier implements Verifier {
        @Override
        public String name() {
            return "redis-rdb";
        }

        @Override
        public VerificationResult verify(VerificationContext context) throws IOException {
            VerificationResult.Timer timer = VerificationResult.start(name());
            List<String> problems = new ArrayList<>();
            Map<String, Object> details = new LinkedHashMap<>();
            Status status = Status.PASSED;
            List<RedisClusterManifest.ShardEntry> shards = shards(context, problems);
            if (shards == null) {
                return timer.failed(problems.get(0));
            }
            boolean cluster = RedisClusterManifest.isCluster(context.manifest());
            long keys = 0;
            for (RedisClusterManifest.ShardEntry shard : shards) {
                ArtifactInfo artifact = shard.info();
                Map<String, Object> found = new LinkedHashMap<>();
                if (verifyArtifact(context, artifact, cluster ? shard.keysPerDb() : null, problems, found)) {
                    status = Status.UNVERIFIED;
                }
                keys += found.get("keys") instanceof Long n ? n : 0;
                if (cluster) {
                    details.put(shard.artifact(), found);
                } else {
                    details.putAll(found);
                }
            }
            if (cluster) {
                details.put("shards", shards.size());
                details.put("keys", keys);
            }
            if (problems.stream().anyMatch(p -> !p.contains("carries no CRC-64"))) {
                status = Status.FAILED;
            }
            return timer.result(status, problems, details);
        }

        /**
         * Walks one RDB artifact; its key counts are compared with {@code shardCounts} (a cluster
         * shard's), else with the manifest's. Returns whether it carries no checksum.
         */
        private static boolean verifyArtifact(
                VerificationContext context,
                ArtifactInfo artifact,
                Map<String, Long> shardCounts,
                List<String> problems,
                Map<String, Object> details)
                throws IOException {
            boolean unverified = false;
            String source = artifact.name() + " of backup " + context.manifest().id();
            try (InputStream in = openSnapshot(context, artifact)) {
                RdbParser parser = new RdbParser(in, null, source, false, false);
                RdbParser.Summary s;
                try {
                    s = parser.parse(null);
                } catch (DrException e) {
                    throw explained(in, e);
                }
                if (!parser.atEnd()) {
                    problems.add(parser.trailingBytes());
                }
                in.transferTo(OutputStream.nullOutputStream());
                details.put("rdbVersion", s.version);
                details.put("keys", s.keys);
                details.put("checksum", s.checksum.name().toLowerCase(Locale.ROOT));
                switch (s.checksum) {
                    case MISMATCH ->
                        problems.add(source + " fails its CRC-64 check (trailer " + Long.toHexString(s.storedCrc)
                                + ", computed " + Long.toHexString(s.computedCrc) + ")");
                    case ABSENT, NONE -> {
                        unverified = true;
                        problems.add(source + " carries no CRC-64 (the server runs with rdbchecksum no, or the RDB "
                                + "version predates checksums): its structure is intact but its values are unchecked");
                    }
                    default -> {}
                }
                compareKeys(
                        shardCounts != null
                                ? shardCounts
                                : context.manifest().metadata().get("keysPerDb"),
                        s,
                        shardCounts != null ? artifact.name() + ": " : "",
                        problems);
            } catch (DrException e) {
                problems.add(e.getMessage());
            }
            return unverified;
        }

        @SuppressWarnings("unchecked")
        private static void compareKeys(Object recorded, RdbParser.Summary s, String prefix, List<String> problems) {
            if (!(recorded instanceof Map)) {
                problems.add("the manifest records no key counts to compare with");
                return;
            }
            Map<String, Long> actual = s.keysPerDbAsStrings();
            Map<String, Object> expected = (Map<String, Object>) recorded;
            Set<String> dbs = new TreeSet<>(expected.keySet());
            dbs.addAll(actual.keySet());
            for (String db : dbs) {
                long want = expected.get(db) instanceof Number n ? n.longValue() : 0;
                long have = actual.getOrDefault(db, 0L);
                if (want != have) {
                    problems.add(prefix + "database " + db + " holds " + have
                            + " keys in the RDB but the manifest records " + want);
                }
            }
        }
    }

    static final class LoadTestVerifier implements Verifier {
        private static final Pattern LOADED = Pattern.compile("(?m)^loading:0\\s*$");
        private final Settings settings;

        LoadTestVerifier(Settings settings) {
            this.settings = settings;
        }

        @Override
        public String name() {
            return "redis-load-test";
        }

        @Override
        public VerificationResult verify(VerificationContext context) throws IOException {
            VerificationResult.Timer timer = VerificationResult.start(name());
            List<String> problems = new ArrayList<>();
            Map<String, Object> details = new LinkedHashMap<>();
            Optional<Path> server = settings.path("redis-server").or(() -> onPath("redis-server"));
            if (server.isEmpty()) {
                return timer.unverified(
                        "a load test needs redis-server: install it or give its path as setting 'redis-server'");
            }
            List<RedisClusterManifest.ShardEntry> shards = shards(context, problems);
            if (shards == null) {
                return timer.failed(problems.get(0));
            }
            boolean cluster = RedisClusterManifest.isCluster(context.manifest());
            double slowest = 0;
            long loadedKeys = 0;
            long expiredKeys = 0;
            // one scratch server per shard, one after the other; a cluster loads its shards in parallel,
            // so the slowest shard's load time is the measured RTO
            for (RedisClusterManifest.ShardEntry shard : shards) {
                ArtifactInfo artifact = shard.info();
                Map<String, Object> found = new LinkedHashMap<>();
                long expected = cluster ? shard.keys() : RedisTarget.recorded(context.manifest(), "keys", -1L);
                loadTest(
                        context,
                        server.get(),
                        artifact,
                        expected,
                        cluster ? artifact.name() + ": " : "",
                        problems,
                        found);
                slowest = Math.max(slowest, found.get("loadSeconds") instanceof Double d ? d : 0);
                loadedKeys += found.get("keysLoaded") instanceof Long n ? n : 0;
                expiredKeys += found.get("expiredSinceBackup") instanceof Long n ? n : 0;
                if (cluster) {
                    details.put(shard.artifact(), found);
                }
            }
            details.put("loadSeconds", slowest);
            details.put("keysLoaded", loadedKeys);
            details.put("expiredSinceBackup", expiredKeys);
            if (cluster) {
                details.put("shards", shards.size());
            }
            return timer.result(problems, details);
        }

        /**
         * Loads one RDB artifact into a scratch server and compares its keys per database with the
         * snapshot's, less those expired since; {@code expectedKeys} (-1: unknown) is what the
         * manifest records for it.
         */
        private void loadTest(
                VerificationContext context,
                Path server,
                ArtifactInfo artifact,
                long expectedKeys,
                String prefix,
                List<String> problems,
                Map<String, Object> details)
                throws IOException {
            // the decrypted snapshot: in the private scratch area, whose runs left by a killed process are removed
            Path dir = PrivateScratch.current().createDirectory("redis-verify-");
            // if this process is killed, the scratch server is stopped and the decrypted snapshot removed
            OrphanGuard guard = OrphanGuard.start(dir, "TERM");
            // the scratch server listens on loopback, where every local user can connect: it asks for a password
            byte[] secret = new byte[16];
            new SecureRandom().nextBytes(secret);
            String password = HexFormat.of().formatHex(secret);
            Process process = null;
            try {
                long now = System.currentTimeMillis();
                Map<Integer, Long> expired = new TreeMap<>();
                Map<Integer, Long> fieldsExpired = new TreeMap<>();
                RdbParser.Summary s;
                try (InputStream in = openSnapshot(context, artifact);
                        OutputStream out =
                                new BufferedOutputStream(Files.newOutputStream(dir.resolve("dump.rdb")), 1 << 16)) {
                    RdbParser parser = new RdbParser(in, out, artifact.name(), false, false);
                    try {
                        s = parser.parse((db, key, type, at, value) -> {
                            if (at >= 0 && at <= now) {
                                expired.merge(db, 1L, Long::sum);
                            } else if (parser.fieldsGoneAt() >= 0 && parser.fieldsGoneAt() <= now) {
                                // a hash whose every field has expired: the server drops it on load or soon after
                                fieldsExpired.merge(db, 1L, Long::sum);
                            }
                        });
                    } catch (DrException e) {
                        throw explained(in, e);
                    }
                    in.transferTo(OutputStream.nullOutputStream());
                }
                VerificationResult.Timer load = VerificationResult.start(name());
                Map<String, Long> loaded = null;
                boolean sanitize = sanitizes(server);
                // the port is free when chosen but may be taken before redis-server binds it (tests and
                // other servers on the machine): a server that could not bind is started again elsewhere
                for (int attempt = 1; loaded == null; attempt++) {
                    int port =
                            LoopbackPorts.free(); // outside the ephemeral range: no outgoing connection takes it first
                    Files.writeString(
                            dir.resolve("redis.conf"),
                            String.join(
                                            "\n",
                                            "bind 127.0.0.1",
                                            "port " + port,
                                            "requirepass " + password,
                                            "dir " + dir,
                                            "dbfilename dump.rdb",
                                            "save \"\"",
                                            "appendonly no",
                                            // 6.2+: every value's encoding is checked as it loads, so a forged
                                            // listpack or ziplist fails the test instead of crashing a server later
                                            sanitize ? "sanitize-dump-payload yes" : "",
                                            "daemonize no",
                                            "logfile " + dir.resolve("redis.log"))
                                    + "\n");
                    Files.deleteIfExists(dir.resolve("redis.log"));
                    process = new ProcessBuilder(
                                    server.toString(), dir.resolve("redis.conf").toString())
                            .redirectErrorStream(true)
                            .redirectOutput(dir.resolve("stdout.log").toFile())
                            .start();
                    guard.serverStarted(process.pid());
                    loaded = waitLoaded(
                            process,
                            port,
                            password,
                            dir,
                            settings.duration("timeout").orElse(Duration.ofMinutes(30)),
                            attempt < 5);
                }
                details.put("loadSeconds", load.seconds());
                details.put(
                        "keysLoaded",
                        loaded.values().stream().mapToLong(Long::longValue).sum());
                details.put(
                        "expiredSinceBackup",
                        expired.values().stream().mapToLong(Long::longValue).sum());
                for (Map.Entry<Integer, Long> e : s.keysPerDb.entrySet()) {
                    long want = e.getValue() - expired.getOrDefault(e.getKey(), 0L);
                    long have = loaded.getOrDefault("db" + e.getKey(), 0L);
                    long mayBeGone = fieldsExpired.getOrDefault(e.getKey(), 0L);
                    if (have > want || have < want - mayBeGone) {
                        problems.add(prefix + "database " + e.getKey() + " holds " + have
                                + " keys after loading, expected "
                                + want
                                + (mayBeGone > 0 ? " or down to " + (want - mayBeGone) : "")
                                + " (" + e.getValue() + " in the snapshot, " + expired.getOrDefault(e.getKey(), 0L)
                                + " expired since, " + mayBeGone + " hashes whose every field expired since)");
                    }
                }
                if (expectedKeys >= 0 && s.keys != expectedKeys) {
                    problems.add(
                            prefix + "the snapshot holds " + s.keys + " keys but the manifest records " + expectedKeys);
                }
            } catch (DrException e) {
                problems.add(e.getMessage());
            } finally {
                if (process != null) {
                    process.destroy();
                    try {
                        if (!process.waitFor(10, TimeUnit.SECONDS)) {
                            process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
                        }
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                }
                try {
                    FileTrees.delete(dir);
                } finally {
                    guard.close();
                }
            }
        }

        /**
         * Whether a redis-server checks the values it loads ({@code sanitize-dump-payload}, Redis
         * 6.2 and later, Valkey); from {@code redis-server --version}, false when it cannot tell.
         */
        static boolean sanitizes(Path server) throws IOException {
            Process p = new ProcessBuilder(server.toString(), "--version")
                    .redirectErrorStream(true)
                    .start();
            String out = new String(p.getInputStream().readNBytes(4096), StandardCharsets.UTF_8);
            try {
                p.waitFor(30, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                p.destroyForcibly();
                return false;
            }
            return sanitizes(out);
        }

        /** Whether a {@code --version} line names Redis 6.2+ (or Valkey, which forked from 7.2). */
        static boolean sanitizes(String versionLine) {
            Matcher m = Pattern.compile("v=(\\d+)\\.(\\d+)").matcher(versionLine);
            if (!m.find()) {
                return false;
            }
            int major = Integer.parseInt(m.group(1));
            int minor = Integer.parseInt(m.group(2));
            return versionLine.toLowerCase(Locale.ROOT).contains("valkey") || major > 6 || (major == 6 && minor >= 2);
        }

        /**
         * Polls INFO until the server has loaded the file; returns {@code dbN -> keys}, or null when
         * the server could not bind its port and {@code mayRetry}.
         */
        private static Map<String, Long> waitLoaded(
                Process process, int port, String password, Path dir, Duration timeout, boolean mayRetry)
                throws IOException {
            long deadline = System.nanoTime() + timeout.toNanos();
            String pid = "process_id:" + process.pid();
            while (System.nanoTime() < deadline) {
                if (!process.isAlive()) {
                    if (mayRetry && tail(dir.resolve("redis.log")).contains("Address already in use")) {
                        return null;
                    }
                    throw new DrException(
                            DrException.ErrorCode.TARGET,
                            "redis-server exited while loading the snapshot: " + tail(dir.resolve("redis.log")));
                }
                try (Socket socket = new Socket()) {
                    socket.connect(new InetSocketAddress("127.0.0.1", port), 1000);
                    socket.setSoTimeout(10_000);
                    InputStream in = new BufferedInputStream(socket.getInputStream());
                    ReplicationSnapshot.send(socket.getOutputStream(), "AUTH", password);
                    if (!ReplicationSnapshot.readLine(in).startsWith("+OK")) {
                        Thread.sleep(20); // another server holds the port, or ours does not answer yet
                        continue;
                    }
                    // INFO answers while loading too, with what is loaded so far: wait for loading:0
                    ReplicationSnapshot.send(socket.getOutputStream(), "INFO");
                    String header = ReplicationSnapshot.readLine(in);
                    if (header.startsWith("$")) {
                        byte[] body = in.readNBytes(Integer.parseInt(header.substring(1)));
                        Map<String, Long> keys = new LinkedHashMap<>();
                        String text = new String(body, StandardCharsets.UTF_8);
                        if (!text.contains(pid)) {
                            // another server holds the port; ours fails to bind and is started again
                            Thread.sleep(20);
                            continue;
                        }
                        if (!LOADED.matcher(text).find()) { // not async_loading:0
                            Thread.sleep(20);
                            continue;
                        }
                        for (String line : text.split("\r?\n")) {
                            Matcher m = Pattern.compile("^(db\\d+):keys=(\\d+)").matcher(line);
                            if (m.find()) {
                                keys.put(m.group(1), Long.parseLong(m.group(2)));
                            }
                        }
                        return keys;
                    }
                    // -LOADING: not yet
                } catch (ConnectException | SocketTimeoutException e) {
                    // not listening yet
                } catch (SocketException e) {
                    // reset by a server that is starting or stopping: ask again
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new DrException(
                            DrException.ErrorCode.INTERRUPTED, "interrupted while waiting for redis-server");
                }
                try {
                    Thread.sleep(20);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new DrException(
                            DrException.ErrorCode.INTERRUPTED, "interrupted while waiting for redis-server");
                }
            }
            throw new DrException(
                    DrException.ErrorCode.TARGET,
                    "redis-server did not load the snapshot within " + timeout.toSeconds() + " s");
        }

        private static String tail(Path log) {
            try {
                List<String> lines = Files.readAllLines(log);
                return String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size()));
            } catch (IOException e) {
                return "(no log)";
            }
        }

        private static Optional<Path> onPath(String tool) {
            for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
                Path p = Path.of(d, tool);
                if (Files.isExecutable(p)) {
                    return Optional.of(p);
                }
            }
            return Optional.empty();
        }
    }
}
