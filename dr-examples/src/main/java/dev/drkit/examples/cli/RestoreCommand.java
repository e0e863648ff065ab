package dev.drkit.examples.cli;

import dev.drkit.BackupManifest;
import dev.drkit.ConfigException;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.RestoreResult;
import dev.drkit.Settings;
import dev.drkit.postgres.PostgresPhysicalTargetProvider;
import dev.drkit.postgres.WalArchive;
import java.io.File;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code drkit restore --name NAME (--latest | --id ID) [type options] [--force]}. */
@Command(name = "restore", description = "Restore a backup into a new or empty destination (or --force).")
final class RestoreCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    BackupSelection selection;

    @Mixin
    DecryptionOptions decryption;

    @Option(names = "--to", paramLabel = "DIR", description = "files: the destination directory.")
    String to;

    @Option(
            names = "--include",
            paramLabel = "GLOB",
            description = "files: restore only entries matching the glob (repeatable), e.g. 'etc/nginx/**'.")
    List<String> includes = new ArrayList<>();

    @Option(names = "--force", description = "Allow overwriting existing data at the destination.")
    boolean force;

    @Mixin
    PostgresOptions postgres;

    @Option(
            names = "--to-database",
            paramLabel = "DB",
            description = "postgres-logical: database to restore into (created; an existing one needs --force).")
    String toDatabase;

    @Option(names = "--table", paramLabel = "TABLE", description = "postgres-logical: only this table (repeatable).")
    List<String> tables = new ArrayList<>();

    @Option(names = "--schema", paramLabel = "SCHEMA", description = "postgres-logical: only this schema (repeatable).")
    List<String> schemas = new ArrayList<>();

    @Option(names = "--jobs", paramLabel = "N", description = "postgres-logical: parallel restore jobs.")
    Integer jobs;

    @Option(names = "--globals", description = "postgres-logical: also restore roles and tablespaces.")
    boolean globals;

    @Option(names = "--no-owner", description = "postgres-logical: do not restore object ownership.")
    boolean noOwner;

    @Option(names = "--no-privileges", description = "postgres-logical: do not restore privileges (GRANT/REVOKE).")
    boolean noPrivileges;

    @Option(names = "--endpoint", paramLabel = "URL", description = "minio-bucket: http(s)://HOST:PORT to restore to.")
    String endpoint;

    @Option(
            names = "--to-bucket",
            paramLabel = "BUCKET",
            description = "minio-bucket: restore into this bucket (default: the original ones).")
    String toBucket;

    @Option(
            names = "--prefix",
            paramLabel = "PREFIX",
            description = "minio-bucket: put restored objects under this prefix.")
    String prefix;

    @Option(
            names = "--shared-destination",
            description = "files: restore even where another user may change the destination or a directory above "
                    + "it (and so could send the restore's files elsewhere).")
    boolean sharedDestination;

    @Option(
            names = "--to-dir",
            paramLabel = "DIR",
            description = "redis: write dump.rdb into DIR for a stopped server (an existing one needs --force); "
                    + "a cluster backup: DIR/shard-N/dump.rdb and nodes.conf per shard, and DIR/slot-map.txt.")
    String toDir;

    @Option(
            names = "--to-uri",
            paramLabel = "URI",
            description = "redis: restore keys online into redis://HOST:PORT (existing keys kept unless --force); "
                    + "a Redis Cluster node: each key goes to the node that owns its slot.")
    String toUri;

    @Option(
            names = "--match",
            paramLabel = "PATTERN",
            description = "redis: only keys matching the glob, e.g. 'profile:*'.")
    String match;

    @Option(
            names = "--replica-wait",
            paramLabel = "DURATION",
            description = "redis --to-uri: how long to wait for the server's replicas to acknowledge the restored "
                    + "keys (default 30s; 0s: do not wait).")
    String replicaWait;

    @Option(names = "--tls-ca", paramLabel = "PEM", description = "redis: CA certificates to trust for rediss://.")
    String tlsCa;

    @Option(
            names = "--acl-users",
            description = "redis: also restore the ACL users (existing ones kept unless --force; --to-dir: users.acl).")
    boolean aclUsers;

    @Option(
            names = "--sentinel-password-file",
            paramLabel = "FILE",
            description = "redis --to-uri redis-sentinel://: file whose first line is the sentinels' password.")
    String sentinelPasswordFile;

    @Option(
            names = "--server-version",
            paramLabel = "VERSION",
            description = "redis --to-dir: the Redis version that will load the file (else redis-server --version).")
    String serverVersion;

    @Option(
            names = "--time",
            paramLabel = "TIMESTAMP",
            description = "postgres: recover to this time, e.g. 2025-01-03T14:05:00Z (point-in-time recovery); "
                    + "minio-bucket (a --versions backup): the buckets as they were at this time.")
    String time;

    @Option(
            names = "--latest-only",
            description = "minio-bucket (a --versions backup): only the current versions, " + "not the whole history.")
    boolean latestOnly;

    @Option(names = "--lsn", paramLabel = "LSN", description = "postgres: recover to this WAL position.")
    String lsn;

    @Option(names = "--xid", paramLabel = "XID", description = "postgres: recover to this transaction.")
    String xid;

    @Option(
            names = "--target-name",
            paramLabel = "NAME",
            description = "postgres: recover to this restore point (pg_create_restore_point).")
    String targetName;

    @Option(names = "--immediate", description = "postgres: recover only until the backup is consistent.")
    boolean immediate;

    @Option(
            names = "--target-action",
            paramLabel = "ACTION",
            description = "postgres: promote (default), pause or shutdown when the target is reached.")
    String targetAction;

    @Option(
            names = "--target-timeline",
            paramLabel = "TLI",
            description = "postgres: the timeline to recover along: latest (default), current (the backup's) or a "
                    + "number.")
    String targetTimeline;

    @Option(
            names = "--archive-mode",
            paramLabel = "MODE",
            description =
                    "postgres: preserve (default) the cluster's WAL archiving, or off (archive_mode = off): for a "
                            + "copy beside the live cluster, which would otherwise archive a new timeline into its repository "
                            + "and make later restores of the live cluster fail.")
    String archiveMode;

    @Option(
            names = "--tablespace",
            paramLabel = "OID=DIR",
            description = "postgres: restore this tablespace into DIR instead of its original location (repeatable).")
    List<String> tablespaces = new ArrayList<>();

    @Option(
            names = "--stage-wal",
            description =
                    "postgres: copy the archived WAL next to the restored directory "
                            + "(DIR.drkit-wal) before recovery, so PostgreSQL reads it with cp instead of one wal-fetch per segment.")
    boolean stageWal;

    @Option(
            names = "--prefetch-wal",
            paramLabel = "N",
            arity = "0..1",
            fallbackValue = "32",
            description = "postgres: recover with wal-fetch --async reading N segments ahead (default 32) into "
                    + "DIR.drkit-fetch next to the restored directory, which restore_command moves them from without "
                    + "starting Java.")
    Integer prefetchWal;

    @Option(
            names = "--start",
            paramLabel = "BIN_DIR",
            arity = "0..1",
            fallbackValue = "auto",
            description = "postgres: start the restored cluster (pg_ctl from BIN_DIR, or found for its version) and "
                    + "wait until recovery has finished.")
    String start;

    @Option(names = "--start-port", paramLabel = "PORT", description = "postgres --start: the port to start it on.")
    Integer startPort;

    @Option(
            names = "--cluster-owner",
            paramLabel = "USER[:GROUP]",
            description = "postgres, run as root: the user the restored cluster belongs to and runs as (default: "
                    + "the owner of the directory above --to unless root, else the backup's owner only when it is "
                    + "postgres).")
    String clusterOwner;

    @Option(
            names = "--restore-command",
            paramLabel = "COMMAND",
            description =
                    "postgres: the restore_command to write (default: this drkit's wal-fetch on this repository).")
    String restoreCommand;

    @Override
    public Integer call() throws IOException {
        GlobalOptions global = GlobalOptions.of(spec);
        PrintWriter out = spec.commandLine().getOut();
        Settings.Builder options = postgres.addTo(Settings.builder())
                .addAll("include", includes)
                .addAll("table", tables)
                .addAll("schema", schemas);
        OptionValues.set(options, "to", to);
        OptionValues.set(options, "to-database", toDatabase);
        OptionValues.set(options, "jobs", jobs == null ? null : jobs.toString());
        OptionValues.set(options, "globals", globals ? "true" : null);
        OptionValues.set(options, "no-owner", noOwner ? "true" : null);
        OptionValues.set(options, "no-privileges", noPrivileges ? "true" : null);
        OptionValues.set(options, "endpoint", endpoint);
        OptionValues.set(options, "to-bucket", toBucket);
        OptionValues.set(options, "prefix", prefix);
        OptionValues.set(options, "to-dir", toDir);
        OptionValues.set(options, "shared-destination", sharedDestination ? "true" : null);
        OptionValues.set(options, "to-uri", toUri);
        OptionValues.set(options, "match", match);
        OptionValues.set(options, "replica-wait", replicaWait);
        OptionValues.set(options, "tls-ca", tlsCa);
        OptionValues.set(options, "acl-users", aclUsers ? "true" : null);
        OptionValues.set(options, "sentinel-password-file", sentinelPasswordFile);
        OptionValues.set(options, "server-version", serverVersion);
        for (String t : tablespaces) {
            int eq = t.indexOf('=');
            if (eq <= 0) {
                throw new ConfigException("--tablespace takes OID=DIR, not " + t);
            }
            options.set("tablespace-" + t.substring(0, eq), t.substring(eq + 1));
        }
        OptionValues.set(options, "stage-wal", stageWal ? "true" : null);
        Path walSpool = prefetchWal == null || to == null ? null : walSpool(Path.of(to));
        OptionValues.set(options, "wal-spool", walSpool == null ? null : walSpool.toString());
        OptionValues.set(options, "start", start);
        OptionValues.set(options, "start-port", startPort == null ? null : startPort.toString());
        OptionValues.set(options, "cluster-owner", clusterOwner);
        OptionValues.set(options, "time", time);
        OptionValues.set(options, "latest-only", latestOnly ? "true" : null);
        OptionValues.set(options, "lsn", lsn);
        OptionValues.set(options, "xid", xid);
        OptionValues.set(options, "target-name", targetName);
        OptionValues.set(options, "immediate", immediate ? "true" : null);
        OptionValues.set(options, "target-action", targetAction);
        OptionValues.set(options, "target-timeline", targetTimeline);
        OptionValues.set(options, "archive-mode", archiveMode);
        OptionValues.set(options, "restore-command", restoreCommand);
        try (DrKit kit = global.open(
                spec.commandLine().getErr(), null, null, decryption.stage(global), null, decryption.trusted())) {
            // the backup is chosen once (passing over a damaged newest one is said once) and then
            // named by its id
            BackupManifest chosen = selection.manifest(kit);
            boolean physical = PostgresPhysicalTargetProvider.TYPE.equals(chosen.type());
            // the timeline the recovery follows
            long follow = physical
                    ? WalArchive.timelineToFollow(
                            global.targetOptions(selection.name, options.build())
                                    .get("target-timeline", "latest"),
                            chosen.metadata().get("timeline"))
                    : WalArchive.LATEST;
            if (restoreCommand == null && physical) {
                // PostgreSQL recovers this backup by fetching archived WAL: through this very drkit
                OptionValues.set(options, "restore-command", walFetchCommand(global, walSpool, follow));
            }
            if (walSpool != null && physical && readsAheadInTheBackground(walSpool)) {
                startFill(global, Path.of(to), walSpool, follow);
            }
            RestoreResult r = kit.restore(new RestoreRequest(
                    selection.name, chosen.id(), global.targetOptions(selection.name, options.build()), force));
            if (global.json) {
                GlobalOptions.printJson(out, r);
            } else if (!global.quiet) {
                out.printf(
                        "restored %s backup %s (%s) in %.1fs%n",
                        r.target(),
                        r.backupId(),
                        Sizes.human(r.rawBytes()),
                        r.duration().toMillis() / 1000.0);
            }
            out.flush();
        }
        return 0;
    }

    /**
     * The restore_command that runs this very drkit (same Java, same jar) against the same
     * repository and keys, along the timeline the recovery follows: {@code 'JAVA' -Xrs -jar 'JAR'
     * --repo 'REPO' wal-fetch [--target-timeline N] %f %p}.
     */
    private String walFetchCommand(GlobalOptions global, Path walSpool, long followTimeline) {
        // -Xrs: PostgreSQL ends a restore_command with SIGQUIT, which a JVM answers with a thread
        // dump into the server's log while it goes on
        List<String> args = walFetchArgs(global, walSpool, followTimeline, List.of("-Xrs"));
        if (args == null) {
            return null;
        }
        // recovery runs the command in PostgreSQL's environment: what only this shell holds is lost
        for (String[] v : new String[][] {
            {"DRKIT_SECRET_KEY", "--secret-key FILE (or secret-key in the setup file)"},
            {"DRKIT_PASSPHRASE", "--passphrase-file FILE (or secret-passphrase-file in the setup file)"}
        }) {
            boolean given = v[0].equals("DRKIT_SECRET_KEY")
                    ? !decryption.keyFiles(global).isEmpty()
                    : decryption.passphraseFileIn(global) != null;
            String env = System.getenv(v[0]);
            if (!given && env != null && !env.isBlank()) {
                spec.commandLine()
                        .getErr()
                        .println("drkit: warning: the restore_command cannot carry " + v[0] + ", since recovery runs "
                                + "it in PostgreSQL's environment: encrypted WAL will not open during recovery; give "
                                + v[1]);
            }
        }
        List<String> cmd = new ArrayList<>();
        // paths and other values quoted; flags, the command and numbers as they are
        args.forEach(a -> cmd.add(a.matches("[A-Za-z0-9_-]+") ? a : commandArg(a)));
        cmd.add("%f");
        cmd.add("%p");
        return String.join(" ", cmd);
    }

    /**
     * This very drkit's wal-fetch, unquoted, up to the file arguments: Java, {@code jvmOptions},
     * the jar (or class path and main class), the repository, the timeline, the spool and the
     * keys; null without a repository.
     */
    private List<String> walFetchArgs(
            GlobalOptions global, Path walSpool, long followTimeline, List<String> jvmOptions) {
        String repo = global.repository();
        if (repo == null) {
            return null;
        }
        if (!repo.contains("://")) {
            repo = Path.of(repo).toAbsolutePath().toString();
        }
        List<String> cmd = new ArrayList<>();
        cmd.add(ProcessHandle.current().info().command().orElse("java"));
        cmd.addAll(jvmOptions);
        String self = DrkitCli.class
                .getProtectionDomain()
                .getCodeSource()
                .getLocation()
                .getPath();
        if (self.endsWith(".jar")) {
            cmd.add("-jar");
            cmd.add(self);
        } else {
            cmd.add("-cp");
            cmd.add(System.getProperty("java.class.path"));
            cmd.add(DrkitCli.class.getName());
        }
        cmd.add("--repo");
        cmd.add(repo);
        cmd.add("wal-fetch");
        if (followTimeline != WalArchive.LATEST) {
            cmd.addAll(List.of("--target-timeline", Long.toString(followTimeline)));
        }
        if (walSpool != null) {
            cmd.addAll(List.of("--spool", walSpool.toString(), "--prefetch", prefetchWal.toString(), "--async"));
        }
        // the keys as files, from the options or the setup file: recovery runs wal-fetch in
        // PostgreSQL's environment, with no setup file and none of this process's variables
        decryption.keyFiles(global).forEach(k -> {
            cmd.add("--secret-key");
            cmd.add(k.toAbsolutePath().toString());
        });
        Path passphrase = decryption.passphraseFileIn(global);
        if (passphrase != null) {
            cmd.add("--passphrase-file");
            cmd.add(passphrase.toAbsolutePath().toString());
        }
        if (decryption.trustedKeyFile() != null) {
            // recovery replays only WAL the restore's trusted keys signed, as the restore took only such a backup
            cmd.add("--trusted-key");
            cmd.add(decryption.trustedKeyFile().toAbsolutePath().toString());
        }
        return cmd;
    }

    /**
     * Whether recovery's restore_command fills the spool in the background: drkit's own, or one
     * given that runs wal-fetch with {@code --async} on this spool.
     */
    private boolean readsAheadInTheBackground(Path walSpool) {
        return restoreCommand == null
                || (restoreCommand.contains(" --async") && restoreCommand.contains(walSpool.toString()));
    }

    /**
     * Before a restore that reads WAL ahead, starts the background fill that recovery's first
     * wal-fetch call would start otherwise: it starts its JVM while the restore runs, waits
     * until the restore has primed the spool (the first segment in it), and fills from there,
     * so that no call of recovery's waits for Java. It ends by itself when this process ends
     * without priming, at the end of the archive, or when recovery takes nothing for a minute.
     * Not when run as root: the spooled segments must be the cluster owner's, and recovery's
     * first call starts the fill then.
     */
    private void startFill(GlobalOptions global, Path dataDir, Path walSpool, long followTimeline) throws IOException {
        // this process's directory in /proc belongs to its user (the link /proc/self to root)
        if (Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"))) {
            return;
        }
        List<String> cmd = walFetchArgs(global, walSpool, followTimeline, fillJvmOptions());
        if (cmd == null) {
            return;
        }
        cmd.addAll(List.of(
                "--pgdata",
                dataDir.toAbsolutePath().toString(),
                "--fill-after",
                Long.toString(ProcessHandle.current().pid()),
                "RECOVERYHISTORY",
                "RECOVERYXLOG"));
        // the restore creates the spool after this: the fill's messages go into it once it is primed
        WalCommands.Fetch.startDetached(cmd, (File) null);
    }

    /**
     * The JVM options this process passes on to the fill it starts: those on its own command
     * line, as {@code wal-fetch --async} passes its own on. Not the JVM's list of its input
     * arguments, which also holds those of {@code JAVA_TOOL_OPTIONS}, {@code JDK_JAVA_OPTIONS}
     * and {@code @argfiles} expanded: the fill inherits the environment (so it would get them
     * twice), and its command line is readable by every user (ps) for as long as it runs, while
     * the environment is not.
     */
    static List<String> fillJvmOptions() {
        return fillJvmOptions(
                ProcessHandle.current().info().arguments().map(List::of).orElse(List.of()));
    }

    /** The java launcher's options whose value is the next argument (besides the class path). */
    private static final Set<String> VALUED_OPTIONS = Set.of(
            "-p",
            "--module-path",
            "--upgrade-module-path",
            "--add-modules",
            "--enable-native-access",
            "--add-reads",
            "--add-exports",
            "--add-opens",
            "--limit-modules",
            "--patch-module");

    /**
     * The JVM options of a command line {@code argv} (without the java command): those before
     * the jar, module or main class, without a class path (the fill names its own) and the
     * options by which the launcher's first run makes its archive ({@link LauncherArgs}: the
     * fill must not write that archive too).
     */
    static List<String> fillJvmOptions(List<String> argv) {
        List<String> jvm = new ArrayList<>();
        for (int i = 0; i < argv.size(); i++) {
            String a = argv.get(i);
            if (a.equals("-jar")
                    || a.equals("-m")
                    || a.startsWith("--module=")
                    || a.equals("--module")
                    || !(a.startsWith("-") || a.startsWith("@"))) {
                break; // what runs, then its arguments
            }
            if (a.equals("-cp") || a.equals("-classpath") || a.equals("--class-path")) {
                i++;
            } else if (VALUED_OPTIONS.contains(a) && i + 1 < argv.size()) {
                jvm.add(a);
                jvm.add(argv.get(++i));
            } else if (!a.startsWith("--class-path=") && !LauncherArgs.makesArchive(a)) {
                jvm.add(a);
            }
        }
        return jvm;
    }

    /** The read-ahead spool next to a restored data directory: {@code DIR.drkit-fetch}. */
    private static Path walSpool(Path dataDir) {
        Path abs = dataDir.toAbsolutePath().normalize();
        return abs.resolveSibling(abs.getFileName() + ".drkit-fetch");
    }

    /**
     * An argument of a restore_command, quoted for the shell, each {@code %} doubled: PostgreSQL
     * turns {@code %%} back into one, and would expand {@code %f}, {@code %p} or {@code %r} in a
     * path (since 16 it refuses any other {@code %}).
     */
    static String commandArg(String s) {
        return "'" + s.replace("%", "%%").replace("'", "'\\''") + "'";
    }
}
