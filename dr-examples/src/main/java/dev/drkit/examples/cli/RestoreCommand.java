package dev.drkit.examples.cli;

import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.RestoreResult;
import dev.drkit.Settings;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

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

    @Option(names = "--include", paramLabel = "GLOB",
            description = "files: restore only entries matching the glob (repeatable), e.g. 'etc/nginx/**'.")
    List<String> includes = new ArrayList<>();

    @Option(names = "--force", description = "Allow overwriting existing data at the destination.")
    boolean force;

    @Mixin
    PostgresOptions postgres;

    @Option(names = "--to-database", paramLabel = "DB",
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

    @Option(names = "--to-bucket", paramLabel = "BUCKET",
            description = "minio-bucket: restore into this bucket (default: the original ones).")
    String toBucket;

    @Option(names = "--prefix", paramLabel = "PREFIX", description = "minio-bucket: put restored objects under this prefix.")
    String prefix;

    @Option(names = "--to-dir", paramLabel = "DIR",
            description = "redis: write dump.rdb into DIR for a stopped server (an existing one needs --force).")
    String toDir;

    @Option(names = "--to-uri", paramLabel = "URI",
            description = "redis: restore keys online into redis://HOST:PORT (existing keys kept unless --force).")
    String toUri;

    @Option(names = "--match", paramLabel = "PATTERN", description = "redis: only keys matching the glob, e.g. 'profile:*'.")
    String match;

    @Option(names = "--tls-ca", paramLabel = "PEM", description = "redis: CA certificates to trust for rediss://.")
    String tlsCa;

    @Option(names = "--server-version", paramLabel = "VERSION",
            description = "redis --to-dir: the Redis version that will load the file (else redis-server --version).")
    String serverVersion;

    @Override
    public Integer call() throws java.io.IOException {
        GlobalOptions global = GlobalOptions.of(spec);
        PrintWriter out = spec.commandLine().getOut();
        Settings.Builder options = postgres.addTo(Settings.builder()).addAll("include", includes)
                .addAll("table", tables).addAll("schema", schemas);
        PostgresOptions.set(options, "to", to);
        PostgresOptions.set(options, "to-database", toDatabase);
        PostgresOptions.set(options, "jobs", jobs == null ? null : jobs.toString());
        PostgresOptions.set(options, "globals", globals ? "true" : null);
        PostgresOptions.set(options, "no-owner", noOwner ? "true" : null);
        PostgresOptions.set(options, "no-privileges", noPrivileges ? "true" : null);
        PostgresOptions.set(options, "endpoint", endpoint);
        PostgresOptions.set(options, "to-bucket", toBucket);
        PostgresOptions.set(options, "prefix", prefix);
        PostgresOptions.set(options, "to-dir", toDir);
        PostgresOptions.set(options, "to-uri", toUri);
        PostgresOptions.set(options, "match", match);
        PostgresOptions.set(options, "tls-ca", tlsCa);
        PostgresOptions.set(options, "server-version", serverVersion);
        try (DrKit kit = global.open(spec.commandLine().getErr(), null, null, decryption.stage(), null,
                decryption.trusted())) {
            RestoreResult r = kit.restore(new RestoreRequest(selection.name, selection.id(), options.build(), force));
            if (global.json) {
                GlobalOptions.printJson(out, r);
            } else if (!global.quiet) {
                out.printf("restored %s backup %s (%s) in %.1fs%n", r.target(), r.backupId(),
                        Sizes.human(r.rawBytes()), r.duration().toMillis() / 1000.0);
            }
            out.flush();
        }
        return 0;
    }
}
