package dev.drkit.redis;

import dev.drkit.BackupManifest;
import dev.drkit.Capability;
import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.DestinationNotEmptyException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.Settings;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.support.OptionValidator;
import dev.drkit.spi.support.SideFiles;
import dev.drkit.spi.support.TarEntryReader;
import io.lettuce.core.FunctionRestoreMode;
import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisCommandExecutionException;
import io.lettuce.core.RedisCommandTimeoutException;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisFuture;
import io.lettuce.core.RestoreArgs;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulConnection;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.api.async.RedisKeyAsyncCommands;
import io.lettuce.core.cluster.api.StatefulRedisClusterConnection;
import io.lettuce.core.cluster.models.partitions.RedisClusterNode;
import java.io.BufferedOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.UnaryOperator;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Backups of a Redis server. Both modes store the keys as one artifact, {@code dump.rdb}, a standard RDB
 * file that {@code redis-server} loads and {@code redis-check-rdb} reads:
 * <ul>
 *   <li>{@code mode=rdb} (default): a point-in-time snapshot over the replication protocol
 *   (see {@link ReplicationSnapshot}), checked (structure, CRC-64) as it streams;</li>
 *   <li>{@code mode=keys}: SCAN + DUMP + PTTL, pipelined, optionally only keys matching
 *   {@code match}; not point-in-time, but selective and possible where replication
 *   commands are not allowed. The DUMP payloads are written out as an RDB file.</li>
 * </ul>
 * A snapshot of a server that forbids SYNC/PSYNC falls back to keys mode with one
 * {@link BackupContext#warn warning} (setting {@code keys-fallback} false fails instead), and the
 * manifest records the mode used. Setting {@code uri} may name a Sentinel set
 * ({@code redis-sentinel://}, see {@link RedisEndpoint}). The ACL users ({@code ACL LIST}) are
 * stored beside the snapshot as {@code acl.txt} ({@link AclSnapshot}) unless {@code backup-acl} is
 * false, and restored with restore setting {@code acl-users}.
 *
 * <p>Restore: {@code to-dir} writes {@code dump.rdb} for a stopped server (an existing file only
 * with force); {@code to-uri} restores online with RESTORE and the original expiry, keys that
 * exist kept unless forced, {@code match} selecting keys. Both refuse an RDB version newer
 * than the destination server loads.
 *
 * <p>With {@code cluster=true}, {@code uri} is a node of a Redis Cluster and every shard is
 * snapshotted into its own artifact {@code shard-N.rdb} (see {@link RedisClusterSnapshot}); such a
 * backup restores online into a cluster of any shape or a standalone server, or as one directory
 * per shard (see {@link RedisClusterRestore}). Any backup restored with {@code to-uri} naming a
 * cluster node has each key sent to the node that owns its slot.
 *
 * <p>A target built with {@link #builder()} on the host's Lettuce {@link RedisClient} takes
 * keys-mode backups through that client, and restores online through it when no {@code to-uri}
 * is given.
 */
public final class RedisTarget implements BackupTarget {
    public static final String ARTIFACT = "dump.rdb";
    private static final Logger LOG = LoggerFactory.getLogger(RedisTarget.class);
    private static final int BATCH = 1000;

    private final Settings settings;
    private final RedisClient hostClient;

    RedisTarget(Settings settings) {
        this(settings, null);
    }

    private RedisTarget(Settings settings, RedisClient hostClient) {
        this.settings = settings;
        this.hostClient = hostClient;
    }

    /**
     * A target configured in code, for {@code DrKit.builder().target(name, target)}. With a host's
     * {@link RedisClient} (created with the server's {@code RedisURI}, so that
     * {@code connect()} needs no further argument), keys-mode backups ({@code mode=keys}) and online
     * restores without {@code to-uri} go through that client, which drkit never shuts down;
     * snapshot backups ({@code mode=rdb}) still connect by themselves, to setting {@code uri}.
     */
    public static Builder builder() {
        return new Builder();
    }

    /** Builds a configured {@code redis} target; not thread-safe, the target it builds is. */
    public static final class Builder {
        private RedisClient client;
        private Settings settings = Settings.empty();
        private String sentinelUri;

        private Builder() {}

        /**
         * Finds the server through Redis Sentinel, as setting {@code uri}
         * {@code redis-sentinel://HOST:PORT,.../MASTER} does: each backup asks the sentinels for the
         * current master (or a replica, setting {@code read-from}), so backups follow failovers. The
         * servers' credentials and TLS come from the settings ({@code user}, {@code password-file},
         * {@code tls-ca}; {@code sentinel-password-file} for the sentinels').
         *
         * @param masterName the name the sentinels monitor the master under
         * @param sentinels {@code host:port} of each sentinel ({@code [v6]:port} for IPv6), tried in order
         * @throws ConfigException if the name or an address is malformed
         */
        public Builder sentinel(String masterName, List<String> sentinels) {
            Objects.requireNonNull(masterName, "masterName");
            if (Objects.requireNonNull(sentinels, "sentinels").isEmpty()) {
                throw new ConfigException("redis: give at least one sentinel as host:port");
            }
            String uri = "redis-sentinel://" + String.join(",", sentinels) + "/" + masterName;
            SentinelResolver.parse(uri, "uri"); // rejects bad input at the call
            this.sentinelUri = uri;
            return this;
        }

        /** The host's client for the server to back up and restore into; it stays the host's to shut down. */
        public Builder client(RedisClient client) {
            this.client = Objects.requireNonNull(client, "client");
            return this;
        }

        /**
         * Further settings, as for {@link RedisTargetProvider} ({@code mode}, {@code match},
         * {@code uri}, ...); {@code uri} may be left out when a client is given and {@code mode} is
         * {@code keys}.
         */
        public Builder settings(Settings settings) {
            this.settings = Objects.requireNonNull(settings, "settings");
            return this;
        }

        /**
         * @throws ConfigException if a snapshot backup ({@code mode=rdb}, the default) has no setting
         *     {@code uri} (nor {@link #sentinel}) to connect to, or a setting is unknown or of the wrong type
         */
        public RedisTarget build() {
            Settings settings = this.settings;
            if (sentinelUri != null) {
                if (settings.has("uri")) {
                    throw new ConfigException(
                            "redis: give the server with sentinel(...) or as setting 'uri', not both");
                }
                settings = settings.toBuilder().set("uri", sentinelUri).build();
            }
            // the same checks as settings given to the provider: unknown keys, types, did-you-mean
            OptionValidator.validate(RedisTargetProvider.TYPE, new RedisTargetProvider().schema(), settings, false);
            if (!settings.has("uri")) {
                if (client == null) {
                    throw new ConfigException("redis needs a RedisClient or setting 'uri'");
                }
                if (settings.get("mode", "rdb").equals("rdb")) {
                    throw new ConfigException("redis: snapshot backups (setting 'mode' rdb, the default) connect "
                            + "to the server by themselves, not through the RedisClient; give setting 'uri', "
                            + "or set 'mode' to keys to back up key by key through the client");
                }
            }
            return new RedisTarget(settings, client);
        }
    }

    @Override
    public String type() {
        return RedisTargetProvider.TYPE;
    }

    @Override
    public Set<Capability> capabilities() {
        return EnumSet.of(Capability.FULL, Capability.SELECTIVE_RESTORE, Capability.ONLINE_RESTORE);
    }

    /**
     * True: RDB snapshots and DUMP payloads compress their long strings themselves (LZF), so a
     * higher zstd level buys little: on the benchmarks' snapshots level 1 stored 4% less than
     * level 3 (cluster shards) or about 4% more (3M mixed keys), with about 45% less
     * compression CPU, which a snapshot competes for with the forking server.
     */
    @Override
    public boolean prefersFastCompression() {
        return true;
    }

    /** True: the servers fork to write their snapshots while drkit reads them (keys mode: the server answers). */
    @Override
    public boolean sourceCompetesForCpu() {
        return true;
    }

    @Override
    public void backup(BackupContext context) throws IOException {
        String mode = settings.get("mode", "rdb");
        if (!mode.equals("rdb") && !mode.equals("keys")) {
            throw new ConfigException("redis: setting 'mode' must be rdb or keys, not " + mode);
        }
        if (mode.equals("rdb") && settings.has("match")) {
            throw new ConfigException("redis: setting 'match' needs setting 'mode' set to keys (an RDB snapshot "
                    + "holds every key; "
                    + "select keys when restoring instead)");
        }
        if (settings.bool("incremental", false) && (mode.equals("keys") || settings.bool("cluster", false))) {
            throw new ConfigException("redis: setting 'incremental' (key-level deltas) works on the snapshot of one "
                    + "server (setting 'mode' rdb, without setting 'cluster'); leave it out for this target");
        }
        if (settings.bool("cluster", false)) {
            if (mode.equals("keys")) {
                throw new ConfigException("redis: setting 'cluster' takes snapshots (setting 'mode' rdb); keys mode "
                        + "backs up one server");
            }
            String uri = settings.get("uri", "");
            if (uri.contains("://") && SentinelResolver.handles(uri.substring(0, uri.indexOf("://")))) {
                throw new ConfigException("redis: setting 'cluster' needs a node of the cluster in setting 'uri' "
                        + "(redis://HOST:PORT or rediss://); a Redis Cluster is not found through Sentinel");
            }
            RedisClusterSnapshot.backup(context, settings);
            return;
        }
        if (settings.has(ReadFrom.KEY) && !settings.has("uri")) {
            throw RedisEndpoint.readFromUnused();
        }
        context.metadata("mode", mode);
        boolean acl = settings.bool("backup-acl", true);
        if (mode.equals("rdb")) {
            RedisEndpoint endpoint = RedisEndpoint.from(settings, "uri");
            recordServer(context, endpoint);
            // users are listed first and stored after dump.rdb, which stays the backup's first artifact
            AclSnapshot.Listing users = acl ? AclSnapshot.list(endpoint) : null;
            try {
                backupRdb(context, endpoint);
            } catch (SnapshotRefusedException e) {
                fallBackToKeys(context, endpoint, e);
            }
            if (users != null) {
                AclSnapshot.store(context, users, endpoint.toString());
            }
            return;
        }
        // the host's client, when given, wins over setting uri
        RedisEndpoint endpoint = hostClient != null ? null : RedisEndpoint.from(settings, "uri");
        try (RedisSession session =
                endpoint == null ? RedisSession.onHostClient(hostClient) : RedisSession.open(endpoint)) {
            if (endpoint != null) {
                recordServer(context, endpoint);
            }
            AclSnapshot.Listing users = acl ? AclSnapshot.list(session.connection()) : null;
            backupKeys(context, session);
            if (users != null) {
                AclSnapshot.store(context, users, session.toString());
            }
        }
    }

    private static void recordServer(BackupContext context, RedisEndpoint endpoint) {
        context.metadata("server", endpoint.toString());
        endpoint.sentinel().ifPresent(s -> {
            context.metadata("sentinel", s.describe());
            context.metadata("readFrom", s.readFrom().setting());
        });
    }

    /** A server that forbids replication snapshots is backed up key by key, unless that is switched off. */
    private void fallBackToKeys(BackupContext context, RedisEndpoint endpoint, SnapshotRefusedException e)
            throws IOException {
        if (RedisClusterRestore.isClusterNode(endpoint)) {
            throw e.onClusterNode(endpoint.toString());
        }
        if (!settings.bool("keys-fallback", true)) {
            throw new DrException(
                    ErrorCode.TARGET,
                    e.getMessage() + "; setting 'keys-fallback' is false, so the backup fails rather than walk the "
                            + "keys, which would not be point-in-time");
        }
        context.warn("redis: " + endpoint + " forbids replication snapshots (" + e.reason() + "), so this backup "
                + "walks the keys instead (mode keys): it is not point-in-time, keys written meanwhile may or may "
                + "not be in it; set setting 'keys-fallback' to false to fail instead");
        context.metadata("mode", "keys");
        context.metadata("requestedMode", "rdb");
        context.metadata("fallbackReason", e.reason());
        try (RedisSession session = RedisSession.open(endpoint)) {
            backupKeys(context, session);
        }
    }

    private void backupKeys(BackupContext context, RedisSession session) throws IOException {
        StatefulRedisConnection<byte[], byte[]> conn = session.connection();
        Map<String, String> description = describe(conn);
        description.forEach(context::metadata);
        backupKeys(context, conn, description.get("redisVersion"));
    }

    /** Version and role of the server, for the manifest. */
    private static Map<String, String> describe(StatefulRedisConnection<byte[], byte[]> conn) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("redisVersion", info(conn, "server").getOrDefault("redis_version", "unknown"));
        m.put("role", info(conn, "replication").getOrDefault("role", "unknown"));
        return m;
    }

    private void backupRdb(BackupContext context, RedisEndpoint endpoint) throws IOException {
        Optional<KeyDeltaBackup> delta = KeyDeltaBackup.against(context, settings);
        if (delta.isPresent()) {
            try {
                recordSnapshot(context, endpoint, delta.get().take(endpoint));
                return;
            } catch (KeyDeltaBackup.FullNeeded e) {
                context.warn("redis: " + e.getMessage() + "; this backup takes a full snapshot instead");
            }
        }
        ReplicationSnapshot.Result r;
        // created with its first byte: a server that refuses the snapshot leaves it free for keys mode
        try (OutputStream out = new OpenOnWriteStream(() -> context.newArtifact(ARTIFACT))) {
            r = ReplicationSnapshot.take(endpoint, out);
        }
        recordSnapshot(context, endpoint, r);
    }

    private static void recordSnapshot(BackupContext context, RedisEndpoint endpoint, ReplicationSnapshot.Result r) {
        context.metadata("redisVersion", r.server().getOrDefault("redis_version", "unknown"));
        context.metadata("role", r.server().getOrDefault("role", "unknown"));
        RdbParser.Summary s = r.summary();
        if (s.checksum == RdbParser.Checksum.MISMATCH) {
            throw new CorruptDataException("the snapshot from " + endpoint + " fails its own CRC-64 check (stored "
                    + Long.toHexString(s.storedCrc) + ", computed " + Long.toHexString(s.computedCrc)
                    + "): the server or the network corrupted it; take the backup again");
        }
        recordSummary(context::metadata, s);
        context.metadata("transfer", r.diskless() ? "diskless" : "disk");
        if (r.replicationId() != null) {
            context.metadata("replicationId", r.replicationId());
            context.metadata("replicationOffset", r.replicationOffset());
        }
        LOG.info(
                "snapshot of {}: RDB version {}, {} keys, {} bytes ({})",
                endpoint,
                s.version,
                s.keys,
                s.bytes,
                r.diskless() ? "diskless" : "disk");
    }

    /** What a snapshot holds, as metadata: put by the context (a backup) or into a shard's entry. */
    static void recordSummary(BiConsumer<String, Object> metadata, RdbParser.Summary s) {
        metadata.accept("rdbVersion", s.version);
        metadata.accept("keys", s.keys);
        metadata.accept("keysPerDb", s.keysPerDbAsStrings());
        metadata.accept("expires", s.expires);
        // hashes with per-field TTLs (Redis 7.4+) and module values (Redis 8's JSON, time series, ...)
        metadata.accept("fieldExpiryKeys", s.fieldExpiryKeys);
        metadata.accept("moduleValues", s.moduleValues);
        metadata.accept("moduleAux", s.moduleAux);
        metadata.accept("functions", s.functions);
        metadata.accept("checksum", s.checksum.name().toLowerCase(Locale.ROOT));
    }

    private void backupKeys(BackupContext context, StatefulRedisConnection<byte[], byte[]> conn, String version)
            throws IOException {
        String match = settings.get("match", null);
        if (match != null) {
            context.metadata("match", match);
        }
        Map<String, String> keyspace = info(conn, "keyspace");
        List<Integer> dbs = new ArrayList<>();
        long expected = 0;
        Pattern dbLine = Pattern.compile("db(\\d+)");
        Pattern keysField = Pattern.compile("keys=(\\d+)");
        for (Map.Entry<String, String> e : keyspace.entrySet()) {
            Matcher m = dbLine.matcher(e.getKey());
            if (m.matches()) {
                dbs.add(Integer.parseInt(m.group(1)));
                Matcher k = keysField.matcher(e.getValue());
                if (k.find()) {
                    expected += Long.parseLong(k.group(1));
                }
            }
        }
        dbs.sort(null);
        if (match == null) {
            context.expectBytes(expected * 64); // a rough size for the ETA; the real one is unknown
        }
        RedisAsyncCommands<byte[], byte[]> async = conn.async();
        conn.setAutoFlushCommands(false);
        TreeMap<Integer, Long> perDb = new TreeMap<>();
        long keys = 0;
        long expires = 0;
        Duration timeout = Duration.ofSeconds(120);
        KeysRdb out = new KeysRdb(context.newArtifact(ARTIFACT), version);
        long functions = 0;
        try (out) {
            if (match == null && RdbVersions.hasFunctions(version)) {
                // Redis 7+: the function libraries go first, as in a snapshot
                functions = await(async.functionList(), conn, timeout).size();
                if (functions > 0) {
                    RedisFuture<byte[]> dump = async.functionDump();
                    conn.flushCommands();
                    out.functions(get(dump, timeout));
                }
            }
            for (int db : dbs) {
                await(async.select(db), conn, timeout);
                ScanArgs args = ScanArgs.Builder.limit(BATCH);
                if (match != null) {
                    args.match(match);
                }
                ScannedKeys written = new ScannedKeys("the keys backup of database " + db);
                ScanCursor cursor = ScanCursor.INITIAL;
                RedisFuture<KeyScanCursor<byte[]>> next = async.scan(cursor, args);
                conn.flushCommands();
                do {
                    KeyScanCursor<byte[]> page = get(next, timeout);
                    // SCAN may return a key twice (a resize during the walk): each is dumped once
                    List<byte[]> batch = new ArrayList<>(page.getKeys().size());
                    for (byte[] key : page.getKeys()) {
                        if (written.first(db, key)) {
                            batch.add(key);
                        }
                    }
                    // ask for the next page before dumping this one: the server works while we write
                    next = page.isFinished() ? null : async.scan(page, args);
                    List<RedisFuture<byte[]>> dumps = new ArrayList<>(batch.size());
                    List<RedisFuture<Long>> ttls = new ArrayList<>(batch.size());
                    for (byte[] key : batch) {
                        dumps.add(async.dump(key));
                        ttls.add(async.pttl(key));
                    }
                    // the server's clock, not this host's: RESTORE ... ABSTTL applies the expiry on the server's
                    RedisFuture<List<byte[]>> time = async.time();
                    conn.flushCommands();
                    long now = serverMillis(get(time, timeout));
                    for (int i = 0; i < batch.size(); i++) {
                        byte[] payload = get(dumps.get(i), timeout);
                        long pttl = get(ttls.get(i), timeout);
                        if (payload == null || pttl == -2) {
                            continue; // deleted or expired since SCAN returned it
                        }
                        long expireAt = pttl >= 0 ? now + pttl : -1;
                        out.entry(db, batch.get(i), payload, expireAt);
                        keys++;
                        perDb.merge(db, 1L, Long::sum);
                        if (expireAt >= 0) {
                            expires++;
                        }
                    }
                } while (next != null);
            }
        } finally {
            conn.setAutoFlushCommands(true);
        }
        Map<String, Long> perDbText = new LinkedHashMap<>();
        perDb.forEach((db, n) -> perDbText.put(String.valueOf(db), n));
        context.metadata("rdbVersion", out.version());
        context.metadata("keys", keys);
        context.metadata("keysPerDb", perDbText);
        context.metadata("expires", expires);
        context.metadata("functions", functions);
        context.metadata("checksum", "valid");
        LOG.info("keys backup: {} keys in {} databases", keys, perDb.size());
    }

    /** Writes DUMP payloads as an RDB; the header waits for the first payload, which names the version. */
    private static final class KeysRdb implements AutoCloseable {
        private final OutputStream artifact;
        private final BufferedOutputStream buffered;
        private final String redisVersion;
        private RdbWriter writer;
        private int version;

        KeysRdb(OutputStream artifact, String redisVersion) {
            this.artifact = artifact;
            this.buffered = new BufferedOutputStream(artifact, 1 << 16);
            this.redisVersion = redisVersion;
        }

        /** The function libraries, as FUNCTION DUMP gives them (records, then version and checksum). */
        void functions(byte[] payload) throws IOException {
            if (payload.length <= 10) {
                return; // no library
            }
            requireVersion(payload);
            writer.records(payload, 0, payload.length - 10);
        }

        void entry(int db, byte[] key, byte[] payload, long expireAt) throws IOException {
            if (payload.length < 11) {
                throw new DrException(ErrorCode.TARGET, "DUMP returned a payload too short to be one");
            }
            requireVersion(payload);
            writer.entry(db, key, payload[0] & 0xFF, expireAt, payload, 1, payload.length - 11);
        }

        /** Opens the RDB at the version of the first payload; later ones must have the same. */
        private void requireVersion(byte[] payload) throws IOException {
            int v = (payload[payload.length - 10] & 0xFF) | (payload[payload.length - 9] & 0xFF) << 8;
            if (writer == null) {
                open(v);
            } else if (v != version) {
                throw new DrException(
                        ErrorCode.TARGET,
                        "DUMP payloads changed RDB version during the backup (" + version + " to " + v
                                + "): was the server upgraded? take the backup again");
            }
        }

        private void open(int v) throws IOException {
            version = v;
            Map<String, String> aux = new LinkedHashMap<>();
            aux.put("redis-ver", redisVersion);
            aux.put("ctime", String.valueOf(System.currentTimeMillis() / 1000));
            aux.put("drkit-mode", "keys");
            writer = new RdbWriter(buffered, v, aux);
        }

        int version() {
            return version;
        }

        @Override
        public void close() throws IOException {
            try {
                if (writer == null) {
                    open(RdbVersions.newestLoadable(redisVersion)); // no keys: an empty RDB
                }
                writer.finish();
                buffered.flush();
            } finally {
                artifact.close();
            }
        }
    }

    @Override
    public void restore(RestoreContext context) throws IOException {
        Settings o = context.options();
        boolean toDir = o.has("to-dir");
        boolean toUri = o.has("to-uri");
        // without either, a target on the host's client restores online through it
        if (toDir && toUri || !toDir && !toUri && hostClient == null) {
            throw new ConfigException("redis restore needs exactly one destination: setting 'to-dir' (a directory: "
                    + "writes dump.rdb for a stopped server) or setting 'to-uri' (redis://HOST:PORT: restores keys "
                    + "online)");
        }
        int rdbVersion = (int) recorded(context.manifest(), "rdbVersion", 0);
        KeyPattern match = KeyPattern.of(o.get("match", null));
        // users asked for are read (and checked) before anything is restored
        List<AclSnapshot.User> users = o.bool("acl-users", false) ? AclSnapshot.read(context) : null;
        List<RedisClusterManifest.ShardEntry> shards = RedisClusterManifest.shards(context.manifest());
        RedisEndpoint to = toUri ? RedisEndpoint.from(o, "to-uri") : null;
        if (toDir) {
            Path dir = Path.of(o.require("to-dir"));
            if (users != null) {
                AclSnapshot.requireWritable(dir, context.force());
            }
            if (RedisClusterManifest.isCluster(context.manifest())) {
                RedisClusterRestore.toDirectories(this, context, dir, shards, rdbVersion, match);
            } else {
                requireAbsent(dir.resolve(o.get("file", ARTIFACT)), context);
                restoreToDir(context, ARTIFACT, dir.resolve(o.get("file", ARTIFACT)), rdbVersion, match);
            }
            if (users != null) {
                AclSnapshot.writeFile(dir, users, context.force());
            }
        } else if (to != null && RedisClusterRestore.isClusterNode(to)) {
            RedisClusterRestore.online(this, context, to, shards, rdbVersion, match);
            if (users != null) {
                RedisClusterRestore.restoreUsers(to, users, context.force());
            }
        } else {
            try (RedisSession session = to != null ? RedisSession.open(to) : RedisSession.onHostClient(hostClient)) {
                restoreOnline(context, session, shards, rdbVersion, match);
                if (users != null) {
                    // after the keys: changing the users could cut off the connection that restores them
                    AclSnapshot.restore(session.connection(), users, context.force(), session);
                }
            }
        }
    }

    /**
     * The RDB of a snapshot artifact: as stored, or, for a key-level delta backup (asked for as
     * {@code dump.rdb} or as its delta), rebuilt from the delta and the backups it builds on.
     */
    static InputStream openSnapshot(RestoreContext context, String artifact) throws IOException {
        BackupManifest m = context.manifest();
        if (!KeyDelta.isDelta(m) || !artifact.equals(ARTIFACT) && !artifact.equals(KeyDelta.ARTIFACT)) {
            return context.openArtifact(artifact);
        }
        KeyDelta.Artifacts artifacts =
                (id, name) -> id.equals(m.id()) ? context.openArtifact(name) : context.openArtifact(id, name);
        return KeyDelta.openState(m, artifacts);
    }

    /**
     * A number the manifest records under {@code key}, or {@code absent} when it records none;
     * anything else is damage.
     */
    static long recorded(BackupManifest m, String key, long absent) {
        Object v = m.metadata().get(key);
        if (v == null) {
            return absent;
        }
        if (v instanceof Number n) {
            return n.longValue();
        }
        throw new CorruptDataException("the manifest of backup " + m.id() + " records " + key + " as something "
                + "other than a number; it is damaged, restore another backup");
    }

    /** Refuses to replace an existing file without force. */
    static void requireAbsent(Path file, RestoreContext context) {
        if (Files.exists(file) && !context.force()) {
            throw new DestinationNotEmptyException(file + " already exists; restore into another directory, or stop "
                    + "the server and restore with RestoreRequest.force to replace it");
        }
    }

    /** Writes one snapshot artifact as {@code file}, atomically, keys filtered by {@code match}. */
    void restoreToDir(RestoreContext context, String artifact, Path file, int rdbVersion, KeyPattern match)
            throws IOException {
        install(stageToDir(context, artifact, file, rdbVersion, match, null));
    }

    /** A snapshot written and synced beside the file it is to replace, not yet in its place. */
    record Staged(Path tmp, Path file) {
        /** Removes it (a restore that failed before putting it in place). */
        void discard() {
            try {
                Files.deleteIfExists(tmp);
            } catch (IOException e) {
                LOG.warn("could not remove {}: {}", tmp, e.getMessage());
            }
        }
    }

    /**
     * Writes one snapshot artifact beside {@code file}, keys filtered by {@code match}; {@link #install} puts it there.
     * {@code keyCheck}, when not null, is told every key (without its value) and may refuse one.
     */
    Staged stageToDir(
            RestoreContext context,
            String artifact,
            Path file,
            int rdbVersion,
            KeyPattern match,
            RdbParser.Visitor keyCheck)
            throws IOException {
        Settings o = context.options();
        Path dir = file.getParent();
        serverVersionForDir(o).ifPresent(v -> requireLoadable(rdbVersion, v, "redis-server " + v));
        Files.createDirectories(dir);
        SideFiles.removeAbandoned(file, "a restore");
        Path tmp = SideFiles.beside(file);
        String source = artifact + " of backup " + context.manifest().id();
        boolean done = false;
        try (FileChannel ch = FileChannel.open(
                        tmp,
                        Set.of(StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE),
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                OutputStream fileOut = new BufferedOutputStream(Channels.newOutputStream(ch), 1 << 16);
                InputStream in = openSnapshot(context, artifact)) {
            RdbParser parser = new RdbParser(
                    in, match == null ? fileOut : null, source, match != null || keyCheck != null, match != null);
            RdbParser.Summary s = match == null ? parser.parse(keyCheck) : filtered(parser, fileOut, match, keyCheck);
            requireValid(s, source);
            parser.requireAtEnd();
            fileOut.flush();
            ch.force(true);
            done = true;
            LOG.info("wrote {}: RDB version {}, {} keys", file, s.version, s.keys);
        } finally {
            if (!done) {
                Files.deleteIfExists(tmp);
            }
        }
        return new Staged(tmp, file);
    }

    /** Puts a staged snapshot in its place, with the owner and mode of the file it replaces. */
    static void install(Staged staged) throws IOException {
        Path tmp = staged.tmp();
        Path file = staged.file();
        Path dir = file.getParent();
        if (Files.exists(file)) {
            try {
                Files.setOwner(tmp, Files.getOwner(file));
                Files.setPosixFilePermissions(tmp, Files.getPosixFilePermissions(file));
            } catch (IOException | UnsupportedOperationException e) {
                LOG.warn("could not give {} the owner and mode of the file it replaces: {}", file, e.getMessage());
            }
        }
        Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        try (FileChannel d = FileChannel.open(dir, StandardOpenOption.READ)) {
            d.force(true);
        } catch (IOException ignored) {
            // directories cannot be synced on every file system
        }
    }

    /** Copies only the matching keys into a new RDB of the same version. */
    private static RdbParser.Summary filtered(
            RdbParser parser, OutputStream out, KeyPattern match, RdbParser.Visitor keyCheck) throws IOException {
        RdbWriter[] writer = new RdbWriter[1];
        RdbParser.Summary s = parser.parse(
                (db, key, type, expireAtMs, value) -> {
                    if (keyCheck != null) {
                        keyCheck.entry(db, key, type, expireAtMs, null);
                    }
                    if (match.matches(key)) {
                        writer[0].entry(db, key, type, expireAtMs, value, 0, value.length);
                    }
                },
                v -> writer[0] = new RdbWriter(out, v, Map.of("drkit-match", match.glob())));
        writer[0].finish();
        return s;
    }

    private static void requireValid(RdbParser.Summary s, String source) {
        if (s.checksum == RdbParser.Checksum.MISMATCH) {
            throw new CorruptDataException(source + " fails its CRC-64 check; restore an older backup");
        }
    }

    private static Optional<String> serverVersionForDir(Settings o) {
        if (o.has("server-version")) {
            return o.get("server-version");
        }
        Path bin = o.path("redis-server").orElse(null);
        if (bin == null) {
            for (String d : System.getenv().getOrDefault("PATH", "").split(File.pathSeparator)) {
                Path p = Path.of(d, "redis-server");
                if (Files.isExecutable(p)) {
                    bin = p;
                    break;
                }
            }
        }
        if (bin == null) {
            LOG.info("no redis-server here to check the RDB version against; give setting 'server-version' "
                    + "to check it");
            return Optional.empty();
        }
        try {
            Process p = new ProcessBuilder(bin.toString(), "--version")
                    .redirectErrorStream(true)
                    .start();
            String text = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor(10, TimeUnit.SECONDS);
            Matcher m = Pattern.compile("v=(\\d+\\.\\d+(\\.\\d+)?)").matcher(text);
            String valkey = text.startsWith("Valkey") ? "valkey " : "";
            return m.find() ? Optional.of(valkey + m.group(1)) : Optional.empty();
        } catch (IOException e) {
            return Optional.empty();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return Optional.empty();
        }
    }

    static void requireLoadable(int rdbVersion, String serverVersion, String server) {
        RdbVersions.requireLoadable(rdbVersion, serverVersion, server);
    }

    private void restoreOnline(
            RestoreContext context,
            RedisSession session,
            List<RedisClusterManifest.ShardEntry> shards,
            int rdbVersion,
            KeyPattern match)
            throws IOException {
        StatefulRedisConnection<byte[], byte[]> conn = session.connection();
        String version = RdbVersions.serverVersion(info(conn, "server"));
        requireLoadable(rdbVersion, version, session + " (" + RdbVersions.label(version) + ")");
        OnlineRestore restore =
                new OnlineRestore(conn, conn.async(), context.force(), match, session.toString(), session::redact);
        try {
            restoreOnline(
                    context,
                    shards.stream()
                            .map(RedisClusterManifest.ShardEntry::artifact)
                            .toList(),
                    restore);
        } finally {
            conn.setAutoFlushCommands(true);
        }
        restore.log(session.toString());
        if (restore.sentAnything()) {
            awaitReplicas(
                    conn,
                    context.options().duration("replica-wait").orElse(DEFAULT_REPLICA_WAIT),
                    context,
                    session.toString(),
                    session::redact);
        }
    }

    /**
     * After an online restore into a server with replicas: waits up to {@code wait} until every
     * replica connected to it acknowledges what was sent ({@code WAIT}), so that a failover right
     * after the restore keeps the restored keys. Replicas that have not caught up by then are a
     * {@link RestoreContext#warn warning}, not a failure: the server holds the keys.
     */
    static void awaitReplicas(
            StatefulRedisConnection<byte[], byte[]> conn,
            Duration wait,
            RestoreContext context,
            String server,
            UnaryOperator<String> redactor) {
        if (wait.isZero() || wait.isNegative()) {
            return;
        }
        int replicas;
        long acked;
        try {
            Map<String, String> replication = info(conn, "replication");
            if ("slave".equals(replication.get("role"))) {
                // a failover during the restore (a cluster's view taken before it): this node, which took
                // keys as a master, follows another now, and its own "no replicas" says nothing
                context.warn("the keys were restored through " + server + ", which is a replica now (of "
                        + replication.getOrDefault("master_host", "?") + ":"
                        + replication.getOrDefault("master_port", "?") + "; a failover during the restore?): "
                        + "whether the master that took over holds every restored key, and whether its replicas "
                        + "do, is unknown; check its keys before relying on them, or restore again");
                return;
            }
            replicas = (int)
                    Math.min(Integer.MAX_VALUE, Long.parseLong(replication.getOrDefault("connected_slaves", "0")));
            if (replicas <= 0) {
                return;
            }
            // the server answers WAIT when replica-wait ends, which setting 'timeout' (or the host
            // client's) must not cut short: that reported the replicas unknown instead of waiting
            Duration timeout = conn.getTimeout();
            conn.setTimeout(wait.plusSeconds(30));
            try {
                acked = conn.async()
                        .waitForReplication(replicas, Math.max(1, wait.toMillis()))
                        .get(wait.toMillis() + 30_000, TimeUnit.MILLISECONDS);
            } finally {
                conn.setTimeout(timeout);
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DrException(ErrorCode.INTERRUPTED, "interrupted while " + server + "'s replicas caught up");
        } catch (NumberFormatException | RedisException | ExecutionException | TimeoutException e) {
            String why = e instanceof ExecutionException x && x.getCause() != null
                    ? x.getCause().getMessage()
                    : e.getMessage();
            context.warn("the keys are restored into " + server + ", but whether its replicas hold them is unknown "
                    + "(asking failed: " + redactor.apply(String.valueOf(why)) + "); check INFO replication on them "
                    + "before a failover");
            return;
        }
        if (acked < replicas) {
            context.warn(acked + " of the " + replicas + " replicas of " + server + " acknowledged the restored keys "
                    + "within " + wait.toSeconds() + " s; the others have not caught up yet: check INFO replication "
                    + "on them before a failover (setting replica-wait waits longer)");
        } else {
            LOG.info("all {} replicas of {} acknowledged the restored keys", replicas, server);
        }
    }

    /** Streams one snapshot artifact's keys into {@code restore}. */
    static void restoreOnline(RestoreContext context, String artifact, OnlineRestore restore) throws IOException {
        restoreOnline(context, artifact, restore, RebuiltSpool::open);
    }

    /** As {@link #restoreOnline(RestoreContext, String, OnlineRestore)}, keeping a rebuilt chain where {@code spools} says. */
    static void restoreOnline(
            RestoreContext context, String artifact, OnlineRestore restore, Function<String, RebuiltSpool> spools)
            throws IOException {
        try (Checked c = check(context, artifact, restore, spools)) {
            restore.requireNoDuplicates(List.of(c));
            try {
                c.send(restore);
            } catch (DrException e) {
                throw restore.stopped(e);
            }
        }
    }

    /**
     * Streams the keys of several snapshot artifacts (a cluster's shards) into {@code restore},
     * every one checked before the first key of any is sent: one damaged shard fails the restore
     * with nothing sent, not after the shards before it.
     */
    static void restoreOnline(RestoreContext context, List<String> artifacts, OnlineRestore restore)
            throws IOException {
        List<Checked> checked = new ArrayList<>();
        try {
            for (String artifact : artifacts) {
                checked.add(check(context, artifact, restore, RebuiltSpool::open));
            }
            restore.requireNoDuplicates(checked);
            try {
                for (Checked c : checked) {
                    c.send(restore);
                }
            } catch (DrException e) {
                throw restore.stopped(e);
            }
        } finally {
            checked.forEach(Checked::close);
        }
    }

    /** A snapshot artifact its first read checked, ready for the read that sends its keys. */
    private static final class Checked implements AutoCloseable {
        private final RestoreContext context;
        private final String artifact;
        private final String source;
        private final VerifiedReread reread;
        private final RebuiltSpool spool;

        Checked(RestoreContext context, String artifact, String source, VerifiedReread reread, RebuiltSpool spool) {
            this.context = context;
            this.artifact = artifact;
            this.source = source;
            this.reread = reread;
            this.spool = spool;
        }

        /** The second read: only the bytes the first one checked; a rebuilt chain as the first read kept it, else rebuilt again. */
        void send(OnlineRestore restore) throws IOException {
            InputStream second = spool != null && spool.complete() ? spool.reread() : openSnapshot(context, artifact);
            sendKeys(reread.verified(second), source, restore);
        }

        /**
         * Reads the checked bytes again for the keys only, telling {@code keys} each one. A
         * keys-mode backup made before keys mode wrote each key once may hold one twice (SCAN
         * returns a key twice when the table is resized during the walk): that is said, not
         * refused, and the restore goes on as it did for such backups.
         */
        void readKeys(DuplicateKeys keys) throws IOException {
            try (InputStream in = reread.verified(openSnapshot(context, artifact))) {
                new RdbParser(in, null, source, true, false)
                        .parse((db, key, type, at, value) -> keys.confirm(db, key, source));
            } catch (DuplicateKeys.Duplicate e) {
                if (!"keys".equals(context.manifest().metadata().get("mode"))) {
                    throw e;
                }
                LOG.warn(
                        "{}; it is a keys-mode backup, which SCAN can make so (a key returned twice during the walk): "
                                + "the first copy is restored, or the second with RestoreRequest.force",
                        e.found());
            }
        }

        @Override
        public void close() {
            if (spool != null) {
                spool.close();
            }
        }
    }

    /** The first read of an online restore: the whole snapshot, checked, before any key is sent. */
    private static Checked check(
            RestoreContext context, String artifact, OnlineRestore restore, Function<String, RebuiltSpool> spools)
            throws IOException {
        String source = artifact + " of backup " + context.manifest().id();
        // keys are restored as they stream: read the snapshot to its end first, checking the
        // repository's checksums and the RDB's own structure and CRC-64, so that a corrupt or forged
        // one fails the restore before any key reaches the server; the second read serves only the
        // bytes the first one checked (the repository compares its checksum only at the end)
        VerifiedReread checked = new VerifiedReread(source);
        RebuiltSpool spool = rebuilt(context, artifact) ? spools.apply(source) : null;
        boolean ok = false;
        try {
            InputStream first = openSnapshot(context, artifact);
            try (InputStream in = checked.recording(spool != null ? spool.tee(first) : first)) {
                // keys read as the second read reads them (an LZF key that does not decompress fails
                // here); values go to the server as they are stored, checked by the CRC-64
                RdbParser parser = new RdbParser(in, null, source, true, false);
                DuplicateKeys keys = restore.duplicates;
                RdbParser.Summary s = parser.parse((db, key, type, at, value) -> keys.add(db, key));
                requireValid(s, source);
                parser.requireAtEnd();
                in.transferTo(OutputStream.nullOutputStream());
                restore.checkDatabases(s.keysPerDb.keySet(), source);
            }
            ok = true;
            return new Checked(context, artifact, source, checked, spool);
        } finally {
            if (!ok && spool != null) {
                spool.close();
            }
        }
    }

    /** Whether {@link #openSnapshot} rebuilds {@code artifact} from a chain of key-level deltas. */
    private static boolean rebuilt(RestoreContext context, String artifact) {
        return KeyDelta.isDelta(context.manifest())
                && (artifact.equals(ARTIFACT) || artifact.equals(KeyDelta.ARTIFACT));
    }

    /** The second read of an online restore: the snapshot's keys RESTOREd as they stream. */
    private static void sendKeys(InputStream second, String source, OnlineRestore restore) throws IOException {
        try (InputStream in = second) {
            RdbParser.Summary s = new RdbParser(in, null, source, true, true)
                    .onFunctions(restore::function)
                    .parse(restore::entry, restore::version);
            requireValid(s, source);
            restore.drain();
            in.transferTo(OutputStream.nullOutputStream());
        }
    }

    /** Pipelined RESTOREs, a batch at a time, into one server or (with no {@code select}) a cluster. */
    static final class OnlineRestore {
        private final StatefulConnection<byte[], byte[]> conn;
        private final RedisKeyAsyncCommands<byte[], byte[]> async;
        private final boolean force;
        private final KeyPattern match;
        private final String server;
        private final UnaryOperator<String> redactor;
        private final List<RedisFuture<String>> pending = new ArrayList<>();
        private final List<byte[]> pendingKeys = new ArrayList<>();
        /** The keys of every snapshot checked for this restore: a key twice, even in two shards, fails it. */
        private final DuplicateKeys duplicates;

        private int version;
        private int db = -1;
        long restored;
        long kept;
        long expired;
        long skipped;
        long functionsRestored;
        long functionsKept;
        long functionsSkipped;

        OnlineRestore(
                StatefulConnection<byte[], byte[]> conn,
                RedisKeyAsyncCommands<byte[], byte[]> async,
                boolean force,
                KeyPattern match,
                String server,
                UnaryOperator<String> redactor) {
            this.conn = conn;
            this.async = async;
            this.force = force;
            this.match = match;
            this.server = server;
            this.redactor = redactor;
            this.duplicates = new DuplicateKeys("the online restore into " + server);
            conn.setAutoFlushCommands(false);
        }

        /**
         * After every snapshot was checked and before the first key is sent: fails when a key
         * comes twice (the suspects' snapshots are read again for their keys, to tell a duplicate
         * from a hash collision).
         */
        void requireNoDuplicates(List<Checked> checked) throws IOException {
            duplicates.reportUnchecked();
            if (duplicates.suspected()) {
                for (Checked c : checked) {
                    c.readKeys(duplicates);
                }
            }
        }

        void log(String destination) {
            LOG.info(
                    "restored into {}: {} keys restored, {} kept (they exist; RestoreRequest.force replaces "
                            + "them), {} expired since the backup, {} not matching",
                    destination,
                    restored,
                    kept,
                    expired,
                    skipped);
            if (functionsRestored + functionsKept > 0) {
                LOG.info(
                        "restored into {}: {} function libraries restored, {} kept (they exist; RestoreRequest.force "
                                + "replaces them)",
                        destination,
                        functionsRestored,
                        functionsKept);
            }
            if (functionsSkipped > 0) {
                LOG.warn(
                        "{}: the snapshot holds {} function libraries, which an online restore into a cluster does not "
                                + "load; load them on every master with FUNCTION RESTORE, or restore to a directory",
                        destination,
                        functionsSkipped);
            }
        }

        /**
         * A failure after keys were sent: they stay on the server, which the failure then says
         * (a failure of a kind of its own is left as it is, and the log says it).
         */
        DrException stopped(DrException e) {
            if (restored + functionsRestored == 0) {
                return e;
            }
            String what = "at least " + restored + " keys"
                    + (functionsRestored > 0 ? " and " + functionsRestored + " function libraries" : "")
                    + " of the backup were restored into " + server + " before this and stay there; a restore "
                    + "again keeps them as they are (RestoreRequest.force replaces them)";
            LOG.warn("the restore stopped: {}", what);
            return e.getClass() == DrException.class
                    ? new DrException(e.code(), e.getMessage() + "; " + what, e.getCause(), e.retryable())
                    : e;
        }

        /**
         * One function library, restored with FUNCTION RESTORE before the keys after it (as a server
         * loads them): an existing library is kept unless forced, like a key. A cluster's masters
         * each need it, which an online restore does not do: counted and said once.
         */
        void function(byte[] storedCode) throws IOException {
            if (match != null) {
                return; // a restore of matching keys only brings no functions
            }
            if (!(async instanceof RedisAsyncCommands<byte[], byte[]> standalone)) {
                functionsSkipped++;
                return;
            }
            drain();
            byte[] payload = RdbVersions.dumpPayload(RdbParser.OP_FUNCTION2, storedCode, version);
            RedisFuture<String> reply = standalone.functionRestore(
                    payload, force ? FunctionRestoreMode.REPLACE : FunctionRestoreMode.APPEND);
            conn.flushCommands();
            try {
                awaitFlushing(reply);
                functionsRestored++;
            } catch (ExecutionException e) {
                String msg = String.valueOf(e.getCause().getMessage());
                if (!force && msg.contains("already exists")) {
                    functionsKept++;
                } else {
                    throw new DrException(
                            ErrorCode.TARGET,
                            "FUNCTION RESTORE into " + server + " failed: " + redactor.apply(msg)
                                    + "; the server must be Redis 7.0 or newer");
                }
            } catch (TimeoutException e) {
                throw new DrException(
                        ErrorCode.TARGET, server + " did not answer FUNCTION RESTORE within 60 s", e, true);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DrException(ErrorCode.INTERRUPTED, "interrupted while restoring into " + server);
            }
        }

        void version(int v) {
            version = v;
        }

        /** Whether any key or function library reached the server. */
        boolean sentAnything() {
            return restored + functionsRestored > 0;
        }

        /** Fails before any key is sent when a cluster would refuse one of these databases (it has 0 only). */
        void checkDatabases(Set<Integer> dbs, String source) {
            if (!(async instanceof RedisAsyncCommands<byte[], byte[]>)
                    && dbs.stream().anyMatch(d -> d != 0)) {
                throw new ConfigException(source + " holds keys in database "
                        + dbs.stream().filter(d -> d != 0).findFirst().orElseThrow()
                        + ", and a Redis Cluster has database 0 only; restore it into a standalone server");
            }
        }

        void entry(int db, byte[] key, int type, long expireAtMs, byte[] value) throws IOException {
            if (match != null && !match.matches(key)) {
                skipped++;
                return;
            }
            if (expireAtMs >= 0 && expireAtMs <= System.currentTimeMillis()) {
                expired++;
                return;
            }
            if (db != this.db) {
                drain();
                if (async instanceof RedisAsyncCommands<byte[], byte[]> standalone) {
                    await(standalone.select(db), conn, Duration.ofSeconds(60));
                } else if (db != 0) {
                    throw new ConfigException("the backup holds keys in database " + db + ", and a Redis Cluster has "
                            + "database 0 only; restore it into a standalone server");
                }
                this.db = db;
            }
            RestoreArgs args = new RestoreArgs();
            if (expireAtMs >= 0) {
                args.ttl(expireAtMs).absttl();
            }
            if (force) {
                args.replace();
            }
            pending.add(async.restore(key, RdbVersions.dumpPayload(type, value, version), args));
            pendingKeys.add(key);
            if (pending.size() >= BATCH) {
                drain();
            }
        }

        void drain() throws IOException {
            conn.flushCommands();
            for (int i = 0; i < pending.size(); i++) {
                try {
                    awaitFlushing(pending.get(i));
                    restored++;
                } catch (ExecutionException e) {
                    String msg = String.valueOf(e.getCause().getMessage());
                    if (msg.startsWith("BUSYKEY")) {
                        kept++;
                    } else if (e.getCause() instanceof RedisCommandTimeoutException) {
                        throw new DrException(
                                ErrorCode.TARGET,
                                unanswered(pendingKeys.get(i), conn.getTimeout()),
                                e.getCause(),
                                true);
                    } else {
                        throw new DrException(
                                ErrorCode.TARGET,
                                "RESTORE of key '" + printable(pendingKeys.get(i)) + "' into " + server + " failed: "
                                        + redactor.apply(msg));
                    }
                } catch (TimeoutException e) {
                    throw new DrException(ErrorCode.TARGET, unanswered(pendingKeys.get(i), answerWithin()), e, true);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new DrException(ErrorCode.INTERRUPTED, "interrupted while restoring into " + server);
                }
            }
            pending.clear();
            pendingKeys.clear();
        }

        /** How long a reply is waited for: setting 'timeout' (the connection's), at least a second. */
        private Duration answerWithin() {
            Duration t = conn.getTimeout();
            return t == null || t.compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : t;
        }

        /**
         * What a RESTORE no one answered says: in a cluster, the node that serves the key's slot as the
         * connection last knew it (the node named in setting 'to-uri' going down during the restore
         * left a timeout that named neither it nor what to do); the keys sent before are restored.
         */
        private String unanswered(byte[] key, Duration waited) {
            boolean cluster = false;
            String node = null;
            if (conn instanceof StatefulRedisClusterConnection<byte[], byte[]> c) {
                cluster = true;
                RedisClusterNode owner = c.getPartitions().getPartitionBySlot(SlotHashes.slot(key));
                if (owner != null && owner.getUri() != null) {
                    node = owner.getUri().getHost() + ":" + owner.getUri().getPort();
                }
            }
            return (node == null ? server : "node " + node + " of " + server) + " did not answer the RESTORE of key '"
                    + printable(key) + "' within " + waited.toSeconds() + " s (setting 'timeout'): it may be down, "
                    + "hung or " + (cluster ? "failing over" : "busy") + ". The " + restored
                    + " keys restored before it stay; "
                    + (cluster ? "once every master answers (CLUSTER NODES on a node that is up)" : "once it answers")
                    + ", restore again: keys that exist are kept, or replaced with setting 'force'";
        }

        /**
         * Waits for a reply, flushing again while waiting: a cluster connection re-sends a command
         * that was redirected (MOVED, ASK) to another node, where it waits for the next flush.
         */
        private void awaitFlushing(RedisFuture<String> reply)
                throws ExecutionException, TimeoutException, InterruptedException {
            long deadline = System.nanoTime() + answerWithin().toNanos();
            while (true) {
                try {
                    reply.get(50, TimeUnit.MILLISECONDS);
                    return;
                } catch (TimeoutException e) {
                    if (System.nanoTime() > deadline) {
                        throw e;
                    }
                    conn.flushCommands();
                }
            }
        }
    }

    /** How long an online restore waits for the server's replicas by default (setting {@code replica-wait}). */
    static final Duration DEFAULT_REPLICA_WAIT = Duration.ofSeconds(30);

    /** The milliseconds of a TIME reply (seconds, microseconds). */
    static long serverMillis(List<byte[]> time) {
        if (time == null || time.size() != 2) {
            throw new DrException(ErrorCode.TARGET, "the server's TIME reply is not two numbers");
        }
        try {
            long seconds = Long.parseLong(new String(time.get(0), StandardCharsets.US_ASCII));
            long micros = Long.parseLong(new String(time.get(1), StandardCharsets.US_ASCII));
            return seconds * 1000 + micros / 1000;
        } catch (NumberFormatException e) {
            throw new DrException(ErrorCode.TARGET, "the server's TIME reply is not two numbers");
        }
    }

    /** A key as it can go into a message: at most 80 characters, none that starts a line or an escape. */
    static String printable(byte[] key) {
        String s = new String(key, StandardCharsets.UTF_8);
        return s.length() > 80 ? TarEntryReader.printable(s.substring(0, 80)) + "..." : TarEntryReader.printable(s);
    }

    static Map<String, String> info(StatefulRedisConnection<byte[], byte[]> conn, String section) {
        return infoFields(conn.sync().info(section)); // only called while commands flush automatically
    }

    /** The {@code field:value} lines of an INFO reply. */
    static Map<String, String> infoFields(String text) {
        Map<String, String> m = new LinkedHashMap<>();
        for (String line : text.split("\r?\n")) {
            int colon = line.indexOf(':');
            if (colon > 0 && !line.startsWith("#")) {
                m.put(line.substring(0, colon), line.substring(colon + 1).trim());
            }
        }
        return m;
    }

    private static <T> T await(RedisFuture<T> f, StatefulConnection<?, ?> conn, Duration timeout) {
        conn.flushCommands();
        return get(f, timeout);
    }

    private static <T> T get(RedisFuture<T> f, Duration timeout) {
        try {
            return f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            Throwable c = e.getCause();
            if (c instanceof RedisCommandExecutionException) {
                throw new DrException(ErrorCode.TARGET, "redis command failed: " + c.getMessage());
            }
            throw new DrException(
                    ErrorCode.TARGET,
                    "redis command failed: " + (c.getMessage() != null ? c.getMessage() : "the connection failed"),
                    c,
                    true);
        } catch (TimeoutException e) {
            throw new DrException(
                    ErrorCode.TARGET, "redis did not answer within " + timeout.toSeconds() + " s", e, true);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DrException(ErrorCode.INTERRUPTED, "interrupted while talking to redis");
        }
    }
}
