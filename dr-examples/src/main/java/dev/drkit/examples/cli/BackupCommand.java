package dev.drkit.examples.cli;

import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.CopyIncompleteException;
import dev.drkit.CopyResult;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.setup.Setup;
import dev.drkit.spi.StorageBackend;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * {@code drkit backup <type> ...}, or with a setup file {@code drkit --config F backup (--name NAME... | --all)}:
 * the setup's targets, each new backup then copied to the setup's {@code copies}.
 */
@Command(
        name = "backup",
        description = "Take a backup; prints the new backup id as the last line. With --config: "
                + "back up the setup's targets (--name NAME or --all) and copy each new backup to the setup's copies.")
final class BackupCommand implements Callable<Integer> {
    /**
     * The types to back up, its subcommands: added by {@link DrkitCli#commandLine(String...)},
     * which builds only the one the arguments name.
     */
    static final List<Class<?>> TYPES =
            List.of(Files.class, Postgres.class, PostgresLogical.class, Redis.class, MinioBucket.class);

    @Spec
    CommandSpec spec;

    @Option(names = "--name", paramLabel = "NAME", description = "With --config: a target of the setup (repeatable).")
    List<String> names = new ArrayList<>();

    @Option(names = "--all", description = "With --config: every target of the setup, in file order.")
    boolean all;

    @Override
    public Integer call() throws IOException {
        GlobalOptions global = GlobalOptions.of(spec);
        if (global.setup() == null) {
            throw new picocli.CommandLine.ParameterException(
                    spec.commandLine(),
                    "give the type to back up (backup "
                            + "files|postgres|postgres-logical|redis|minio-bucket ...), or --config drkit.yaml with --name or --all");
        }
        Setup setup = global.setup();
        if (all == !names.isEmpty()) {
            throw new picocli.CommandLine.ParameterException(
                    spec.commandLine(),
                    "give --name NAME (repeatable) or " + "--all; the setup has: "
                            + String.join(", ", setup.targets().keySet()));
        }
        List<Setup.Target> targets = all
                ? List.copyOf(setup.targets().values())
                : names.stream().map(setup::target).toList();
        PrintWriter out = spec.commandLine().getOut();
        List<BackupManifest> taken = new ArrayList<>();
        boolean incomplete = false;
        int failed = 0;
        try (DrKit kit = global.open(
                spec.commandLine().getErr(),
                null,
                new EncryptionOptions().stage(global),
                null,
                new EncryptionOptions().signer(global),
                null)) {
            for (Setup.Target t : targets) {
                if (SignalStop.signalled()) {
                    break; // Ctrl-C or SIGTERM: no further target is begun in the time left to clean up
                }
                // each target on its own: one that fails is said, and the others are still backed up
                BackupResult r;
                try {
                    r = kit.backup(t.spec());
                } catch (DrException e) {
                    failed = worse(failed, DrkitCli.report(e, spec.commandLine(), "backup of " + t.name() + ": "));
                    continue;
                }
                taken.add(r.manifest());
                incomplete |= reportIncomplete(spec.commandLine().getErr(), t.name(), r);
                if (!global.quiet && !global.json) {
                    out.printf(
                            "backed up %s: %s raw, %s stored in %.1fs%n",
                            t.name(),
                            Sizes.human(r.manifest().rawSize()),
                            Sizes.human(r.manifest().storedSize()),
                            r.manifest().duration().toMillis() / 1000.0);
                }
                for (String copy : setup.copies()) {
                    if (SignalStop.signalled()) {
                        break;
                    }
                    CopyResult c;
                    try (StorageBackend destination = kit.openStorage(copy)) {
                        c = kit.copy(t.name(), r.id(), false, destination);
                    } catch (DrException e) {
                        failed = worse(
                                failed,
                                DrkitCli.report(e, spec.commandLine(), "copy of " + t.name() + " " + r.id() + ": "));
                        if (e instanceof CopyIncompleteException ci) {
                            CopyCommand.printNotCopied(spec.commandLine().getErr(), ci.result());
                            spec.commandLine().getErr().flush();
                        }
                        continue;
                    }
                    if (!global.quiet && !global.json) {
                        out.printf(
                                "copied %s %s to %s (%s)%n", t.name(), r.id(), c.destination(), Sizes.human(c.bytes()));
                    }
                }
            }
        }
        if (global.json) {
            GlobalOptions.printJson(out, taken);
        } else {
            taken.forEach(m -> out.println(m.id()));
        }
        out.flush();
        return failed != 0 ? failed : incomplete ? INCOMPLETE : 0;
    }

