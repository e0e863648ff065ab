package dev.drkit.incident;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.TestSchedule;
import dev.drkit.setup.Setup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IncidentSetupTest {
    @TempDir
    Path dir;

    private static Setup.Incidents section(Map<String, Settings> channels) {
        return new Setup.Incidents(null, 1.0, 2, Duration.ofHours(1), Map.of(), channels);
    }

    private Path secret(String name, String content, String mode) throws Exception {
        Path f = Files.writeString(dir.resolve(name), content);
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(mode));
        return f;
    }

    @Test
    void eachChannelIsBuiltFromItsOptionsAndNoneShowsItsSecret() throws Exception {
        Map<String, Settings> channels = new LinkedHashMap<>();
        channels.put("slack", Settings.of(Map.of("url", "https://hooks.slack.com/services/T0/B0/SLACKTOKEN")));
        channels.put(
                "pagerduty",
                Settings.of(Map.of(
                        "routing-key-file",
                        secret("pd-key", "R0UTINGKEY0123456789\n", "rw-------").toString(),
                        "url",
                        "http://127.0.0.1:9/v2/enqueue")));
        channels.put("webhook", Settings.of(Map.of("url", "https://hooks.example.com/x?token=HOOKTOKEN")));
        channels.put(
                "email",
                Settings.builder()
                        .set("host", "smtp.example.com")
                        .set("user", "drkit")
                        .set(
                                "password-file",
                                secret("smtp", "hunter2\n", "rw-------").toString())
                        .set("from", "drkit@example.com")
                        .add("to", "oncall@example.com")
                        .build());
        var built = IncidentSetup.channels(section(channels));
        assertThat(built)
                .hasExactlyElementsOfTypes(
                        SlackWebhookChannel.class, PagerDutyChannel.class, WebhookChannel.class, EmailChannel.class);
        assertThat(built.toString())
                .contains(
                        "Slack webhook at hooks.slack.com", "PagerDuty at 127.0.0.1", "e-mail via smtp.example.com:587")
                .doesNotContain("SLACKTOKEN", "R0UTINGKEY", "HOOKTOKEN", "hunter2", "services");
    }

    @Test
    void aSecretFileOpenToOthersOrAMissingPasswordIsRefusedWithEveryProblemAtOnce() throws Exception {
        Map<String, Settings> channels = new LinkedHashMap<>();
        Path open = secret("pd-key", "R0UTINGKEY\n", "rw-r--r--");
        channels.put("pagerduty", Settings.of(Map.of("routing-key-file", open.toString())));
        channels.put(
                "email",
                Settings.builder()
                        .set("host", "smtp.example.com")
                        .set("user", "drkit")
                        .set("password-env", "DRKIT_TEST_UNSET_PASSWORD")
                        .set("from", "drkit@example.com")
                        .add("to", "oncall@example.com")
                        .build());
        assertThatThrownBy(() -> IncidentSetup.channels(section(channels)))
                .isInstanceOf(ConfigException.class)
                .satisfies(e -> assertThat(((ConfigException) e).problems())
                        .anySatisfy(p -> assertThat(p).contains(open + " is open to other users", "chmod 600"))
                        .anySatisfy(p -> assertThat(p)
                                .contains("notifications.incidents.email: 'user' is set but no password was found")));
    }

    @Test
    void checkReportsABrokenTemplateAnOpenSecretFileAndADamagedStateFileTogether() throws Exception {
        Path template = Files.writeString(dir.resolve("initial.mustache"), "{{sevrity}}");
        Path open = secret("pd-key", "R0UTINGKEY\n", "rw-r--r--");
        Path state = Files.writeString(dir.resolve("incidents.json"), "not json");
        Setup setup = pagerDutySetup(state, Map.of("initial", template), open);
        assertThatThrownBy(() -> IncidentSetup.check(setup))
                .isInstanceOf(ConfigException.class)
                .satisfies(e -> assertThat(((ConfigException) e).problems())
                        .hasSize(3)
                        .anySatisfy(p -> assertThat(p).contains("the initial notice template " + template, "sevrity"))
                        .anySatisfy(p -> assertThat(p).contains(open + " is open to other users"))
                        .anySatisfy(
                                p -> assertThat(p).contains("the incident state file " + state + " cannot be used")));
        assertThatThrownBy(() -> IncidentSetup.manager(setup, Clock.systemUTC(), List.of()))
                .as("the manager is not built on a setup that fails the check (a damaged state file alone would "
                        + "be set aside)")
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("2 configuration problems");
        assertThat(state).as("left where it was: the daemon did not start").exists();
    }

    @Test
    void aDamagedStateFileIsSetAsideSoThatTheDaemonStartsAndCheckStillReportsIt() throws Exception {
        Path key = secret("pd-key", "R0UTINGKEY\n", "rw-------");
        Path state = Files.writeString(dir.resolve("incidents.json"), "{\"version\": 1, \"open\": [");
        Setup setup = pagerDutySetup(state, Map.of(), key);
        assertThatThrownBy(() -> IncidentSetup.check(setup))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("the incident state file " + state + " cannot be used");

        Clock clock = Clock.fixed(Instant.parse("2026-12-02T10:00:00Z"), ZoneOffset.UTC);
        try (IncidentManager m = IncidentSetup.manager(setup, clock, List.of()).orElseThrow()) {
            assertThat(m.openIncidents()).isEmpty();
        }

        Path aside = dir.resolve("incidents.json.damaged-20261202T100000Z");
        assertThat(aside).hasContent("{\"version\": 1, \"open\": [");
        assertThat(state).doesNotExist();
        IncidentSetup.check(setup); // sound again: nothing left to report
    }

    @Test
    void aSecondDaemonOfTheSameSetupRunsWithoutIncidentsInsteadOfNotAtAll() throws Exception {
        Path key = secret("pd-key", "R0UTINGKEY\n", "rw-------");
        Setup setup = pagerDutySetup(dir.resolve("incidents.json"), Map.of(), key);
        try (IncidentManager first =
                IncidentSetup.manager(setup, Clock.systemUTC(), List.of()).orElseThrow()) {
            // the first pages already: the second would page again and overwrite its state
            assertThat(IncidentSetup.manager(setup, Clock.systemUTC(), List.of()))
                    .isEmpty();
        }
        try (IncidentManager again =
                IncidentSetup.manager(setup, Clock.systemUTC(), List.of()).orElseThrow()) {
            assertThat(again.openIncidents()).isEmpty();
        }
    }

    @Test
    void aSecondDaemonLeavesTheFirstOnesStateFileWhereItIsEvenWhenItCannotReadIt() throws Exception {
        Path key = secret("pd-key", "R0UTINGKEY\n", "rw-------");
        Path state = dir.resolve("incidents.json");
        Setup setup = pagerDutySetup(state, Map.of(), key);
        try (IncidentManager first =
                IncidentSetup.manager(setup, Clock.systemUTC(), List.of()).orElseThrow()) {
            // the first daemon (a newer drkit, in the middle of an upgrade) writes what this one cannot read
            Files.writeString(state, "{\"version\": 99}");

            assertThat(IncidentSetup.manager(setup, Clock.systemUTC(), List.of()))
                    .isEmpty();
            assertThat(state).as("the first daemon's state file").hasContent("{\"version\": 99}");
        }
    }

    /** A setup whose incidents go to PagerDuty, with the key in {@code keyFile}. */
    private static Setup pagerDutySetup(Path state, Map<String, Path> templates, Path keyFile) {
        return new Setup(
                null,
                null,
                List.of(),
                null,
                null,
                Settings.empty(),
                new Setup.Notifications(
                        null,
                        Set.of(),
                        new Setup.Incidents(
                                state,
                                1.0,
                                2,
                                Duration.ofHours(1),
                                templates,
                                Map.of("pagerduty", Settings.of(Map.of("routing-key-file", keyFile.toString()))))),
                Map.of(),
                TestSchedule.plan());
    }

    @Test
    void aBadAddressOrUrlNamesTheChannel() {
        Map<String, Settings> channels = new LinkedHashMap<>();
        channels.put(
                "email",
                Settings.builder()
                        .set("host", "smtp.example.com")
                        .set("from", "not an address")
                        .add("to", "oncall@example.com")
                        .build());
        assertThatThrownBy(() -> IncidentSetup.channels(section(channels)))
                .hasMessage("notifications.incidents.email: 'not an address' is not an e-mail address (from)");
    }
}
