package dev.drkit.incident;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.GreenMailUtil;
import com.icegreen.greenmail.util.ServerSetup;
import dev.drkit.DrKit;
import dev.drkit.setup.Setup;
import dev.drkit.setup.SetupFile;
import jakarta.mail.internet.MimeMessage;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * From the setup file to the mailbox: a target whose newest backup grows older than its RPO
 * opens an incident, the next backup resolves it, and Slack, PagerDuty and e-mail each get the
 * initial and the resolution notice.
 */
class IncidentEndToEndIT {
    @TempDir
    Path dir;

    private Path secret(String name, String content) throws Exception {
        Path f = Files.writeString(dir.resolve(name), content);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString("rw-------"));
        return f;
    }

    @Test
    void aStaleTargetOpensAnIncidentAndItsNextBackupResolvesIt() throws Exception {
        TestClock clock = new TestClock("2026-12-02T02:00:00Z");
        Path data = Files.createDirectories(dir.resolve("etc-app"));
        Files.writeString(data.resolve("app.conf"), "port=8080\n");
        GreenMail mail = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        mail.start();
        mail.setUser("drkit@example.com", "drkit", "smtp-secret");
        try (HttpReceiver http = new HttpReceiver()) {
            Path setupFile = Files.writeString(dir.resolve("drkit.yaml"), """
                    repository: %s
                    notifications:
                      incidents:
                        state-file: %s
                        slack: { url: "%s" }
                        pagerduty: { routing-key-file: %s, url: "%s" }
                        email:
                          host: 127.0.0.1
                          port: %d
                          starttls: false
                          user: drkit
                          password-file: %s
                          from: drkit@example.com
                          to: [oncall@example.com]
                    targets:
                      config:
                        type: files
                        path: %s
                        objectives: { rpo: 1h }
                    """.formatted(
                            dir.resolve("repo"),
                            dir.resolve("state/incidents.json"),
                            http.url("/slack"),
                            secret("pagerduty-key", "R0UTINGKEY0123456789abcdef012345\n"),
                            http.url("/pagerduty"),
                            mail.getSmtp().getPort(),
                            secret("smtp-password", "smtp-secret\n"),
                            data));
            Setup setup = SetupFile.load(setupFile);
            try (IncidentManager incidents =
                            IncidentSetup.manager(setup, clock, List.of()).orElseThrow();
                    DrKit kit = DrKit.builder()
                            .repository(setup.repository())
                            .clock(clock)
                            .listener(incidents)
                            .build()) {
                kit.initRepository();
                kit.backup(setup.target("config").spec());

                clock.plus(Duration.ofMinutes(30));
                incidents.evaluate(kit.status(setup.targetObjectives()));
                assertThat(incidents.openIncidents())
                        .as("30 min old against an RPO of 1 h")
                        .isEmpty();

                clock.plus(Duration.ofMinutes(45)); // the 02:00 backup is now 75 min old
                incidents.evaluate(kit.status(setup.targetObjectives()));
                String id = incidents.openIncidents().get(0).id();
                assertThat(id).isEqualTo("drkit-config-rpo-at-risk-20261202T031500Z");
                assertThat(http.next("/slack").get("text").asText())
                        .contains("INCIDENT: RPO at risk: config", "1h 15min old", "Start Time: 2026-12-02T03:15:00Z");
                JsonNode trigger = http.next("/pagerduty");
                assertThat(trigger.get("event_action").asText()).isEqualTo("trigger");
                assertThat(trigger.get("dedup_key").asText()).isEqualTo(id);
                IncidentChannelsIT.awaitMails(mail, 1);
                assertThat(IncidentSetup.openIncidents(setup))
                        .as("what a status display reads from the state file")
                        .extracting(Incident::id)
                        .containsExactly(id);

                clock.plus(Duration.ofMinutes(10));
                kit.backup(setup.target("config").spec());
                assertThat(incidents.openIncidents()).isEmpty();
                assertThat(http.next("/slack").get("text").asText())
                        .contains(
                                "RESOLVED: RPO at risk: config",
                                "Duration: 10min 0s",
                                "End Time: 2026-12-02T03:25:00Z");
                JsonNode resolve = http.next("/pagerduty");
                assertThat(resolve.get("event_action").asText()).isEqualTo("resolve");
                assertThat(resolve.get("dedup_key").asText()).isEqualTo(id);
                IncidentChannelsIT.awaitMails(mail, 2);

                incidents.evaluate(kit.status(setup.targetObjectives()));
                assertThat(incidents.openIncidents())
                        .as("the new backup is fresh")
                        .isEmpty();
            }
            MimeMessage[] mails = mail.getReceivedMessages();
            assertThat(mails)
                    .extracting(MimeMessage::getSubject)
                    .containsExactly("[ERROR] RPO at risk: config", "[RESOLVED] RPO at risk: config");
            assertThat(GreenMailUtil.getBody(mails[1]))
                    .contains("Root Cause: no backup of config since 2026-12-02T02:00");
            assertThat(http.pending("/slack") + http.pending("/pagerduty"))
                    .as("nothing else sent")
                    .isZero();
        } finally {
            mail.stop();
        }
    }
}