    /** Of two exit codes of failures (0 for none), the one to end with: a failed operation over a usage error. */
    private static int worse(int a, int b) {
        return a == DrkitCli.FAILED || b == DrkitCli.FAILED ? DrkitCli.FAILED : Math.max(a, b);
    }

    /** The exit code of a backup that was stored but holds files that changed while they were copied. */
    static final int INCOMPLETE = 3;

    /**
     * Names on stderr the files of an incomplete backup: it is stored and listed, but a file
     * that shrank while it was copied is stored with zeros at its end.
     *
     * @return whether the backup is incomplete
     */
    static boolean reportIncomplete(PrintWriter err, String name, BackupResult r) {
        if (!r.incomplete()) {
            return false;
        }
        err.printf(
                "drkit: backup %s of %s is incomplete: %d file(s) changed or vanished while they were copied "
                        + "and are stored as far as they were read (run the backup again when they are at rest):%n",
                r.id(), name, r.incompleteFileCount());
        r.incompleteFiles().forEach(f -> err.println("  " + f));
        if (r.incompleteFileCount() > r.incompleteFiles().size()) {
            err.printf(
                    "  ... and %d more%n",
                    r.incompleteFileCount() - r.incompleteFiles().size());
        }
        err.flush();
        return true;
    }

    /** Options every backup type takes. */
    static final class Common {

        @Option(
                names = "--name",
                required = true,
                paramLabel = "NAME",
                description = "Target name: the backup's folder in the repository (e.g. config).")
        String name;

        @Option(names = "--compress", paramLabel = "CODEC", description = "zstd (default), gzip, lz4, xz or none.")
        String compress;

        @Option(
                names = "--dedup",
                description = "Store deduplicated in the repository's chunk store: chunks an earlier backup "
                        + "stored are not stored again (zstd, unencrypted).")
        boolean dedup;

        @Option(
                names = "--compression-level",
                paramLabel = "N",
                description = "Compression level of this backup (zstd 1-22, gzip 1-9, xz 0-9). Default: the "
                        + "repository's; Redis backups use the fastest level (snapshots compress their "
                        + "strings already).")
        Integer compressionLevel;

        @Mixin
        EncryptionOptions encryption;

        int run(CommandSpec spec, String type, Settings settings) throws IOException {
            if (dedup) {
                settings = settings.toBuilder().set("dedup", "true").build();
            }
            if (compressionLevel != null) {
                settings = settings.toBuilder()
                        .set("compression-level", compressionLevel.toString())
                        .build();
            }
            GlobalOptions global = GlobalOptions.of(spec);
            PrintWriter out = spec.commandLine().getOut();
            try (DrKit kit = global.open(
                    spec.commandLine().getErr(),
                    compress,
                    encryption.stage(global),
                    null,
                    encryption.signer(global),
                    null)) {
                BackupResult r = kit.backup(new TargetSpec(name, type, settings));
                if (global.json) {
                    GlobalOptions.printJson(out, r.manifest());
                } else {
                    if (!global.quiet && r.manifest().metadata().get(BackupManifest.DEDUP) instanceof Map<?, ?> d) {
                        out.printf(
                                "backed up %s: %s raw in %s chunks, %s of them new (%s stored) in %.1fs%n",
                                name,
                                Sizes.human(r.manifest().rawSize()),
                                d.get("chunks"),
                                d.get("new-chunks"),
                                Sizes.human(((Number) d.get("new-bytes")).longValue()),
                                r.manifest().duration().toMillis() / 1000.0);
                    } else if (!global.quiet) {
                        out.printf(
                                "backed up %s: %s raw, %s stored in %.1fs%n",
                                name,
                                Sizes.human(r.manifest().rawSize()),
                                Sizes.human(r.manifest().storedSize()),
                                r.manifest().duration().toMillis() / 1000.0);
                    }
                    out.println(r.id());
                }
                out.flush();
                return reportIncomplete(spec.commandLine().getErr(), name, r) ? INCOMPLETE : 0;
            }
        }
    }

