package dev.drkit.examples.cli;

import dev.drkit.ConfigException;
import dev.drkit.DrKit;
import dev.drkit.DrStatus;
import dev.drkit.Objectives;
import dev.drkit.TestSchedule;
import dev.drkit.incident.Incident;
import dev.drkit.incident.IncidentSetup;
import dev.drkit.postgres.WalSpool;
import dev.drkit.spi.EncryptionStage;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code drkit status}: per target the newest and newest verified backup against the objectives; exit 1 when unhealthy. */
@Command(
        name = "status",
        description = "Per target: newest backup and its age against the RPO, newest verified "
                + "backup, newest restore test against the RTO; exit 0 only when every target is healthy (objectives from "
                + "--config).")
final class StatusCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--wal-spool",
            paramLabel = "DIR",
            description = "Also report the WAL files an asynchronous wal-push (--spool DIR) failed to store.")
    Path walSpool;

    @Option(
            names = "--no-checklist",
            description = "Leave out each target's verification checklist (the schedule and health stay).")
    boolean checklist;

    @Override
    public Integer call() throws IOException {
        GlobalOptions global = GlobalOptions.of(spec);
        Map<String, Objectives> objectives = new LinkedHashMap<>();
        if (global.setup() != null) {
            global.setup()
                    .targets()
                    .values()
                    .forEach(t -> objectives.put(
                            t.name(), t.objectives() == null ? new Objectives(null, null) : t.objectives()));
        }
        PrintWriter out = spec.commandLine().getOut();
        TestSchedule schedule =
                global.setup() == null ? TestSchedule.plan() : global.setup().testing();
        DrStatus status;
        try (DrKit kit =
                global.open(spec.commandLine().getErr(), null, configuredEncryption(global), null, null, null)) {
            status = kit.status(objectives, schedule);
        }
        if (walSpool != null) {
            List<String> problems = new ArrayList<>(status.problems());
            for (WalSpool.Failure f : WalSpool.failuresIn(walSpool)) {
                problems.add("WAL file " + f.name() + " is not archived: " + MessageFlags.forCli(f.message()));
            }
            for (WalSpool.Failure f : WalSpool.droppedIn(walSpool)) {
                problems.add("WAL file " + f.name() + " was dropped, not archived (wal-push --max-pending), "
                        + f.message() + "; point-in-time recovery past it is impossible until a base backup taken "
                        + "after it: take one, then remove " + walSpool.resolve(f.name() + WalSpool.DROPPED_SUFFIX));
            }
            if (problems.size() > status.problems().size()) {
                status = new DrStatus(status.at(), false, status.targets(), problems, status.schedule());
            }
        }
        if (global.json) {
            GlobalOptions.printJson(out, status);
        } else {
            out.printf(
                    "%-22s %-24s %9s %8s %-24s %9s %8s  %s%n",
                    "TARGET", "NEWEST BACKUP", "AGE", "RPO", "NEWEST VERIFIED", "RESTORE", "RTO", "HEALTH");
            for (DrStatus.Target t : status.targets()) {
                out.printf(
                        "%-22s %-24s %9s %8s %-24s %9s %8s  %s%n",
                        t.name(),
                        orDash(t.newestBackupId()),
                        seconds(t.newestBackupAgeSeconds()),
                        seconds(t.rpoSeconds() == null ? null : t.rpoSeconds().doubleValue()),
                        orDash(t.newestVerifiedId()),
                        seconds(t.lastRestoreTestSeconds()),
                        seconds(t.rtoSeconds() == null ? null : t.rtoSeconds().doubleValue()),
                        t.healthy() ? "ok" : "UNHEALTHY: " + String.join("; ", t.problems()));
            }
            for (DrStatus.Target t : status.targets()) {
                if (t.recoveryPointAt() != null) {
                    // PITR targets: the RPO is judged on the WAL archived since the newest backup
                    out.println(t.name() + ": point-in-time recovery reaches " + minute(t.recoveryPointAt()) + " ("
                            + seconds(Math.max(
                                            0,
                                            Duration.between(t.recoveryPointAt(), status.at())
                                                    .toMillis())
                                    / 1000.0)
                            + " ago, the newest WAL archived without a gap since the newest backup); the RPO is "
                            + "judged on it");
                }
            }
            status.problems().forEach(p -> out.println("repository: " + p));
            printSchedule(out, status);
            if (!checklist) {
                printChecklist(out, status);
            }
            printOpenIncidents(out, global);
            out.println(status.healthy() ? "healthy" : "UNHEALTHY");
        }
        out.flush();
        return status.healthy() ? 0 : 1;
    }

    /** The incidents a {@code drkit run} on this host keeps open (its setup's state file), one line each. */
    private static void printOpenIncidents(PrintWriter out, GlobalOptions global) {
        if (global.setup() == null) {
            return;
        }
        try {
            for (Incident i : IncidentSetup.openIncidents(global.setup())) {
                // the state file's text, which an error message fed too: no control character reaches the terminal
                out.println(GlobalOptions.safe("incident " + i.id() + ": " + i.title() + ", " + i.severity() + " since "
                        + i.startedAt() + " (" + i.status() + ")"));
            }
        } catch (ConfigException e) {
            out.println("incidents: " + MessageFlags.forCli(e.getMessage()));
        }
    }

    /** The setup's encryption (so the checklist knows what is configured); none when it cannot be read here. */
    private static EncryptionStage configuredEncryption(GlobalOptions global) {
        try {
            return new EncryptionOptions().stage(global);
        } catch (IOException | RuntimeException e) {
            return null;
        }
    }

    private static void printSchedule(PrintWriter out, DrStatus status) {
        out.println();
        out.printf("%-22s %8s  %-20s %-7s %-20s%n", "RECOVERY TEST", "EVERY", "LAST EXECUTED", "RESULT", "NEXT DUE");
        for (DrStatus.ScheduledTest t : status.schedule()) {
            out.printf(
                    "%-22s %8s  %-20s %-7s %-20s%s%n",
                    t.test().title(),
                    every(t.every()),
                    t.lastExecuted() == null ? "never" : minute(t.lastExecuted()),
                    t.lastPassed() == null ? "-" : t.lastPassed() ? "passed" : "FAILED",
                    t.lastExecuted() == null ? "now" : minute(t.nextDue()),
                    t.overdue() ? "  OVERDUE" : "");
        }
    }

    private static void printChecklist(PrintWriter out, DrStatus status) {
        for (DrStatus.Target t : status.targets()) {
            out.println();
            out.println("checklist " + t.name() + ":");
            for (DrStatus.Check c : t.checklist()) {
                String mark = switch (c.state()) {
                    case PASSED -> "ok  ";
                    case FAILED -> "FAIL";
                    case UNKNOWN -> " -  ";
                };
                out.printf("  [%s] %-22s %s%n", mark, c.item().title(), c.detail());
            }
        }
        out.println();
    }

    /** A frequency as the setup file writes it: {@code 7d}, {@code 12h}, {@code 30min}. */
    private static String every(Duration d) {
        if (d.toHours() % 24 == 0 && d.toDays() > 0 && d.toSecondsPart() == 0) {
            return d.toDays() + "d";
        }
        return d.toMinutesPart() == 0 && d.toSecondsPart() == 0 ? d.toHours() + "h" : d.toMinutes() + "min";
    }

    private static String minute(Instant at) {
        return DateTimeFormatter.ofPattern("yyyy-MM-dd HH:mm'Z'")
                .withZone(ZoneOffset.UTC)
                .format(at);
    }

    private static String orDash(String s) {
        return s == null ? "-" : s;
    }

    private static String seconds(Double s) {
        if (s == null) {
            return "-";
        }
        return s >= 7200
                ? String.format(Locale.ROOT, "%.1fh", s / 3600)
                : s >= 120 ? String.format(Locale.ROOT, "%.1fmin", s / 60) : String.format(Locale.ROOT, "%.1fs", s);
    }
}
