package dev.drkit.examples.cli;

import dev.drkit.DrKit;
import dev.drkit.DrListener;
import dev.drkit.Settings;
import dev.drkit.incident.IncidentManager;
import dev.drkit.incident.IncidentSetup;
import dev.drkit.notify.LoggingListener;
import dev.drkit.notify.WebhookListener;
import dev.drkit.scheduler.DrScheduler;
import dev.drkit.setup.Setup;
import java.io.PrintWriter;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code drkit --config F run}: the scheduler daemon. */
@Command(
        name = "run",
        description = "Run the --config setup's schedules until stopped (SIGTERM finishes or cleanly "
                + "aborts the running job). Any number of instances may run one setup: each scheduled job runs once.")
final class RunCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(
            names = "--grace",
            paramLabel = "DURATION",
            defaultValue = "5min",
            description = "On shutdown, how long running jobs may finish before they are aborted (default 5min).")
    String grace;

    @Override
    public Integer call() throws Exception {
        GlobalOptions global = GlobalOptions.of(spec);
        Setup setup = global.requireSetup("run");
        PrintWriter err = spec.commandLine().getErr();
        List<DrListener> listeners = new ArrayList<>(List.of(new LoggingListener()));
        WebhookListener webhook = setup.notifications().webhook() == null
                ? null
                : new WebhookListener(
                        setup.notifications().webhook(), setup.notifications().events(), 5, Duration.ofSeconds(2));
        if (webhook != null) {
            listeners.add(webhook);
        }
        // incidents hear the kit's and the scheduler's events; their own events go to the listeners above
        IncidentManager incidents = IncidentSetup.manager(setup, Clock.systemUTC(), List.copyOf(listeners))
                .orElse(null);
        if (incidents != null) {
            listeners.add(incidents);
        }
        EncryptionOptions keys = new EncryptionOptions();
        CountDownLatch stopped = new CountDownLatch(1);
        try (DrKit kit = global.open(err, null, keys.stage(global), null, keys.signer(global), null, listeners)) {
            DrScheduler scheduler = DrScheduler.builder(kit, setup)
                    .grace(Settings.parseDuration("--grace", grace))
                    .listeners(listeners)
                    .start();
            if (incidents != null) {
                incidents.watch(() -> kit.status(setup.targetObjectives()), Duration.ofMinutes(1));
            }
            err.println("drkit run: " + scheduler.jobs().size() + " job(s) on " + kit.repositoryDescription() + ": "
                    + scheduler.jobs());
            err.flush();
            Runtime.getRuntime()
                    .addShutdownHook(new Thread(
                            () -> {
                                scheduler.close();
                                if (incidents != null) {
                                    incidents.close();
                                }
                                if (webhook != null) {
                                    webhook.close();
                                }
                                stopped.countDown();
                            },
                            "drkit-run-stop"));
            stopped.await();
        }
        return 0;
    }
}
