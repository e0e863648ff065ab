package dev.drkit.failover;

import static org.assertj.core.api.Assertions.assertThat;

import com.sun.net.httpserver.HttpServer;
import dev.drkit.DrEvent;
import dev.drkit.DrListener;
import dev.drkit.spi.support.Json;
import java.io.ByteArrayOutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class FailoverRunTest {
    private final List<DrEvent> events = new ArrayList<>();
    private final DrListener listener = new DrListener() {
        @Override
        public void onEvent(DrEvent event) {
            events.add(event);
        }
    };
    private final Promotion promotion =
            new Promotion("orders", "postgresql", "127.0.0.1:5433", "127.0.0.1:5432", Instant.now());

    @Test
    void aPlanThatRunsThroughPromotesAndSendsAnEventPerStep() {
        AtomicReference<Promotion> switched = new AtomicReference<>();
        FailoverReport r =
                FailoverRun.execute("orders", "postgresql", false, List.of(listener), Clock.systemUTC(), run -> {
                    run.step("check standby", () -> "in recovery");
                    run.switchTraffic(switched::set, promotion);
                    return "promoted";
                });
        assertThat(r.outcome()).isEqualTo(FailoverReport.Outcome.PROMOTED);
        assertThat(r.steps()).extracting(FailoverReport.Step::name).containsExactly("check standby", "switch traffic");
        assertThat(switched.get()).isEqualTo(promotion);
        assertThat(events)
                .extracting(DrEvent::type)
                .containsExactly(
                        DrEvent.Type.FAILOVER_STARTED,
                        DrEvent.Type.FAILOVER_STEP,
                        DrEvent.Type.FAILOVER_STEP,
                        DrEvent.Type.FAILOVER_COMPLETED);
        assertThat(events.get(1).details())
                .containsEntry(FailoverRun.STEP, "check standby")
                .containsEntry(FailoverRun.OUTCOME, "OK");
    }

    @Test
    void aRefusalStopsThePlanAndADryRunNeverSwitches() {
        AtomicReference<Promotion> switched = new AtomicReference<>();
        FailoverReport refused =
                FailoverRun.execute("orders", "postgresql", false, List.of(listener), Clock.systemUTC(), run -> {
                    run.step("fence old primary", () -> {
                        throw new FailoverRun.Refusal("the old primary still accepts writes");
                    });
                    run.switchTraffic(switched::set, promotion);
                    return "promoted";
                });
        assertThat(refused.outcome()).isEqualTo(FailoverReport.Outcome.REFUSED);
        assertThat(refused.message()).isEqualTo("the old primary still accepts writes");
        assertThat(refused.step("fence old primary").outcome()).isEqualTo(FailoverReport.StepOutcome.REFUSED);
        assertThat(events.get(events.size() - 1).type()).isEqualTo(DrEvent.Type.FAILOVER_FAILED);

        FailoverReport dry = FailoverRun.execute("orders", "postgresql", true, List.of(), Clock.systemUTC(), run -> {
            run.switchTraffic(switched::set, promotion);
            return "would promote";
        });
        assertThat(dry.outcome()).isEqualTo(FailoverReport.Outcome.WOULD_PROMOTE);
        assertThat(dry.step("switch traffic").outcome()).isEqualTo(FailoverReport.StepOutcome.WOULD_DO);
        assertThat(switched.get()).isNull();
    }

    @Test
    void aFailingSwitchFailsTheFailoverAndSaysTheServerIsPromoted() {
        FailoverReport r = FailoverRun.execute("orders", "postgresql", false, List.of(), Clock.systemUTC(), run -> {
            run.switchTraffic(
                    p -> {
                        throw new IllegalStateException("registry down");
                    },
                    promotion);
            return "promoted";
        });
        assertThat(r.outcome()).isEqualTo(FailoverReport.Outcome.FAILED);
        assertThat(r.message())
                .contains("127.0.0.1:5433 is promoted")
                .contains("registry down")
                .contains("by hand");
    }

    @Test
    void theCommandSwitchRunsItsArgumentsWithoutAShellAndKeepsSecretsOutOfMessages(@TempDir Path dir) throws Exception {
        Path out = dir.resolve("out");
        CommandTrafficSwitch ok = CommandTrafficSwitch.of(List.of(
                        "/bin/sh",
                        "-c",
                        "printf '%s %s %s' \"$1\" \"$DRKIT_NEW_PRIMARY\" \"$TOKEN\" > " + out,
                        "sh",
                        "{new-primary}; rm -rf /"))
                .withEnvironment(Map.of("TOKEN", "tok-123"));
        ok.switchTo(promotion);
        assertThat(Files.readString(out)).isEqualTo("127.0.0.1:5433; rm -rf / 127.0.0.1:5433 tok-123");

        CommandTrafficSwitch failing = CommandTrafficSwitch.of(
                        List.of("/bin/sh", "-c", "echo \"denied for $TOKEN\"; exit 3"))
                .withEnvironment(Map.of("TOKEN", "tok-123"));
        FailoverReport r = FailoverRun.execute("orders", "postgresql", false, List.of(), Clock.systemUTC(), run -> {
            run.switchTraffic(failing, promotion);
            return "promoted";
        });
        assertThat(r.message())
                .contains("exited with 3")
                .contains("denied for ****")
                .doesNotContain("tok-123");
    }

    @Test
    void theWebhookSwitchPostsThePromotionAsJson() throws Exception {
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.createContext("/", ex -> {
            ex.getRequestBody().transferTo(body);
            ex.sendResponseHeaders(200, -1);
            ex.close();
        });
        server.start();
        try {
            new WebhookTrafficSwitch(
                            URI.create("http://127.0.0.1:" + server.getAddress().getPort() + "/switch"))
                    .switchTo(promotion);
        } finally {
            server.stop(0);
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> json = Json.read(body.toByteArray(), Map.class);
        assertThat(json)
                .containsEntry("event", "failover")
                .containsEntry("newPrimary", "127.0.0.1:5433")
                .containsEntry("oldPrimary", "127.0.0.1:5432")
                .containsEntry("system", "postgresql");
    }
}
