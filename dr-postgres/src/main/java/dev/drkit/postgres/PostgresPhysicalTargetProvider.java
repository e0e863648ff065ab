package dev.drkit.postgres;

import dev.drkit.BackupManifest;
import dev.drkit.Settings;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.OptionSpec.Type;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/** Provides the {@code postgres} (physical base backup) target. */
public final class PostgresPhysicalTargetProvider implements BackupTargetProvider {
    public static final String TYPE = "postgres";

    static final OptionSpec SERVER_BIN_DIR = OptionSpec.builder("server-bin-dir", Type.PATH)
            .description("PostgreSQL server binaries (pg_ctl) to start a restored cluster with")
            .build();
    static final OptionSpec BIN_DIR = OptionSpec.builder("bin-dir", Type.PATH)
            .description("PostgreSQL binaries, looked in for pg_ctl when server-bin-dir is not given")
            .build();

    private static final OptionSchema SCHEMA = PgConnection.schema(
            OptionSpec.builder("data-dir", Type.PATH)
                    .description(
                            "the cluster's data directory, when it is not the server's data_directory as seen here")
                    .build(),
            OptionSpec.builder("jobs", Type.INT)
                    .description("files read in parallel (default: the processors, at most 4)")
                    .build(),
            OptionSpec.builder("wal-timeout", Type.DURATION)
                    .defaultValue("5min")
                    .description("how long to wait for the WAL the backup needs to be archived")
                    .build(),
            OptionSpec.builder("wal-source", Type.ENUM)
                    .allowed("archive", "stream")
                    .defaultValue("archive")
                    .description("where WAL comes from: archive_command, or a PostgresWalStreamer")
                    .build(),
            OptionSpec.builder("fast", Type.BOOLEAN)
                    .defaultValue("true")
                    .description("start the backup with an immediate checkpoint")
                    .build(),
            OptionSpec.builder("incremental", Type.BOOLEAN)
                    .defaultValue("false")
                    .description("store only what changed since the previous backup: unchanged files are "
                            + "referenced, changed relation files stored page by page")
                    .build(),
            OptionSpec.builder("checksum", Type.BOOLEAN)
                    .defaultValue("false")
                    .description("with incremental: also compare the bytes of files whose size and mtime look "
                            + "unchanged")
                    .build(),
            OptionSpec.builder("max-chain", Type.INT)
                    .defaultValue("0")
                    .description("incremental forever: once this many incrementals follow the last full backup, "
                            + "build a synthetic full backup from them in the repository (0: never)")
                    .build(),
            OptionSpec.builder("synthetic-full", Type.BOOLEAN)
                    .defaultValue("false")
                    .description("build a full backup from the newest backup and the ones it depends on, in the "
                            + "repository, without reading the cluster")
                    .build(),
            OptionSpec.builder("scratch-dir", Type.PATH)
                    .description("where a synthetic full backup rebuilds the cluster before storing it: needs free "
                            + "space the size of the cluster (default: drkit's private directory under "
                            + "java.io.tmpdir)")
                    .build());

    private static final OptionSchema RESTORE = OptionSchema.of(
            OptionSpec.builder("to", Type.PATH)
                    .required()
                    .description("the new data directory (empty or new)")
                    .build(),
            OptionSpec.builder("tablespace-", Type.PATH)
                    .family()
                    .description("tablespace-OID: restore that tablespace into this directory instead of its own")
                    .build(),
            OptionSpec.builder("restore-command", Type.STRING)
                    .description("the restore_command PostgreSQL fetches archived WAL with")
                    .build(),
            OptionSpec.builder("stage-wal", Type.BOOLEAN)
                    .defaultValue("false")
                    .description("copy the archived WAL next to the restored directory before recovery")
                    .build(),
            OptionSpec.builder("wal-spool", Type.PATH)
                    .description("a directory the restore_command moves WAL read ahead from (WalPrefetch) "
                            + "before it runs restore-command")
                    .build(),
            OptionSpec.builder("time", Type.TIMESTAMP)
                    .description("recover to this time (point-in-time recovery)")
                    .build(),
            OptionSpec.builder("lsn", Type.STRING)
                    .description("recover to this WAL position")
                    .build(),
            OptionSpec.builder("xid", Type.STRING)
                    .description("recover to this transaction")
                    .build(),
            OptionSpec.builder("target-name", Type.STRING)
                    .description("recover to this restore point (pg_create_restore_point)")
                    .build(),
            OptionSpec.builder("immediate", Type.BOOLEAN)
                    .defaultValue("false")
                    .description("recover only until the backup is consistent")
                    .build(),
            OptionSpec.builder("target-action", Type.ENUM)
                    .allowed("promote", "pause", "shutdown")
                    .defaultValue("promote")
                    .description("what the server does when the recovery target is reached")
                    .build(),
            OptionSpec.builder("target-timeline", Type.STRING)
                    .defaultValue("latest")
                    .description("the timeline to recover along")
                    .build(),
            OptionSpec.builder("archive-mode", Type.ENUM)
                    .allowed("preserve", "off")
                    .defaultValue("preserve")
                    .description("off: the restored cluster archives no WAL (archive_mode = off); for a copy beside "
                            + "the live cluster, which would otherwise archive a new timeline into its repository")
                    .build(),
            OptionSpec.builder("start", Type.STRING)
                    .description("start the restored cluster and wait for recovery: pg_ctl's directory, or auto")
                    .build(),
            OptionSpec.builder("start-port", Type.INT)
                    .description("the port to start the restored cluster on")
                    .build(),
            OptionSpec.builder("cluster-owner", Type.STRING)
                    .description("run as root: the user (USER or USER:GROUP) the restored cluster belongs to and "
                            + "runs as; default the owner of the directory above the destination unless root, else "
                            + "the backup's owner only when it is postgres")
                    .build(),
            OptionSpec.builder("start-timeout", Type.DURATION)
                    .defaultValue("1h")
                    .description("how long to wait for recovery after start")
                    .build(),
            SERVER_BIN_DIR,
            BIN_DIR);

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
        return new PostgresPhysicalTarget(settings);
    }

    /** Base backups need the archived WAL to be restored consistently and to recover past them. */
    @Override
    public List<String> archiveAreas() {
        return List.of(WalArchive.AREA);
    }

    /** See {@link WalPruning}: WAL from before the oldest kept base backup of each cluster goes. */
    @Override
    public List<String> pruneArchive(List<BackupManifest> kept, Function<String, FileArchive> archives, boolean dryRun)
            throws IOException {
        return WalPruning.prune(kept, archives.apply(WalArchive.AREA), dryRun);
    }

    /**
     * When the WAL archived since {@code newest} started runs without a gap past its stop: the
     * time the last segment of that run was stored. See {@link WalContinuity#recoveryPoint}.
     */
    @Override
    public Optional<Instant> recoveryPoint(BackupManifest newest, Function<String, FileArchive> archives)
            throws IOException {
        return WalContinuity.recoveryPoint(newest, archives.apply(WalArchive.AREA));
    }
}
