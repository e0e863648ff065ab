package dev.drkit.examples.cli;

import dev.drkit.CheckOptions;
import dev.drkit.CheckReport;
import dev.drkit.DrKit;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code drkit check [--read-data | --read-data-subset N/M] [--repair]}; exit 0 only when clean. */
@Command(
        name = "check",
        description = "Check the whole repository: configuration, every manifest and its checksum, "
                + "every artifact and archived file (WAL) present with its size and .sha256 file, objects no backup "
                + "accounts for, crashed runs, stale locks and uploads. Exit 0 only when nothing is left to fix.")
final class CheckCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @ArgGroup(exclusive = true)
    Data data;

    static final class Data {
        @Option(
                names = "--read-data",
                required = true,
                description = "Also re-read every stored byte and compare " + "it with its recorded sha256.")
        boolean all;

        @Option(
                names = "--read-data-subset",
                required = true,
                paramLabel = "N/M",
                description = "Re-read only "
                        + "part N of M (e.g. 1/7 on Mondays, 2/7 on Tuesdays, ...): each object belongs to one part.")
        String subset;
    }

    @Option(
            names = "--repair",
            description = "Remove objects no backup needs, crashed runs' leftovers and stale "
                    + "locks; rewrite missing or wrong .sha256 files from verified data; replace a damaged repository "
                    + "configuration. Never deletes a listed backup.")
    boolean repair;

    @Mixin
    DecryptionOptions keys;

    @Override
    public Integer call() throws IOException {
        GlobalOptions global = GlobalOptions.of(spec);
        CheckOptions options = data == null
                ? CheckOptions.catalogOnly()
                : data.subset != null ? CheckOptions.readDataSubset(data.subset) : CheckOptions.readAllData();
        if (repair) {
            options = options.withRepair();
        }
        PrintWriter out = spec.commandLine().getOut();
        CheckReport report;
        try (DrKit kit = global.open(spec.commandLine().getErr(), null, null, null, null, keys.trusted())) {
            report = kit.check(options);
        }
        if (global.json) {
            GlobalOptions.printJson(out, report);
        } else if (!global.quiet || !report.clean()) {
            for (CheckReport.Finding f : report.findings()) {
                out.println((f.repaired() ? "repaired  " : "PROBLEM   ")
                        + f.kind().name().toLowerCase().replace('_', ' ') + " " + GlobalOptions.safe(f.object()) + ": "
                        + GlobalOptions.safe(f.message()));
            }
            out.printf(
                    "checked %d backup(s), %d artifact(s), %d archived file(s)%s in %s%n",
                    report.backups(),
                    report.artifacts(),
                    report.archiveFiles(),
                    options.readData()
                            ? ", re-read "
                                    + Sizes.human(report.bytesRead())
                                    + (options.subsetParts() > 1
                                            ? " (part " + options.subsetPart() + "/" + options.subsetParts() + ")"
                                            : "")
                            : "",
                    report.repository());
            long open = report.findings().stream().filter(f -> !f.repaired()).count();
            out.println(
                    report.clean()
                            ? (report.findings().isEmpty() ? "no problems found" : "every problem found was repaired")
                            : open + " problem(s) left"
                                    + (repair
                                            ? ""
                                            : "; --repair fixes what can be fixed without deleting a listed backup"));
        }
        out.flush();
        return report.clean() ? 0 : 1;
    }
}
