package dev.drkit.examples.cli;

import dev.drkit.incident.IncidentSetup;
import dev.drkit.setup.Setup;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code drkit --config F config check}: reads the setup file and reports every problem, or what it sets up. */
@Command(name = "config", description = "Work with the --config setup file.", subcommands = ConfigCommand.Check.class)
final class ConfigCommand {

    @Command(
            name = "check",
            description = "Check the setup file: every problem with its line (exit 2), else a "
                    + "summary of the targets it sets up.")
    static final class Check implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Override
        public Integer call() {
            GlobalOptions global = GlobalOptions.of(spec);
            Setup setup = global.requireSetup("config check");
            IncidentSetup.check(setup); // templates, secret files and channels: what the file alone cannot show
            PrintWriter out = spec.commandLine().getOut();
            List<Map<String, Object>> targets =
                    setup.targets().values().stream().map(Check::describe).toList();
            if (global.json) {
                Map<String, Object> doc = new LinkedHashMap<>();
                doc.put("file", setup.file().toString());
                doc.put("repository", global.repository());
                doc.put("copies", setup.copies());
                doc.put("targets", targets);
                GlobalOptions.printJson(out, doc);
                return 0;
            }
            out.println(setup.file() + ": OK, " + setup.targets().size() + " target(s), repository "
                    + (global.repository() == null ? "(none: give --repo)" : global.repository())
                    + (setup.copies().isEmpty() ? "" : ", copies to " + String.join(", ", setup.copies())));
            Setup.Incidents incidents = setup.notifications().incidents();
            if (incidents != null) {
                out.println("  incidents to "
                        + String.join(", ", incidents.channels().keySet()) + ", updates every "
                        + human(incidents.updateEvery()));
            }
            for (Map<String, Object> t : targets) {
                out.printf(
                        "  %-20s %s%n",
                        t.get("name"),
                        t.entrySet().stream()
                                .filter(e -> !e.getKey().equals("name"))
                                .map(e -> e.getKey() + " " + e.getValue())
                                .reduce((a, b) -> a + "; " + b)
                                .orElse(""));
            }
            out.flush();
            return 0;
        }

        private static Map<String, Object> describe(Setup.Target t) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("name", t.name());
            m.put("type", t.type());
            m.put("schedule", t.schedule() == null ? "none (run by hand)" : t.schedule() + " UTC");
            m.put(
                    "retention",
                    t.retentionPolicy().isEmpty()
                            ? "keep all"
                            : t.retentionPolicy().describe());
            m.put(
                    "verify",
                    t.verify().level()
                            + (t.verify().schedule() == null
                                    ? ""
                                    : " at " + t.verify().schedule()));
            if (t.objectives() != null) {
                m.put(
                        "objectives",
                        "RPO " + human(t.objectives().rpo()) + ", RTO "
                                + human(t.objectives().rto()));
            }
            return m;
        }

        private static String human(Duration d) {
            if (d == null) {
                return "-";
            }
            return d.toDays() > 0 && d.toHoursPart() == 0
                    ? d.toDays() + "d"
                    : d.toHours() > 0 && d.toMinutesPart() == 0 ? d.toHours() + "h" : d.toMinutes() + "min";
        }
    }
}
