package dev.drkit.examples.cli;

import dev.drkit.ConfigException;
import dev.drkit.DrKit;
import dev.drkit.RecoveryTest;
import dev.drkit.Settings;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code drkit record-test TEST passed|failed}: records a recovery test run outside drkit's verification (a
 * failover test, a full system recovery exercise) so that {@code status} shows it in the testing schedule.
 */
@Command(
        name = "record-test",
        description = "Record a recovery test run outside verification (failover, full-recovery, ...) as passed "
                + "or failed, for the testing schedule in status.")
final class RecordTestCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(
            index = "0",
            paramLabel = "TEST",
            description = "backup-integrity, database-restore, failover or full-recovery.")
    String test;

    @Parameters(index = "1", paramLabel = "RESULT", description = "passed or failed.")
    String result;

    @Option(names = "--took", paramLabel = "DURATION", description = "How long it took, e.g. 45min (default 0s).")
    String took;

    @Option(
            names = "--note",
            paramLabel = "TEXT",
            description = "What was run, one line (everyone who reads the " + "repository sees it; no secrets).")
    String note;

    @Override
    public Integer call() {
        GlobalOptions global = GlobalOptions.of(spec);
        RecoveryTest which = RecoveryTest.parse(test);
        boolean passed = switch (result == null ? "" : result.trim().toLowerCase(java.util.Locale.ROOT)) {
            case "passed", "pass" -> true;
            case "failed", "fail" -> false;
            default -> throw new ConfigException("the result must be passed or failed, not '" + result + "'");
        };
        Duration duration = took == null ? Duration.ZERO : Settings.parseDuration("--took", took);
        try (DrKit kit = global.open(spec.commandLine().getErr(), null)) {
            kit.recordTest(which, passed, duration, note);
        }
        PrintWriter out = spec.commandLine().getOut();
        out.println("recorded: " + which.title() + " " + (passed ? "passed" : "failed"));
        out.flush();
        return 0;
    }
}
