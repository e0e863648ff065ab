package dev.drkit.examples.cli;

import dev.drkit.ConfigException;
import dev.drkit.DrKit;
import dev.drkit.DrKitConfig;
import dev.drkit.examples.drill.ApiCacheDrill;
import dev.drkit.examples.drill.DatabaseDrill;
import dev.drkit.examples.drill.DrillProgress;
import dev.drkit.examples.drill.DrillReport;
import dev.drkit.examples.drill.FilesDrill;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.spi.support.Json;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code drkit drill}: the DR drill on embedded defaults. It plays disaster scenarios
 * against a local repository in a temporary directory and reports achieved RPO and RTO
 * against the plan's objectives: the database (an embedded PostgreSQL with streamed WAL) and
 * the service's configuration files.
 */
@Command(name = "drill", description = "Run the DR drill on embedded defaults and report RPO/RTO against objectives.")
final class DrillCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--keep", description = "Keep the drill's directory (repository, data, reports) for inspection.")
    boolean keep;

    @Option(names = "--skip-redis", description = "Leave out the API session store (Redis) scenario.")
    boolean skipRedis;

    @Option(names = "--skip-database", description = "Leave out the PostgreSQL scenarios (configuration only).")
    boolean skipDatabase;

    @Option(
            names = "--database-size",
            paramLabel = "SIZE",
            converter = DatabaseSizeConverter.class,
            description = "Play the database scenarios on a sample database of about this size (e.g. 100MB, 1GB, "
                    + "4GiB; binary units) to see their RPO and RTO at your scale (default: a sample of about 23 MB).")
    Long databaseSize;

    @Option(
            names = "--inject-fault",
            hidden = true,
            paramLabel = "FAULT",
            description = "Test only: sabotage a recovery to show that the drill's checks catch it.")
    Set<String> faults = new HashSet<>();

    @Option(names = "--dir", paramLabel = "DIR", description = "Where to work (default: a new temporary directory).")
    Path dir;

    /**
     * The drill's repository: {@code --repo} when it names a new or empty local directory (the
     * drill corrupts a backup on purpose, so it never touches one that holds anything), else
     * {@code repo} in the drill's directory.
     */
    private static Path drillRepository(String given, Path work) throws IOException {
        if (given == null) {
            return work.resolve("repo");
        }
        if (given.contains("://") || given.startsWith("s3:") || given.startsWith("minio:")) {
            throw new ConfigException("the drill corrupts a backup on purpose, so it works in a new or empty "
                    + "local directory only, not " + given.replaceAll("\\?.*", "") + "; give a path");
        }
        Path dir =
                Path.of(given.startsWith("file:") ? given.substring(5) : given).toAbsolutePath();
        if (Files.exists(dir)) {
            try (var entries = Files.list(dir)) {
                if (entries.findAny().isPresent()) {
                    throw new ConfigException("--repo " + dir + " is not empty; the drill corrupts a backup on "
                            + "purpose, so give it a new or empty directory");
                }
            }
        }
        return dir;
    }

    /**
     * Disk the drill takes per byte of sample database: the database and its standby, the restore
     * test's and three recoveries' copies, the WAL the scenarios write (a DELETE of half the rows
     * and the VACUUM after it) and the repository; measured at 1 GiB: 11 GiB.
     */
    private static final long DISK_PER_DATABASE_BYTE = 12;

    private void requireDiskSpace(Path where) throws IOException {
        Path existing = where.toAbsolutePath();
        while (existing.getParent() != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        long free = Files.getFileStore(existing).getUsableSpace();
        long needed = databaseSize * DISK_PER_DATABASE_BYTE;
        if (free < needed) {
            throw new ParameterException(
                    spec.commandLine(),
                    "the drill on a " + Sizes.human(databaseSize) + " sample needs about " + Sizes.human(needed)
                            + " of disk (the database, its standby, restored copies, backups and WAL), but " + existing
                            + " has " + Sizes.human(free) + " free; give a smaller --database-size or a --dir "
                            + "on a larger disk");
        }
    }

    @Override
    public Integer call() throws IOException, SQLException, InterruptedException {
        if (databaseSize != null && skipDatabase) {
            throw new ParameterException(
                    spec.commandLine(), "--database-size sizes the database scenarios; leave out --skip-database");
        }
        if (databaseSize != null) {
            requireDiskSpace(dir != null ? dir : Path.of(System.getProperty("java.io.tmpdir")));
        }
        GlobalOptions global = GlobalOptions.of(spec);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path work = dir != null ? Files.createDirectories(dir) : Files.createTempDirectory("drkit-drill-");
        Path repository = drillRepository(global.repo, work);
        Instant started = Instant.now();
        DrillReport report;
        PrintWriter log = global.quiet ? new PrintWriter(PrintWriter.nullWriter()) : err;
        List<String> notes = new ArrayList<>();
        List<DrillReport.Scenario> scenarios = new ArrayList<>();
        try (DrKit kit = DrKit.builder()
                .config(DrKitConfig.builder().repository(repository.toString()).build())
                .listener(new DrillProgress(log))
                .build()) {
            if (!skipDatabase) {
                try (DatabaseDrill database = new DatabaseDrill(
                        kit, work, repository, log, notes, faults, databaseSize == null ? 0 : databaseSize)) {
                    scenarios.addAll(database.run());
                }
            }
            if (!skipRedis) {
                try (ApiCacheDrill api = new ApiCacheDrill(kit, work, log, notes)) {
                    scenarios.addAll(api.run());
                } catch (Exception e) {
                    log.println("drill: scenario 'flushed sessions' FAILED: " + e);
                    scenarios.add(DrillReport.Scenario.failed(
                            "flushed sessions",
                            "API sessions",
                            "The recovery could " + "not be completed.",
                            3600,
                            3600,
                            e));
                }
            }
            scenarios.addAll(new FilesDrill(kit, work, repository, log).run());
            report = new DrillReport(started, kit.repositoryDescription(), scenarios, notes);
        }
        Files.writeString(work.resolve("drill-report.json"), new String(Json.write(report), StandardCharsets.UTF_8));
        Files.writeString(work.resolve("drill-report.md"), report.markdown());
        if (global.json) {
            GlobalOptions.printJson(out, report);
        } else {
            out.println();
            out.print(report.table());
            out.println();
            report.notes().forEach(n -> out.println("  " + n));
            out.println("overall: " + (report.passed() ? "PASS" : "FAIL"));
            out.println(
                    keep
                            ? "kept for inspection: " + work + " (drill-report.json, drill-report.md)"
                            : "reports: drill-report.json and drill-report.md (removed with the drill directory; --keep keeps them)");
        }
        out.flush();
        if (!report.passed()) {
            err.println("drkit: the drill FAILED: "
                    + String.join(
                            ", ",
                            report.scenarios().stream()
                                    .filter(sc -> !sc.passed())
                                    .map(sc -> sc.name() + " (" + sc.system() + ")")
                                    .toList())
                    + "; see the checks in drill-report.md" + (keep ? "" : " (run with --keep to keep it)"));
            err.flush();
        }
        if (!keep) {
            FileTrees.delete(work);
        }
        return report.passed() ? 0 : 1;
    }
}
