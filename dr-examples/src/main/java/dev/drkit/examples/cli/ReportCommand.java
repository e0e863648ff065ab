package dev.drkit.examples.cli;

import dev.drkit.DrKit;
import dev.drkit.TestSchedule;
import dev.drkit.report.HtmlReport;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code drkit report --html FILE [--days N]}: the DR report as one self-contained HTML page. */
@Command(
        name = "report",
        description = "Write the DR report: per target a timeline of backups, verifications and restore tests, "
                + "RPO/RTO against the objectives, the checklist, the testing schedule (objectives and schedule "
                + "from --config).")
final class ReportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--html", paramLabel = "FILE", required = true, description = "Where to write the page.")
    Path html;

    @Option(names = "--days", paramLabel = "N", description = "How many days the timelines cover (default 30).")
    int days = 30;

    @Override
    public Integer call() throws IOException {
        GlobalOptions global = GlobalOptions.of(spec);
        if (days < 1 || days > 366) {
            throw new dev.drkit.ConfigException("--days must be 1 to 366, not " + days);
        }
        TestSchedule testing =
                global.setup() == null ? TestSchedule.plan() : global.setup().testing();
        Map<String, dev.drkit.Objectives> objectives =
                global.setup() == null ? Map.of() : global.setup().targetObjectives();
        try (DrKit kit = global.open(spec.commandLine().getErr(), null)) {
            HtmlReport.builder(kit)
                    .objectives(objectives)
                    .testing(testing)
                    .days(days)
                    .build()
                    .write(html);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("wrote " + html);
        out.flush();
        return 0;
    }
}
