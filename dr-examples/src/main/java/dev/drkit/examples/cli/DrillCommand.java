package dev.drkit.examples.cli;

import dev.drkit.DrKit;
import dev.drkit.DrKitConfig;
import dev.drkit.core.files.FileTrees;
import dev.drkit.core.repo.Json;
import dev.drkit.examples.drill.DrillReport;
import dev.drkit.examples.drill.FilesDrill;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code drkit drill}: the DR drill on embedded defaults. It plays disaster scenarios
 * against a local repository in a temporary directory and reports achieved RPO and RTO
 * against the plan's objectives. Today it covers configuration files; database, Redis and
 * bucket scenarios join as their targets land.
 */
@Command(name = "drill", description = "Run the DR drill on embedded defaults and report RPO/RTO against objectives.")
final class DrillCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--keep", description = "Keep the drill's directory (repository, data, reports) for inspection.")
    boolean keep;

    @Option(names = "--dir", paramLabel = "DIR", description = "Where to work (default: a new temporary directory).")
    Path dir;

    @Override
    public Integer call() throws IOException {
        GlobalOptions global = GlobalOptions.of(spec);
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Path work = dir != null ? Files.createDirectories(dir) : Files.createTempDirectory("drkit-drill-");
        if (global.repo != null) {
            throw new dev.drkit.ConfigException("the drill uses its own repository in its directory; give --dir DIR "
                    + "instead of --repo (it corrupts a backup on purpose)");
        }
        Instant started = Instant.now();
        DrillReport report;
        try (DrKit kit = DrKit.builder().config(DrKitConfig.builder().repository(work.resolve("repo").toString())
                .build()).build()) {
            report = new DrillReport(started, kit.repositoryDescription(),
                    new FilesDrill(kit, work, global.quiet ? new PrintWriter(PrintWriter.nullWriter()) : err).run());
        }
        Files.writeString(work.resolve("drill-report.json"), new String(Json.write(report), StandardCharsets.UTF_8));
        Files.writeString(work.resolve("drill-report.md"), report.markdown());
        if (global.json) {
            GlobalOptions.printJson(out, report);
        } else {
            out.println();
            out.print(report.table());
            out.println();
            out.println("overall: " + (report.passed() ? "PASS" : "FAIL"));
            out.println(keep ? "kept for inspection: " + work + " (drill-report.json, drill-report.md)"
                    : "reports: drill-report.json and drill-report.md (removed with the drill directory; --keep keeps them)");
        }
        out.flush();
        if (!keep) {
            FileTrees.delete(work);
        }
        return report.passed() ? 0 : 1;
    }
}
