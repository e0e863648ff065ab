package dev.drkit.setup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.files.FilesBackupTargetProvider;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SetupFileIncidentsTest {
    private static final List<Object> TYPES = List.of(new FilesBackupTargetProvider());
    private static final String TARGETS = "targets:\n  config: { type: files, path: /etc/app }\n";

    @TempDir
    Path dir;

    private Path write(String yaml) throws Exception {
        return Files.writeString(dir.resolve("drkit.yaml"), yaml);
    }

    @Test
    void readsTheIncidentsSectionWithItsChannels() throws Exception {
        Path file = write("""
                notifications:
                  webhook: https://hooks.example.com/events
                  incidents:
                    state-file: /var/lib/drkit/incidents.json
                    rpo-at-risk: 80%
                    failed-backups: 3
                    update-every: 30min
                    templates: { resolution: /etc/drkit/resolution.mustache }
                    slack: { url: "https://hooks.slack.com/services/T000/B000/SECRETTOKEN", blocks: true }
                    pagerduty: { routing-key-file: /etc/drkit/pagerduty-key }
                    email:
                      host: smtp.example.com
                      port: 587
                      user: drkit
                      password-file: /etc/drkit/smtp-password
                      from: drkit@example.com
                      to: [oncall@example.com, dba@example.com]
                """ + TARGETS);
        Setup.Incidents in = SetupFile.load(file, TYPES).notifications().incidents();
        assertThat(in.stateFile()).isEqualTo(Path.of("/var/lib/drkit/incidents.json"));
        assertThat(in.rpoAtRisk()).isEqualTo(0.8);
        assertThat(in.failedBackups()).isEqualTo(3);
        assertThat(in.updateEvery()).isEqualTo(Duration.ofMinutes(30));
        assertThat(in.templates()).containsEntry("resolution", Path.of("/etc/drkit/resolution.mustache"));
        assertThat(in.channels()).containsOnlyKeys("slack", "pagerduty", "email");
        assertThat(in.channels().get("email").getAll("to")).containsExactly("oncall@example.com", "dba@example.com");
        assertThat(in.toString()).doesNotContain("SECRETTOKEN", "pagerduty-key");
    }

    @Test
    void withoutTheSectionThereAreNoIncidentsAndItsDefaultsAreThePlans() throws Exception {
        assertThat(SetupFile.load(write(TARGETS), TYPES).notifications().incidents())
                .isNull();
        Setup.Incidents in = SetupFile.load(
                        write("notifications:\n  incidents:\n    webhook: { url: http://127.0.0.1:9/x }\n" + TARGETS),
                        TYPES)
                .notifications()
                .incidents();
        assertThat(in.rpoAtRisk()).isEqualTo(1.0);
        assertThat(in.failedBackups()).isEqualTo(2);
        assertThat(in.updateEvery()).isEqualTo(Duration.ofHours(1));
        assertThat(in.stateFile()).isNull();
    }

    @Test
    void everyProblemOfTheSectionIsReportedAtOnceWithItsKeyAndLine() throws Exception {
        Path file = write("""
                notifications:
                  incidents:
                    rpo-at-risk: 5%
                    failed-backups: none
                    update-every: soon
                    pages: yes
                    templates: { opening: /x }
                    slack: { blocks: maybe }
                    pagerduty: { routing-key: abc123 }
                    webhook: { url: "ftp://example.com/x" }
                    email: { host: smtp.example.com, password: hunter2, port: smtp, to: [a@example.com] }
                """ + TARGETS);
        assertThatThrownBy(() -> SetupFile.load(file, TYPES))
                .isInstanceOf(ConfigException.class)
                .satisfies(e -> assertThat(((ConfigException) e).problems())
                        .contains(
                                file + ":3: notifications.incidents.rpo-at-risk: '5%' is not a share of the RPO from "
                                        + "10% to 1000% (e.g. 80% or 0.8)",
                                file
                                        + ":4: notifications.incidents.failed-backups: 'none' is not a count from 1 to 1000",
                                file + ":8: notifications.incidents.slack.blocks: 'maybe' is not true or false",
                                file + ":8: notifications.incidents.slack: no 'url'",
                                file + ":10: notifications.incidents.webhook.url: not an http(s) URL",
                                file + ":11: notifications.incidents.email.port: 'smtp' is not a port number",
                                file + ":11: notifications.incidents.email: no 'from'")
                        .anySatisfy(p -> assertThat(p)
                                .startsWith(
                                        file + ":5: setting 'notifications.incidents.update-every' must be a duration"))
                        .anySatisfy(
                                p -> assertThat(p).startsWith(file + ":6: notifications.incidents.pages: unknown key"))
                        .anySatisfy(p -> assertThat(p)
                                .startsWith(file + ":7: notifications.incidents.templates.opening: unknown key"))
                        .anySatisfy(p -> assertThat(p)
                                .startsWith(file
                                        + ":9: notifications.incidents.pagerduty.routing-key: secrets do not belong")
                                .contains("'routing-key-file'"))
                        .anySatisfy(p -> assertThat(p)
                                .startsWith(file + ":9: notifications.incidents.pagerduty: no 'routing-key-file'"))
                        .anySatisfy(p -> assertThat(p)
                                .startsWith(
                                        file + ":11: notifications.incidents.email.password: secrets do not belong"))
                        .noneSatisfy(p -> assertThat(p).contains("hunter2"))
                        .noneSatisfy(p -> assertThat(p).contains("abc123")));
    }

    @Test
    void aSectionWithoutAnyChannelIsAProblem() throws Exception {
        Path file = write("notifications:\n  incidents:\n    failed-backups: 2\n" + TARGETS);
        assertThatThrownBy(() -> SetupFile.load(file, TYPES))
                .hasMessageContaining(
                        "notifications.incidents: no channel; add at least one of [slack, pagerduty, webhook, email]");
    }
}
