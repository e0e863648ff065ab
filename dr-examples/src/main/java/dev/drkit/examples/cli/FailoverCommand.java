package dev.drkit.examples.cli;

import dev.drkit.DrEvent;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.DrListener;
import dev.drkit.RecoveryTest;
import dev.drkit.Settings;
import dev.drkit.failover.CommandTrafficSwitch;
import dev.drkit.failover.Failover;
import dev.drkit.failover.FailoverReport;
import dev.drkit.failover.FailoverRun;
import dev.drkit.failover.TrafficSwitch;
import dev.drkit.failover.WebhookTrafficSwitch;
import dev.drkit.postgres.PostgresFailover;
import dev.drkit.redis.RedisFailover;
import dev.drkit.setup.Setup;
import java.io.PrintWriter;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

/**
 * {@code drkit failover}: promotes a PostgreSQL standby or a Redis replica in checked steps, each
 * printed with its time; exit 0 promoted (or, with --dry-run, would promote), 1 refused or failed.
 */
@Command(
        name = "failover",
        description = "Promote a PostgreSQL standby (--standby, with --primary to check the old one) or a Redis "
                + "replica (--replica, or --sentinel with --master-name): check the lag, fence the old primary, "
                + "promote, wait for writes, validate, switch traffic. Exit 0 when promoted, 1 when refused or "
                + "failed (the message says why and what to do).")
