package dev.drkit.redis;

import dev.drkit.Settings;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.OptionSpec.Type;

/** Provides the {@code redis} target. */
public final class RedisTargetProvider implements BackupTargetProvider {
    public static final String TYPE = "redis";

    static final OptionSpec REDIS_SERVER = OptionSpec.builder("redis-server", Type.PATH)
            .description("the redis-server binary (default: PATH's)")
            .build();

    private static final OptionSpec MATCH = OptionSpec.builder("match", Type.STRING)
            .description("only keys matching this glob, e.g. 'profile:*' (backups: mode keys only)")
            .build();

    private static final OptionSchema SCHEMA = OptionSchema.of(
                    OptionSpec.builder("uri", Type.URI)
                            .required()
                            .description("the server, redis://[USER@]HOST:PORT[/DB] or rediss:// for TLS, or "
                                    + "redis-sentinel://HOST:PORT,HOST:PORT/MASTER through Sentinel (with cluster: "
                                    + "any node of the cluster, redis:// or rediss://)")
                            .build(),
                    OptionSpec.builder("mode", Type.ENUM)
                            .allowed("rdb", "keys")
                            .defaultValue("rdb")
                            .description("rdb: the server's snapshot; keys: key by key with DUMP")
                            .build(),
                    MATCH,
                    OptionSpec.builder("keys-fallback", Type.BOOLEAN)
                            .defaultValue("true")
                            .description("mode rdb on a server that forbids SYNC/PSYNC: back up key by key "
                                    + "(not point-in-time) instead of failing; never for a cluster")
                            .build(),
                    OptionSpec.builder("incremental", Type.BOOLEAN)
                            .defaultValue("false")
                            .description("mode rdb: store only the keys that changed since the previous backup (a "
                                    + "key-level delta; restores rebuild the snapshot)")
                            .build(),
                    OptionSpec.builder("max-chain", Type.INT)
                            .defaultValue(String.valueOf(KeyDeltaBackup.DEFAULT_MAX_CHAIN))
                            .description("incremental: once this many deltas follow the last full snapshot, the "
                                    + "next backup takes a full one")
                            .build(),
                    OptionSpec.builder("max-delta-keys", Type.INT)
                            .description("incremental: above this many keys, take full snapshots (a delta "
                                    + "compares up to 48 bytes of heap per key; default: a quarter of the heap)")
                            .build(),
                    OptionSpec.builder("backup-acl", Type.BOOLEAN)
                            .defaultValue("true")
                            .description("also back up the ACL users (ACL LIST, passwords hashed; with cluster: "
                                    + "those of the node in uri)")
                            .build())
            .plus(OptionSchema.of(RedisEndpoint.OPTIONS))
            .plus(OptionSchema.of(
                    OptionSpec.builder("cluster", Type.BOOLEAN)
                            .defaultValue("false")
                            .description("uri is a node of a Redis Cluster: back up every shard, one RDB each")
                            .build(),
                    OptionSpec.builder("jobs", Type.INT)
                            .defaultValue("4")
                            .description("cluster: how many shards to snapshot at a time")
                            .build()));

    /** to-uri's user, password and TLS options are the target's own settings, which a restore may be given too. */
    private static final OptionSchema RESTORE = OptionSchema.of(
            OptionSpec.builder("to-dir", Type.PATH)
                    .description("write the snapshot into this directory, for a stopped server")
                    .build(),
            OptionSpec.builder("to-uri", Type.URI)
                    .description("restore keys online into this server, redis://HOST:PORT")
                    .build(),
            MATCH,
            OptionSpec.builder("replica-wait", Type.DURATION)
                    .defaultValue("30s")
                    .description("to-uri: how long to wait, once the keys are sent, for the server's replicas to "
                            + "acknowledge them (WAIT), so that a failover right after the restore keeps them; 0s: "
                            + "do not wait")
                    .build(),
            OptionSpec.builder("acl-users", Type.BOOLEAN)
                    .defaultValue("false")
                    .description("also restore the ACL users (existing ones kept unless forced; to-dir: users.acl)")
                    .build(),
            OptionSpec.builder("file", Type.STRING)
                    .defaultValue(RedisTarget.ARTIFACT)
                    .description("the snapshot's file name in to-dir")
                    .build(),
            OptionSpec.builder("server-version", Type.STRING)
                    .description("the server version that will load the file, e.g. 7.4.2, or valkey 9.0.1 for Valkey "
                            + "(else the one redis-server reports)")
                    .build(),
            REDIS_SERVER);

    @Override
    public String type() {
        return TYPE;
    }

    @Override
    public OptionSchema schema() {
        return SCHEMA;
    }

    @Override
    public OptionSchema restoreSchema() {
        return RESTORE;
    }

    @Override
    public BackupTarget create(Settings settings) {
        return new RedisTarget(settings);
    }
}
