package dev.drkit.examples.cli;

import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.VerificationFailedException;
import dev.drkit.VerificationResult;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code drkit verify --name NAME (--latest | --id ID) [--level checksum|decode|restore]}. */
@Command(name = "verify", description = "Verify a backup; exit 0 only when it passes at the level asked.")
final class VerifyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    BackupSelection selection;

    @Mixin
    DecryptionOptions decryption;

    @Option(
            names = "--level",
            paramLabel = "LEVEL",
            description = "checksum (re-read and hash), decode (also decompress end to end; default), restore.")
    String level;

    @Mixin
    PostgresOptions postgres;

    @Option(
            names = "--validate",
            paramLabel = "SQL",
            description =
                    "postgres-logical, level restore: a query whose first value must be > 0 or true (repeatable).")
    List<String> validations = new ArrayList<>();

    @Option(
            names = "--server-bin-dir",
            paramLabel = "DIR",
            description = "postgres, level restore: PostgreSQL server binaries (pg_ctl) for the scratch cluster.")
    String serverBinDir;

    @Option(
            names = "--redis-server",
            paramLabel = "PATH",
            description = "redis, level restore: the redis-server to load the snapshot with (default: PATH's).")
    String redisServer;

    /** The setup's verification options for the target under the ones given here. */
    private Settings verifyOptions(GlobalOptions global, Settings given) {
        if (global.setup() == null || !global.setup().targets().containsKey(selection.name)) {
            return given;
        }
        return global.setup().target(selection.name).verify().options().overlaidBy(given);
    }

    @Override
    public Integer call() throws IOException {
        GlobalOptions global = GlobalOptions.of(spec);
        PrintWriter out = spec.commandLine().getOut();
        try (DrKit kit = global.open(
                spec.commandLine().getErr(), null, null, decryption.stage(global), null, decryption.trusted())) {
            if (level == null) {
                level = global.setup() != null && global.setup().targets().containsKey(selection.name)
                        ? global.setup().target(selection.name).verify().level()
                        : "decode";
            }
            Settings given = OptionValues.set(
                            OptionValues.set(
                                    postgres.addTo(Settings.builder()).addAll("validate", validations),
                                    "redis-server",
                                    redisServer),
                            "server-bin-dir",
                            serverBinDir)
                    .build();
            if (selection.id() != null) {
                BackupSelection.named(kit, selection.name, selection.id());
            }
            VerifyReport report = kit.verify(
                    selection.name,
                    selection.id(),
                    VerifyLevel.parse(level),
                    global.targetOptions(selection.name, verifyOptions(global, given)));
            if (global.json) {
                GlobalOptions.printJson(out, report);
            } else if (!global.quiet) {
                for (VerificationResult r : report.results()) {
                    out.printf(
                            "%-10s %-10s %.1fs %s%n",
                            r.verifier(), r.status(), r.duration().toMillis() / 1000.0, r.details());
                }
                out.println(
                        report.passed()
                                ? "backup " + report.backupId() + " of " + report.target() + " verified (" + level + ")"
                                : "backup " + report.backupId() + " FAILED verification");
            }
            out.flush();
            if (!report.passed()) {
                throw new VerificationFailedException("backup " + report.backupId() + " of " + report.target()
                        + " failed verification: " + String.join("; ", report.problems())
                        + (report.results().isEmpty() ? "no verifier applies at level " + level : ""));
            }
        }
        return 0;
    }
}
