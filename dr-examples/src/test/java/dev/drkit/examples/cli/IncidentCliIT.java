package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpServer;
import dev.drkit.DrEvent;
import dev.drkit.incident.IncidentManager;
import dev.drkit.spi.support.Json;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The CLI with a {@code notifications.incidents} section: {@code drkit run} pages for a stale target and resolves
 * after its next backup, {@code drkit status} lists open incidents, {@code drkit config check} checks the files the
 * section names.
 */
class IncidentCliIT {
    @TempDir
    Path work;

    @Test
    void theDaemonSendsTheInitialNoticeOfAStaleTargetAndTheResolutionAfterItsNextBackup() throws Exception {
        BlockingQueue<JsonNode> posts = new LinkedBlockingQueue<>();
        HttpServer hook = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        hook.createContext("/incidents", exchange -> {
            posts.add(Json.mapper().readTree(exchange.getRequestBody().readAllBytes()));
            exchange.sendResponseHeaders(204, -1);
            exchange.close();
        });
        hook.start();
        Path state = work.resolve("state/incidents.json");
        Path setup = backedUpSetup(
                state,
                "http://127.0.0.1:" + hook.getAddress().getPort() + "/incidents",
                "schedule: \"* * * * *\", objectives: { rpo: 1s }");
        Thread.sleep(1100); // the backup is older than the 1 s RPO when the daemon looks

        Path log = work.resolve("run.log");
        Process daemon = CliProcess.builder(null, List.of(), "--config", setup.toString(), "run", "--grace", "30s")
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
        try {
            JsonNode opened = posts.poll(100, TimeUnit.SECONDS); // the first evaluation, or the next after a backup
            assertThat(opened)
                    .as("the initial notice; daemon log:\n" + Files.readString(log))
                    .isNotNull();
            assertThat(opened.get("type").asText()).isEqualTo("INCIDENT_OPENED");
            assertThat(opened.get("target").asText()).isEqualTo("config");
            assertThat(opened.at("/details/kind").asText()).isEqualTo("rpo-at-risk");
            assertThat(opened.at("/details/text").asText()).contains("INCIDENT: RPO at risk: config");
            assertThat(state).as("the open incident is kept for a restart").exists();

            JsonNode resolved = posts.poll(90, TimeUnit.SECONDS); // the next minute's backup
            assertThat(resolved)
                    .as("the resolution notice; daemon log:\n" + Files.readString(log))
                    .isNotNull();
            assertThat(resolved.get("type").asText()).isEqualTo("INCIDENT_RESOLVED");
            assertThat(resolved.at("/details/incidentId").asText())
                    .isEqualTo(opened.at("/details/incidentId").asText());
            assertThat(resolved.at("/details/text").asText()).contains("RESOLVED: RPO at risk: config", "succeeded");
        } finally {
            daemon.destroy();
            if (!daemon.waitFor(90, TimeUnit.SECONDS)) {
                daemon.destroyForcibly();
            }
            hook.stop(0);
        }
        assertThat(Files.readString(log)).contains("incident drkit-config-rpo-at-risk-");
    }

    @Test
    void configCheckReportsATemplateTypoAndASecretFileOpenToOthers() throws Exception {
        Path template = Files.writeString(work.resolve("resolution.mustache"), "Root cause: {{rootcause}}\n");
        Path key = Files.writeString(work.resolve("pagerduty-key"), "R0UTINGKEY\n");
        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-r--r--"));
        Path setup = Files.writeString(work.resolve("drkit.yaml"), """
                notifications:
                  incidents:
                    templates: { resolution: %s }
                    pagerduty: { routing-key-file: %s }
                targets:
                  config: { type: files, path: /etc/app }
                """.formatted(template, key));
        CliProcess.Result check = CliProcess.run(null, "--config", setup.toString(), "config", "check");
        assertThat(check.exit()).as(check.out() + check.err()).isEqualTo(2);
        assertThat(check.err())
                .contains("the resolution notice template " + template, "rootcause")
                .contains("the PagerDuty routing key file " + key + " is open to other users", "chmod 600")
                .doesNotContain("R0UTINGKEY");

        Files.setPosixFilePermissions(key, PosixFilePermissions.fromString("rw-------"));
        Files.writeString(template, "Root cause: {{rootCause}}\n");
        check = CliProcess.run(null, "--config", setup.toString(), "config", "check");
        assertThat(check.exit()).as(check.err()).isZero();
        assertThat(check.out()).contains("incidents to pagerduty, updates every 1h");
    }

    @Test
    void statusListsTheIncidentsTheStateFileHoldsOpen() throws Exception {
        Path state = work.resolve("incidents.json");
        Path setup = backedUpSetup(state, "http://127.0.0.1:9/unused", "");
        try (IncidentManager incidents =
                IncidentManager.builder().stateFile(state).build()) {
            incidents.onEvent(new DrEvent(
                    DrEvent.Type.VERIFY_FAILED,
                    "config",
                    "20261202T100000Z-abc123",
                    Instant.now(),
                    "checksum mismatch",
                    Map.of()));
        }
        CliProcess.Result status = CliProcess.run(null, "--config", setup.toString(), "status");
        assertThat(status.out())
                .as(status.err())
                .containsPattern("incident drkit-config-verification-failed-\\S+: verification failed: config, ERROR "
                        + "since \\S+ \\(investigating\\)");

        Path page = work.resolve("report.html");
        CliProcess.Result report =
                CliProcess.run(null, "--config", setup.toString(), "report", "--html", page.toString());
        assertThat(report.exit()).as(report.err()).isZero();
        assertThat(Files.readString(page))
                .containsPattern("<tr class=\"bad\"><td>[^<]+</td><td>config</td><td>[a-z]+</td><td>verification "
                        + "failed: config \\(investigating\\)</td></tr>");
    }

    /** A setup of one files target {@code config} with a webhook channel for incidents, backed up once. */
    private Path backedUpSetup(Path state, String webhook, String targetOptions) throws Exception {
        Path data = Files.createDirectories(work.resolve("data"));
        Files.writeString(data.resolve("app.conf"), "listen 8080\n");
        Path setup = Files.writeString(work.resolve("drkit.yaml"), """
                repository: %s
                notifications:
                  incidents:
                    state-file: %s
                    webhook: { url: "%s" }
                targets:
                  config: { type: files, path: %s%s }
                """.formatted(
                work.resolve("repo"), state, webhook, data, targetOptions.isEmpty() ? "" : ", " + targetOptions));
        CliProcess.Result first = CliProcess.run(null, "--config", setup.toString(), "backup", "--all");
        assertThat(first.exit()).as(first.err()).isZero();
        return setup;
    }
}