final class FailoverCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--target",
            paramLabel = "NAME",
            description = "A postgres target of the --config setup: its connection is the old primary, its verify "
                    + "validate queries run on the promoted server.")
    String target;

    @Option(names = "--name", paramLabel = "NAME", description = "The name in the report and events.")
    String name;

    @Option(
            names = {"--standby", "--standby-url"},
            paramLabel = "JDBC_URL",
            description = "postgres: the standby to promote.")
    String standbyUrl;

    @Option(
            names = {"--primary", "--primary-url"},
            paramLabel = "JDBC_URL",
            description = "postgres: the old primary, checked (and fenced) before the promotion.")
    String primaryUrl;

    @Option(names = "--standby-user", paramLabel = "USER", description = "postgres: the standby's user (else --user).")
    String standbyUser;

    @Option(
            names = "--primary-user",
            paramLabel = "USER",
            description = "postgres: the old primary's user (else --user).")
    String primaryUser;

    @Option(
            names = "--standby-password-file",
            paramLabel = "FILE",
            description = "The standby's or replica's password file (else --password-file).")
    String standbyPasswordFile;

    @Option(
            names = "--primary-password-file",
            paramLabel = "FILE",
            description = "The old primary's or master's password file (else --password-file).")
    String primaryPasswordFile;

    @Option(names = "--user", paramLabel = "USER", description = "The user for every server.")
    String user;

    @Option(
            names = "--password-file",
            paramLabel = "FILE",
            description = "Password file for every server (else env PGPASSWORD, REDISCLI_AUTH).")
    String passwordFile;

    @Option(
            names = {"--replica", "--replica-uri"},
            paramLabel = "URI",
            description = "redis: the replica to promote with REPLICAOF NO ONE (redis://HOST:PORT).")
    String replicaUri;

    @Option(
            names = {"--master", "--master-uri"},
            paramLabel = "URI",
            description = "redis: the old master, when not the one the replica names.")
    String masterUri;

    @Option(
            names = {"--sentinel", "--sentinel-uri"},
            paramLabel = "URI",
            description = "redis: ask this Sentinel (redis://HOST:26379) to fail --master-name over.")
    String sentinelUri;

    @Option(names = "--master-name", paramLabel = "NAME", description = "redis: the master's name in Sentinel.")
    String masterName;

    @Option(names = "--dry-run", description = "Run every check; promote, stop and switch nothing.")
    boolean dryRun;

    @Option(
            names = "--force",
            description = "Promote even when the standby lags over the limit or the old primary still accepts "
                    + "writes (or is not given).")
    boolean force;

    @Option(
            names = "--max-lag",
            paramLabel = "SIZE",
            description = "Most unreplayed WAL / replication offset to accept (default 16MiB postgres, 1MiB redis).")
    String maxLag;

    @Option(
            names = "--max-lag-time",
            paramLabel = "DURATION",
            description = "postgres: longest replay delay to accept (default 30s).")
    String maxLagTime;

    @Option(
            names = "--max-link-down",
            paramLabel = "DURATION",
            description = "redis: longest a replica's link to a master that no longer answers may have been down "
                    + "(default 10m); a replica cut off longer lacks what was written since.")
    String maxLinkDown;

    @Option(
            names = "--stop-timeout",
            paramLabel = "DURATION",
            description = "postgres: how long the old primary's stop may take, the stop command and a server "
                    + "still shutting down (default 2m).")
    String stopTimeout;

    @Option(
            names = "--promote-timeout",
            paramLabel = "DURATION",
            description = "How long to wait for the promotion and the first write (default 60s).")
    String promoteTimeout;

    @Option(
            names = "--stop-command",
            paramLabel = "ARG",
            description = "postgres: a program (then its arguments, one per --stop-command) that stops an old "
                    + "primary that still accepts writes; run without a shell.")
    List<String> stopCommand = new ArrayList<>();

    @Option(
            names = "--stop-data-dir",
            paramLabel = "DIR",
            description = "postgres: stop an old primary that still accepts writes with pg_ctl on this data directory.")
    String stopDataDir;

    @Option(names = "--server-bin-dir", paramLabel = "DIR", description = "postgres: where pg_ctl lives.")
    String serverBinDir;

    @Option(
            names = "--validate",
            paramLabel = "SQL",
            description = "postgres: a query the promoted server must pass (true or > 0); repeatable.")
    List<String> validate = new ArrayList<>();

    @Option(
            names = "--switch-webhook",
            paramLabel = "URL",
            description = "After the promotion, POST it as JSON here (newPrimary, oldPrimary, name).")
    URI switchWebhook;

    @Option(
            names = "--switch-command",
            paramLabel = "ARG",
            description = "After the promotion, run this program (then its arguments, one per --switch-command; "
                    + "{new-primary} is replaced, DRKIT_NEW_PRIMARY is set); no shell.")
    List<String> switchCommand = new ArrayList<>();

    @Override
    public Integer call() {
        GlobalOptions global = GlobalOptions.of(spec);
        boolean redis = replicaUri != null || sentinelUri != null;
        Setup.Target fromSetup =
                target == null ? null : global.requireSetup("--target").target(target);
        if (redis && (standbyUrl != null || primaryUrl != null || fromSetup != null)) {
            throw new ParameterException(
                    spec.commandLine(),
                    "give either a PostgreSQL standby (--standby) or a "
                            + "Redis replica (--replica / --sentinel), not both");
        }
        if (replicaUri != null && sentinelUri != null) {
            throw new ParameterException(
                    spec.commandLine(),
                    "give either a replica to promote (--replica) or a Sentinel (--sentinel), not both");
        }
        if (redis) {
            List<String> postgresOnly = new ArrayList<>();
            if (!stopCommand.isEmpty()) {
                postgresOnly.add("--stop-command");
            }
            if (!validate.isEmpty()) {
                postgresOnly.add("--validate");
            }
            for (String[] flag : new String[][] {
                {"--stop-data-dir", stopDataDir},
                {"--server-bin-dir", serverBinDir},
                {"--max-lag-time", maxLagTime},
                {"--stop-timeout", stopTimeout},
                {"--standby-user", standbyUser},
                {"--primary-user", primaryUser}
            }) {
                if (flag[1] != null) {
                    postgresOnly.add(flag[0]);
                }
            }
            if (!postgresOnly.isEmpty()) {
                throw new ParameterException(
                        spec.commandLine(),
                        String.join(", ", postgresOnly) + ": PostgreSQL only; a Redis failover would ignore it");
            }
        }
        if (!redis && maxLinkDown != null) {
            throw new ParameterException(
                    spec.commandLine(), "--max-link-down: Redis only; a PostgreSQL failover would ignore it");
        }
        if (!redis && standbyUrl == null) {
            throw new ParameterException(
                    spec.commandLine(),
                    "give the server to promote: --standby JDBC_URL "
                            + "(PostgreSQL) or --replica URI / --sentinel URI --master-name NAME (Redis)");
        }
        Settings settings = redis ? redisSettings() : postgresSettings(fromSetup);
        PrintWriter out = spec.commandLine().getOut();
        DrListener printer = new StepPrinter(out, global.json);
        TrafficSwitch traffic = trafficSwitch();
        Failover failover = redis
                ? RedisFailover.fromSettings(settings)
                        .trafficSwitch(traffic)
                        .listener(printer)
                        .build()
                : PostgresFailover.fromSettings(settings)
                        .trafficSwitch(traffic)
                        .listener(printer)
                        .build();
        FailoverReport report = failover.run();
        recordTest(global, report);
        if (global.json) {
            GlobalOptions.printJson(out, report);
        } else {
            out.printf(
                    Locale.ROOT,
                    "%s in %.2fs: %s%n",
                    report.outcome().name().replace('_', ' '),
                    report.seconds(),
                    GlobalOptions.safe(MessageFlags.forCli(report.message())));
            out.flush();
        }
        if (!report.succeeded()) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("drkit: failover " + (report.outcome() == FailoverReport.Outcome.REFUSED ? "refused" : "failed")
                    + ": " + GlobalOptions.safe(MessageFlags.forCli(report.message())));
            err.flush();
            return DrkitCli.FAILED;
        }
        return 0;
    }

    /**
     * With a repository configured, the run goes into the testing schedule as a failover test (a dry run is
     * one too); a repository that cannot take the record does not change the failover's outcome.
     */
    private void recordTest(GlobalOptions global, FailoverReport report) {
        if (global.repository() == null) {
            return;
        }
        String note = report.system() + " failover"
                + (report.name().equals(report.system()) ? "" : " " + report.name()) + ": "
                + report.outcome().name().toLowerCase(Locale.ROOT).replace('_', ' ');
        try (DrKit kit = global.open(spec.commandLine().getErr(), null)) {
            kit.recordTest(
                    RecoveryTest.FAILOVER,
                    report.succeeded(),
                    Duration.ofMillis(Math.round(report.seconds() * 1000)),
                    note.length() > 200 ? note.substring(0, 200) : note);
        } catch (DrException e) {
            PrintWriter err = spec.commandLine().getErr();
            err.println("drkit: warning: the failover test was not recorded in the repository: "
                    + GlobalOptions.safe(MessageFlags.forCli(e.getMessage())));
            err.flush();
        }
    }

    private Settings postgresSettings(Setup.Target fromSetup) {
        Settings.Builder b = Settings.builder();
        if (fromSetup != null) {
            if (!fromSetup.type().startsWith("postgres")) {
                throw new ParameterException(
                        spec.commandLine(),
                        "--target " + target + " is a " + fromSetup.type()
                                + " target; failover works on postgres targets here (for Redis give --replica)");
            }
            // the target's connection is the old primary; its restore-test queries validate the new one
            for (String k : List.of("url", "user", "password", "password-file", "password-env")) {
                fromSetup.settings().get(k).ifPresent(v -> b.set("primary-" + k, v));
            }
            b.addAll("validate", fromSetup.verify().options().getAll("validate"));
            b.set("name", target);
        }
        OptionValues.set(b, "standby-url", standbyUrl);
        OptionValues.set(b, "primary-url", primaryUrl);
        OptionValues.set(b, "standby-user", standbyUser != null ? standbyUser : user);
        OptionValues.set(b, "primary-user", primaryUser != null ? primaryUser : user);
        OptionValues.set(b, "standby-password-file", standbyPasswordFile != null ? standbyPasswordFile : passwordFile);
        OptionValues.set(b, "primary-password-file", primaryPasswordFile != null ? primaryPasswordFile : passwordFile);
        OptionValues.set(b, "max-lag-time", maxLagTime);
        OptionValues.set(b, "stop-timeout", stopTimeout);
        OptionValues.set(b, "stop-data-dir", stopDataDir);
        OptionValues.set(b, "server-bin-dir", serverBinDir);
        if (!stopCommand.isEmpty()) {
            b.addAll("stop-command", stopCommand);
        }
        b.addAll("validate", validate);
        return common(b);
    }

    private Settings redisSettings() {
        Settings.Builder b = Settings.builder();
        OptionValues.set(b, "replica-uri", replicaUri);
        OptionValues.set(b, "master-uri", masterUri);
        OptionValues.set(b, "sentinel-uri", sentinelUri);
        OptionValues.set(b, "max-link-down", maxLinkDown);
        OptionValues.set(b, "master-name", masterName);
        // the Sentinel is the only server asked when one is given: --user and --password-file are its
        OptionValues.set(b, "sentinel-user", user);
        OptionValues.set(b, "sentinel-password-file", passwordFile);
        for (String server : List.of("replica-", "master-")) {
            OptionValues.set(b, server + "user", user);
            OptionValues.set(
                    b,
                    server + "password-file",
                    server.equals("replica-") && standbyPasswordFile != null
                            ? standbyPasswordFile
                            : server.equals("master-") && primaryPasswordFile != null
                                    ? primaryPasswordFile
                                    : passwordFile);
        }
        return common(b);
    }

    private Settings common(Settings.Builder b) {
        OptionValues.set(b, "name", name);
        OptionValues.set(b, "max-lag", maxLag);
        OptionValues.set(b, "promote-timeout", promoteTimeout);
        b.set("force", String.valueOf(force));
        b.set("dry-run", String.valueOf(dryRun));
        return b.build();
    }

    private TrafficSwitch trafficSwitch() {
        if (switchWebhook != null && !switchCommand.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "give --switch-webhook or --switch-command, not both");
        }
        if (switchWebhook != null) {
            try {
                return new WebhookTrafficSwitch(switchWebhook);
            } catch (IllegalArgumentException e) {
                throw new ParameterException(spec.commandLine(), "--switch-webhook: " + e.getMessage());
            }
        }
        try {
            return switchCommand.isEmpty() ? TrafficSwitch.NONE : CommandTrafficSwitch.of(switchCommand);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--switch-command: " + e.getMessage());
        }
    }

    /** Prints each step as it ends: name, outcome, time, what it saw. */
    private static final class StepPrinter implements DrListener {
        private final PrintWriter out;
        private final boolean quiet;

        StepPrinter(PrintWriter out, boolean quiet) {
            this.out = out;
            this.quiet = quiet;
        }

        @Override
        public void onEvent(DrEvent event) {
            if (quiet || event.type() != DrEvent.Type.FAILOVER_STEP) {
                return;
            }
            Object seconds = event.details().get(DrEvent.SECONDS);
            out.printf(
                    Locale.ROOT,
                    "%-22s %-9s %7.2fs  %s%n",
                    event.details().get(FailoverRun.STEP),
                    event.details().get(FailoverRun.OUTCOME),
                    seconds instanceof Number n ? n.doubleValue() : 0.0,
                    GlobalOptions.safe(
                            MessageFlags.forCli(String.valueOf(event.details().get(FailoverRun.DETAIL)))));
            out.flush();
        }
    }
}