    @Command(name = "files", description = "Back up files and directories (configuration, env files, TLS material).")
    static final class Files implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Common common;

        @Option(names = "--path", required = true, paramLabel = "PATH", description = "File or directory (repeatable).")
        List<String> paths = new ArrayList<>();

        @Option(
                names = "--exclude",
                paramLabel = "GLOB",
                description = "Skip names or paths matching the glob (repeatable), e.g. '*.tmp' or '**/cache'.")
        List<String> excludes = new ArrayList<>();

        @Override
        public Integer call() throws IOException {
            Settings.Builder s = Settings.builder().addAll("path", paths).addAll("exclude", excludes);
            return common.run(spec, "files", s.build());
        }
    }

    @Command(
            name = "postgres",
            description = "Physical base backup of a PostgreSQL cluster (15+), for point-in-time "
                    + "recovery with the WAL that archive_command = 'drkit --repo R wal-push %%p' stores. Runs on the database "
                    + "host as the cluster's owner: the data directory is read directly.")
    static final class Postgres implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Common common;

        @Mixin
        PostgresOptions postgres;

        @Option(
                names = "--data-dir",
                paramLabel = "DIR",
                description = "The data directory (default: SHOW data_directory).")
        String dataDir;

        @Option(names = "--jobs", paramLabel = "N", description = "Parallel copy streams (default: cores, up to 4).")
        Integer jobs;

        @Option(
                names = "--wal-timeout",
                paramLabel = "DURATION",
                description = "How long to wait for the backup's WAL to be archived (default 5min).")
        String walTimeout;

        @Option(
                names = "--incremental",
                description = "Store only what changed since the previous base backup of this cluster: "
                        + "unchanged files (size, mtime, with a margin for mtime granularity) are referenced, "
                        + "changed relation files stored page by page.")
        boolean incremental;

        @Option(
                names = "--max-chain",
                paramLabel = "N",
                description = "Incremental forever: once N incrementals follow the last full backup, build a "
                        + "synthetic full backup from them in the repository, without reading the cluster "
                        + "(default 0: never).")
        Integer maxChain;

        @Option(
                names = "--synthetic-full",
                description = "Build a full backup from the newest backup of this target and the ones it "
                        + "depends on, in the repository, without reading the cluster.")
        boolean syntheticFull;

        @Option(
                names = "--scratch-dir",
                paramLabel = "DIR",
                description = "Where a synthetic full backup rebuilds the cluster before storing it; needs free "
                        + "space the size of the cluster (default: drkit's private directory under java.io.tmpdir).")
        Path scratchDir;

        @Option(
                names = "--checksum",
                description =
                        "With --incremental: also compare the bytes (CRC32C) of files whose "
                                + "size and mtime look unchanged, since both can lie (a file restored or touched with an old time).")
        boolean checksum;

        @Option(
                names = "--wal-source",
                paramLabel = "SOURCE",
                description = "archive (default: archive_command must be on) or stream (drkit wal-stream stores it).")
        String walSource;

        @Override
        public Integer call() throws IOException {
            Settings.Builder s = postgres.addTo(Settings.builder());
            OptionValues.set(s, "data-dir", dataDir);
            OptionValues.set(s, "jobs", jobs == null ? null : jobs.toString());
            OptionValues.set(s, "wal-timeout", walTimeout);
            OptionValues.set(s, "wal-source", walSource);
            OptionValues.set(s, "incremental", incremental ? "true" : null);
            OptionValues.set(s, "checksum", checksum ? "true" : null);
            OptionValues.set(s, "max-chain", maxChain == null ? null : maxChain.toString());
            OptionValues.set(s, "synthetic-full", syntheticFull ? "true" : null);
            OptionValues.set(s, "scratch-dir", scratchDir == null ? null : scratchDir.toString());
            return common.run(spec, "postgres", s.build());
        }
    }

    @Command(
            name = "postgres-logical",
            description = "Back up one PostgreSQL database with pg_dump (custom format), "
                    + "recording exact row counts from the same snapshot.")
    static final class PostgresLogical implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Common common;

        @Mixin
        PostgresOptions postgres;

        @Option(names = "--globals", description = "Also dump roles and tablespaces (pg_dumpall --globals-only).")
        boolean globals;

        @Override
        public Integer call() throws IOException {
            Settings.Builder s = postgres.addTo(Settings.builder());
            if (globals) {
                s.set("globals", "true");
            }
            return common.run(spec, "postgres-logical", s.build());
        }
    }

    @Command(
            name = "minio-bucket",
            description = "Back up MinIO/S3 buckets: object bytes, content type, headers, "
                    + "user metadata and tags (credentials: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY).")
    static final class MinioBucket implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Common common;

        @Option(names = "--endpoint", required = true, paramLabel = "URL", description = "http(s)://HOST:PORT")
        String endpoint;

        @Option(names = "--bucket", required = true, paramLabel = "BUCKET", description = "Bucket (repeatable).")
        List<String> buckets = new ArrayList<>();

        @Option(names = "--prefix", paramLabel = "PREFIX", description = "Only objects under this prefix.")
        String prefix;

        @Option(
                names = "--versions",
                description = "Every version and delete marker of versioned buckets, not only "
                        + "the current objects (restore replays the history, or --time picks a moment).")
        boolean versions;

        @Option(names = "--full", description = "Copy every object, even those unchanged since the previous backup.")
        boolean full;

        @Override
        public Integer call() throws IOException {
            Settings.Builder s = Settings.builder().set("endpoint", endpoint).addAll("bucket", buckets);
            OptionValues.set(s, "prefix", prefix);
            OptionValues.set(s, "versions", versions ? "true" : null);
            OptionValues.set(s, "full", full ? "true" : null);
            return common.run(spec, "minio-bucket", s.build());
        }
    }

    @Command(
            name = "redis",
            description = "Back up a Redis server over the network: a point-in-time RDB snapshot "
                    + "over the replication protocol (--mode rdb), or SCAN/DUMP of the keys (--mode keys); "
                    + "with --cluster, every shard of a Redis Cluster.")
    static final class Redis implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Mixin
        Common common;

        @Option(
                names = "--uri",
                required = true,
                paramLabel = "URI",
                description = "redis://[USER@]HOST:PORT, or rediss:// for TLS, or "
                        + "redis-sentinel://HOST:PORT,HOST:PORT/MASTER to find the master through Sentinel; "
                        + "with --cluster, any node of the cluster.")
        String uri;

        @Option(
                names = "--sentinel-user",
                paramLabel = "USER",
                description = "The ACL user to log in to the sentinels as.")
        String sentinelUser;

        @Option(
                names = "--sentinel-password-file",
                paramLabel = "FILE",
                description = "File whose first line is the sentinels' password.")
        String sentinelPasswordFile;

        @Option(
                names = "--keys-fallback",
                paramLabel = "true|false",
                description = "rdb mode on a server that forbids SYNC/PSYNC: back up key by key, not point-in-time "
                        + "(true, the default), or fail (false).")
        String keysFallback;

        @Option(
                names = "--backup-acl",
                paramLabel = "true|false",
                description = "Also back up the ACL users, passwords hashed (default true).")
        String backupAcl;

        @Option(names = "--mode", paramLabel = "MODE", description = "rdb (default: a point-in-time snapshot) or keys.")
        String mode;

        @Option(
                names = "--cluster",
                description = "--uri is a node of a Redis Cluster: snapshot every shard into one backup "
                        + "(one RDB per shard, the slot map in the manifest).")
        boolean cluster;

        @Option(
                names = "--read-from",
                paramLabel = "ROLE",
                description = "redis-sentinel:// or --cluster: snapshot the master (default), a healthy replica "
                        + "(replica), or a healthy replica when there is one (replica-preferred); with --cluster, "
                        + "per shard.")
        String readFrom;

        @Option(
                names = "--jobs",
                paramLabel = "N",
                description = "--cluster: how many shards to snapshot at a time (default 4).")
        Integer jobs;

        @Option(names = "--match", paramLabel = "PATTERN", description = "keys mode: only keys matching the glob.")
        String match;

        @Option(
                names = "--incremental",
                description = "rdb mode: store only the keys that changed since the previous backup of this target "
                        + "(a key-level delta; a restore rebuilds the snapshot from the chain).")
        boolean incremental;

        @Option(
                names = "--max-chain",
                paramLabel = "N",
                description = "With --incremental: once N deltas follow the last full snapshot, the next backup "
                        + "takes a full one (default 24).")
        Integer maxChain;

        @Option(
                names = "--max-delta-keys",
                paramLabel = "N",
                description = "With --incremental: above N keys, take full snapshots (a delta compares up to 48 "
                        + "bytes of heap per key; default: a quarter of the heap).")
        Integer maxDeltaKeys;

        @Option(names = "--user", paramLabel = "USER", description = "ACL user (needs +psync +replconf for rdb mode).")
        String user;

        @Option(
                names = "--password-file",
                paramLabel = "FILE",
                description = "File whose first line is the password (else env REDISCLI_AUTH).")
        String passwordFile;

        @Option(names = "--tls-ca", paramLabel = "PEM", description = "CA certificates to trust for rediss://.")
        String tlsCa;

        @Option(
                names = "--timeout",
                paramLabel = "DURATION",
                description = "How long the server may stay silent (default 60s).")
        String timeout;

        @Option(
                names = "--snapshot-start-timeout",
                paramLabel = "DURATION",
                description = "How long the server may take to start sending the snapshot, which it saves first "
                        + "(default 1h; its keepalives do not extend it).")
        String snapshotStartTimeout;

        @Override
        public Integer call() throws IOException {
            Settings.Builder s = Settings.builder().set("uri", uri);
            OptionValues.set(s, "mode", mode);
            OptionValues.set(s, "cluster", cluster ? "true" : null);
            OptionValues.set(s, "read-from", readFrom);
            OptionValues.set(s, "jobs", jobs == null ? null : jobs.toString());
            OptionValues.set(s, "match", match);
            OptionValues.set(s, "user", user);
            OptionValues.set(s, "password-file", passwordFile);
            OptionValues.set(s, "tls-ca", tlsCa);
            OptionValues.set(s, "timeout", timeout);
            OptionValues.set(s, "snapshot-start-timeout", snapshotStartTimeout);
            OptionValues.set(s, "sentinel-user", sentinelUser);
            OptionValues.set(s, "sentinel-password-file", sentinelPasswordFile);
            OptionValues.set(s, "keys-fallback", keysFallback);
            OptionValues.set(s, "backup-acl", backupAcl);
            OptionValues.set(s, "incremental", incremental ? "true" : null);
            OptionValues.set(s, "max-chain", maxChain == null ? null : maxChain.toString());
            OptionValues.set(s, "max-delta-keys", maxDeltaKeys == null ? null : maxDeltaKeys.toString());
            return common.run(spec, "redis", s.build());
        }
    }
}
