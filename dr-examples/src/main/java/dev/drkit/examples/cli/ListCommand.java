package dev.drkit.examples.cli;

import dev.drkit.BackupManifest;
import dev.drkit.DamagedBackup;
import dev.drkit.DrKit;
import java.io.PrintWriter;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code drkit list [--name NAME]}. */
@Command(name = "list", description = "List complete backups, oldest first.")
final class ListCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--name", paramLabel = "NAME", description = "Only this target.")
    String name;

    @Override
    public Integer call() {
        GlobalOptions global = GlobalOptions.of(spec);
        PrintWriter out = spec.commandLine().getOut();
        try (DrKit kit = global.open(spec.commandLine().getErr(), null)) {
            List<BackupManifest> backups = kit.list(name);
            List<DamagedBackup> damaged = kit.damaged(name);
            if (global.json) {
                List<Object> all = new ArrayList<>(backups);
                for (DamagedBackup d : damaged) {
                    all.add(Map.of("target", d.target(), "id", d.id(), "damaged", true, "reason", d.reason()));
                }
                GlobalOptions.printJson(out, all);
                return 0;
            }
            for (DamagedBackup d : damaged) {
                spec.commandLine()
                        .getErr()
                        .println("drkit: backup " + d.target() + "/" + d.id() + " is DAMAGED and left out: "
                                + GlobalOptions.safe(d.reason()) + " (drkit check names what to do)");
            }
            spec.commandLine().getErr().flush();
            if (backups.isEmpty() && damaged.isEmpty()) {
                out.println("no backups" + (name == null ? "" : " of " + name) + " in " + kit.repositoryDescription());
                out.flush();
                return 0;
            }
            // a column for Object Lock only where the storage keeps backups immutable
            Instant now = Instant.now();
            Map<String, String> locked = new HashMap<>();
            for (BackupManifest m : backups) {
                kit.lockedUntil(m)
                        .filter(t -> t.isAfter(now))
                        .ifPresent(t -> locked.put(m.target() + "/" + m.id(), t.toString()));
            }
            String lockHeader = locked.isEmpty() ? "" : "  IMMUTABLE UNTIL";
            out.printf(
                    "%-16s %-24s %-10s %-6s %-20s %8s %10s %10s%s%n",
                    "TARGET", "ID", "TYPE", "KIND", "STARTED", "SECONDS", "RAW", "STORED", lockHeader);
            for (BackupManifest m : backups) {
                String lock = locked.isEmpty() ? "" : "  " + locked.getOrDefault(m.target() + "/" + m.id(), "-");
                out.printf(
                        "%-16s %-24s %-10s %-6s %-20s %8.1f %10s %10s%s%n",
                        m.target(),
                        m.id(),
                        m.type(),
                        GlobalOptions.safe(m.kind()), // free text of the target's, read from the repository
                        m.startedAt().toString().substring(0, 19) + "Z",
                        m.duration().toMillis() / 1000.0,
                        Sizes.human(m.rawSize()),
                        Sizes.human(m.storedSize()),
                        lock);
            }
            for (DamagedBackup d : damaged) {
                out.printf(
                        "%-16s %-24s %-10s %-6s %s%n",
                        d.target(), d.id(), "?", "DAMAGED", GlobalOptions.safe(d.reason()));
            }
            out.flush();
            return 0;
        }
    }
}
