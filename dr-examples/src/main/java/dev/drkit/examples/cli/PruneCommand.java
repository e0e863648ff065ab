package dev.drkit.examples.cli;

import dev.drkit.ChunkCollection;
import dev.drkit.ConfigException;
import dev.drkit.DamagedBackup;
import dev.drkit.DrKit;
import dev.drkit.PruneResult;
import dev.drkit.RetentionPlan;
import dev.drkit.Settings;
import dev.drkit.retention.GfsRetentionPolicy;
import dev.drkit.setup.Setup;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code drkit prune [--name NAME] [--keep-* N] [--keep-within D] [--dry-run]}. */
@Command(
        name = "prune",
        description =
                "Expire backups by retention rules (restic's semantics) and remove "
                        + "incomplete ones. Without any --keep rule nothing expires, unless --config gives each target its retention.")
final class PruneCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--name", paramLabel = "NAME", description = "Only this target (default: every target).")
    String name;

    @Option(
            names = "--keep-last",
            paramLabel = "N",
            defaultValue = "0",
            description = "Keep the N newest backups (-1: all).")
    int last;

    @Option(
            names = "--keep-hourly",
            paramLabel = "N",
            defaultValue = "0",
            description = "Keep the newest backup of each of the last N hours that have backups (-1: of every one).")
    int hourly;

    @Option(
            names = "--keep-daily",
            paramLabel = "N",
            defaultValue = "0",
            description = "Keep the newest backup of each of the last N days that have backups (-1: of every one).")
    int daily;

    @Option(
            names = "--keep-weekly",
            paramLabel = "N",
            defaultValue = "0",
            description =
                    "Keep the newest backup of each of the last N weeks (ISO weeks) that have backups (-1: of every one).")
    int weekly;

    @Option(
            names = "--keep-monthly",
            paramLabel = "N",
            defaultValue = "0",
            description = "Keep the newest backup of each of the last N months that have backups (-1: of every one).")
    int monthly;

    @Option(
            names = "--keep-yearly",
            paramLabel = "N",
            defaultValue = "0",
            description = "Keep the newest backup of each of the last N years that have backups (-1: of every one).")
    int yearly;

    @Option(
            names = "--keep-within",
            paramLabel = "DURATION",
            description = "Keep everything within this long of the newest backup: 36h, 7d, 4w, 12m, 1y.")
    String within;

    @Option(names = "--dry-run", description = "Only show what would be deleted.")
    boolean dryRun;

    @Override
    public Integer call() {
        GlobalOptions global = GlobalOptions.of(spec);
        GfsRetentionPolicy policy;
        try {
            policy = GfsRetentionPolicy.builder()
                    .keepLast(last)
                    .keepHourly(hourly)
                    .keepDaily(daily)
                    .keepWeekly(weekly)
                    .keepMonthly(monthly)
                    .keepYearly(yearly)
                    .keepWithin(within == null ? null : Settings.parseDuration("--keep-within", within))
                    .build();
        } catch (IllegalArgumentException e) {
            throw new ConfigException(e.getMessage());
        }
        PrintWriter out = spec.commandLine().getOut();
        if (policy.isEmpty() && global.setup() != null) {
            return pruneAsSetUp(global, out);
        }
        try (DrKit kit = global.open(spec.commandLine().getErr(), null)) {
            PruneResult r = kit.prune(name, policy, dryRun);
            if (global.json) {
                GlobalOptions.printJson(out, r);
            } else if (!global.quiet) {
                print(out, r);
            }
            out.flush();
        }
        return 0;
    }

    /** Without --keep rules and with a setup file: each target (--name, else all) by its own retention. */
    private int pruneAsSetUp(GlobalOptions global, PrintWriter out) {
        Setup setup = global.setup();
        List<Setup.Target> targets = name != null
                ? List.of(setup.target(name))
                : List.copyOf(setup.targets().values());
        List<PruneResult> results = new ArrayList<>();
        try (DrKit kit = global.open(spec.commandLine().getErr(), null)) {
            for (Setup.Target t : targets) {
                if (t.retentionPolicy().isEmpty()) {
                    if (!global.quiet && !global.json) {
                        out.println(t.name() + ": no retention in " + setup.file() + "; everything kept");
                    }
                    continue;
                }
                PruneResult r = kit.prune(t.name(), t.retentionPolicy(), dryRun);
                results.add(r);
                if (!global.quiet && !global.json) {
                    print(out, r);
                }
            }
        }
        if (global.json) {
            GlobalOptions.printJson(out, results);
        }
        out.flush();
        return 0;
    }

    private static void print(PrintWriter out, PruneResult r) {
        int expired = 0;
        for (Map.Entry<String, RetentionPlan> e : r.plans().entrySet()) {
            out.println(e.getKey() + ": " + e.getValue().policy());
            for (RetentionPlan.Decision d : e.getValue().decisions()) {
                out.printf(
                        "  %-6s %-24s %s%n",
                        d.keep() ? "keep" : "expire", d.backupId(), String.join(", ", d.reasons()));
            }
            expired += e.getValue().expired().size();
            List<String> incomplete = r.incompleteRemoved().getOrDefault(e.getKey(), List.of());
            if (!incomplete.isEmpty()) {
                out.println("  incomplete backups " + (r.dryRun() ? "to remove: " : "removed: ")
                        + String.join(", ", incomplete));
            }
            for (DamagedBackup d : r.damaged().getOrDefault(e.getKey(), List.of())) {
                out.printf("  %-6s %-24s %s%n", "keep", d.id(), "DAMAGED, never pruned on its strength: " + d.reason());
            }
            if (!r.damaged().isEmpty()) {
                out.println("  archived files (WAL) are not pruned while a backup is damaged");
            }
            List<String> archived = r.archiveRemoved().getOrDefault(e.getKey(), List.of());
            if (!archived.isEmpty()) {
                out.println("  " + archived.size() + " archived WAL file(s) no kept backup needs "
                        + (r.dryRun() ? "would be removed" : "removed") + " (up to " + archived.get(archived.size() - 1)
                        + ")");
            }
        }
        out.println(
                r.dryRun() ? "dry run: " + expired + " backup(s) would be deleted" : expired + " backup(s) deleted");
        ChunkCollection c = r.chunks();
        if (c != null && c.skipped() != null) {
            out.println("chunk store: nothing collected: " + c.skipped());
        } else if (c != null) {
            out.printf(
                    "chunk store: %d chunk(s) no kept backup needs, %s %s (%d pack(s) %s, %d rewritten, %d left by a "
                            + "crash)%n",
                    c.chunksRemoved(),
                    Sizes.human(c.bytesFreed()),
                    r.dryRun() ? "would be freed" : "freed",
                    c.packsDeleted(),
                    r.dryRun() ? "to remove" : "removed",
                    c.packsRewritten(),
                    c.orphanPacks());
        }
    }
}
