package dev.drkit.incident;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.DrEvent;
import dev.drkit.DrListener;
import dev.drkit.DrStatus;
import dev.drkit.failover.FailoverRun;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class IncidentManagerTest {
    private static final Instant T0 = Instant.parse("2026-12-02T10:00:00Z");

    @TempDir
    Path dir;

    private final TestClock clock = new TestClock("2026-12-02T10:00:00Z");
    private final RecordingChannel channel = new RecordingChannel();
    private final List<DrEvent> reported = new CopyOnWriteArrayList<>();

    private IncidentManager.Builder manager() {
        return IncidentManager.builder()
                .clock(clock)
                .stateFile(dir.resolve("state/incidents.json"))
                .channel(channel)
                .listener(reporter())
                .delivery(3, Duration.ofMillis(10));
    }

    private DrListener reporter() {
        return new DrListener() {
            @Override
            public void onEvent(DrEvent event) {
                reported.add(event);
            }
        };
    }

    /** A status with one target whose newest backup finished at {@code newest} (null: none), RPO 1 h. */
    static DrStatus status(String target, Instant newest) {
        return status(target, newest, null);
    }

    private DrEvent event(DrEvent.Type type, String target, String message) {
        return new DrEvent(type, target, "20261202T100000Z-abc123", clock.instant(), message, Map.of());
    }

    @Test
    void everyNoticeLeavesOnlyOnceTheStateFileHoldsTheIncidentAsNoticed() throws Exception {
        Path state = dir.resolve("state/incidents.json");
        List<String> seenAtSend = new CopyOnWriteArrayList<>();
        IncidentChannel checking = notice -> {
            // what a restarted daemon would read at the moment the page goes out
            seenAtSend.add(notice.type() + ":" + (Files.exists(state) ? Files.readString(state) : "<no state file>"));
        };
        try (IncidentManager m = manager().channel(checking).build()) {
            clock.plus(Duration.ofMinutes(61));
            m.evaluate(status("db", T0));
            Notice opened = channel.next();
            m.evaluate(status("db", clock.instant()));
            channel.next();
            assertThat(opened.type()).isEqualTo(Notice.Type.INITIAL);
        }
        assertThat(seenAtSend).hasSize(2);
        assertThat(seenAtSend.get(0)).startsWith("INITIAL:").contains("db").doesNotContain("<no state file>");
        // resolved: no longer open, and held as a resolution on its way until every channel took it
        assertThat(seenAtSend.get(1)).startsWith("RESOLUTION:").containsPattern("\"open\" : \\[ \\]");
        assertThat(seenAtSend.get(1).substring(seenAtSend.get(1).indexOf("\"resolving\"")))
                .contains("\"target\" : \"db\"", "\"endedAt\"");
        assertThat(Files.readString(state))
                .as("both channels took the resolution: nothing is left to send")
                .doesNotContain("\"db\"");
    }

    /** The same, for a target whose WAL was archived up to {@code archived} after that backup (null: none). */
    static DrStatus status(String target, Instant newest, Instant archived) {
        return new DrStatus(
                T0,
                false,
                List.of(new DrStatus.Target(
                        target,
                        newest == null ? null : "20261202T090000Z-abc123",
                        newest,
                        null,
                        3600L,
                        false,
                        null,
                        null,
                        null,
                        null,
                        null,
                        true,
                        false,
                        List.of(),
                        List.of(),
                        archived)));
    }

    @Test
    void aTargetWhoseWalIsArchivedPastItsOldBackupIsWithinItsRpoUntilTheWalStops() throws Exception {
        try (IncidentManager m = manager().build()) {
            clock.plus(Duration.ofHours(5));
            // a daily base backup five hours old, WAL archived ten minutes ago: no page
            m.evaluate(status("db", T0, clock.instant().minus(Duration.ofMinutes(10))));
            assertThat(m.openIncidents()).isEmpty();
            assertThat(channel.all).isEmpty();
            // the WAL stopped two hours ago: the loss a restore would have is two hours, not five
            m.evaluate(status("db", T0, clock.instant().minus(Duration.ofHours(2))));
            assertThat(m.openIncidents()).singleElement().satisfies(i -> {
                assertThat(i.severity()).isEqualTo(Incident.Severity.ERROR);
                assertThat(i.impact())
                        .contains("the WAL archived since its newest backup")
                        .contains("is 2h 0min old against an RPO objective of 1h 0min");
            });
            assertThat(channel.next().text()).contains("no WAL of db archived since 2026-12-02T13:00:00Z");
            // archiving resumed: resolved
            m.evaluate(status("db", T0, clock.instant()));
            assertThat(m.openIncidents()).isEmpty();
            assertThat(channel.next().type()).isEqualTo(Notice.Type.RESOLUTION);
        }
    }

    @Test
    void aStaleTargetOpensAnIncidentOnlyPastItsRpoAndTheNextBackupResolvesIt() throws Exception {
        try (IncidentManager m = manager().build()) {
            clock.plus(Duration.ofMinutes(59));
            m.evaluate(status("db", T0));
            assertThat(m.openIncidents()).as("59 min old against an RPO of 1 h").isEmpty();

            clock.plus(Duration.ofMinutes(2));
            m.evaluate(status("db", T0));
            assertThat(m.openIncidents()).singleElement().satisfies(i -> {
                assertThat(i.kind()).isEqualTo(Incident.Kind.RPO_AT_RISK);
                assertThat(i.id()).isEqualTo("drkit-db-rpo-at-risk-20261202T110100Z");
                assertThat(i.severity()).isEqualTo(Incident.Severity.ERROR);
                assertThat(i.impact()).contains("1h 1min old", "RPO objective of 1h 0min");
            });
            Notice initial = channel.next();
            assertThat(initial.type()).isEqualTo(Notice.Type.INITIAL);
            assertThat(initial.text())
                    .contains("INCIDENT: RPO at risk: db", "Severity: ERROR", "Affected Systems: db")
                    .contains("Start Time: 2026-12-02T11:01:00Z", "Next Update: 2026-12-02T12:01:00Z");

            m.evaluate(status("db", T0)); // still stale: the same incident, no second page
            assertThat(m.openIncidents()).hasSize(1);

            clock.plus(Duration.ofMinutes(4));
            m.onEvent(event(DrEvent.Type.BACKUP_SUCCEEDED, "db", "backup done"));
            assertThat(m.openIncidents()).isEmpty();
            Notice resolution = channel.next();
            assertThat(resolution.type()).isEqualTo(Notice.Type.RESOLUTION);
            assertThat(resolution.incident().endedAt()).isEqualTo(Instant.parse("2026-12-02T11:05:00Z"));
            assertThat(resolution.text())
                    .contains("RESOLVED: RPO at risk: db", "Duration: 4min 0s")
                    .contains(
                            "End Time: 2026-12-02T11:05:00Z", "Root Cause: no backup of db since 2026-12-02T10:00:00Z")
                    .contains("- backup 20261202T100000Z-abc123 succeeded");
        }
        assertThat(channel.all).hasSize(2);
        assertThat(reported)
                .extracting(DrEvent::type)
                .containsExactly(DrEvent.Type.INCIDENT_OPENED, DrEvent.Type.INCIDENT_RESOLVED);
        assertThat(reported.get(1).details())
                .containsEntry(DrEvent.INCIDENT_ID, "drkit-db-rpo-at-risk-20261202T110100Z");
    }

    @Test
    void aSmallerShareOfTheRpoWarnsBeforeTheObjectiveIsMissed() throws Exception {
        try (IncidentManager m = manager().rpoAtRisk(0.5).build()) {
            clock.plus(Duration.ofMinutes(29));
            m.evaluate(status("db", T0));
            assertThat(m.openIncidents()).isEmpty();
            clock.plus(Duration.ofMinutes(2));
            m.evaluate(status("db", T0));
            assertThat(m.openIncidents())
                    .singleElement()
                    .extracting(Incident::severity)
                    .isEqualTo(Incident.Severity.WARNING);
            m.evaluate(status("db", clock.instant().minusSeconds(60)));
            assertThat(m.openIncidents())
                    .as("resolved by a status whose newest backup is 1 min old")
                    .isEmpty();
        }
    }

    @Test
    void aTargetWithoutAnyBackupIsAtRiskAndOneWithoutAnRpoIsLeftAlone() {
        try (IncidentManager m = manager().build()) {
            m.evaluate(status("db", null));
            DrStatus noRpo = new DrStatus(
                    T0,
                    true,
                    List.of(new DrStatus.Target(
                            "files", null, null, null, null, true, null, null, null, null, null, true, true,
                            List.of())));
            m.evaluate(noRpo);
            assertThat(m.openIncidents()).singleElement().satisfies(i -> {
                assertThat(i.target()).isEqualTo("db");
                assertThat(i.impact()).contains("has no backup");
            });
        }
    }

    @Test
    void twoFailedBackupsInARowOpenAnIncidentWithTheFailureAsRootCause() throws Exception {
        try (IncidentManager m = manager().build()) {
            m.onEvent(event(DrEvent.Type.BACKUP_FAILED, "db", "pg_dump: connection refused"));
            assertThat(m.openIncidents())
                    .as("one failure is not yet an incident")
                    .isEmpty();
            m.onEvent(event(DrEvent.Type.BACKUP_SUCCEEDED, "db", "ok"));
            m.onEvent(event(DrEvent.Type.BACKUP_FAILED, "db", "pg_dump: connection refused"));
            assertThat(m.openIncidents())
                    .as("a success in between resets the count")
                    .isEmpty();

            clock.plus(Duration.ofMinutes(10));
            m.onEvent(event(DrEvent.Type.BACKUP_FAILED, "db", "pg_dump: disk full"));
            assertThat(m.openIncidents()).singleElement().satisfies(i -> {
                assertThat(i.kind()).isEqualTo(Incident.Kind.BACKUP_FAILURES);
                assertThat(i.rootCause()).isEqualTo("pg_dump: disk full");
                assertThat(i.impact()).startsWith("2 backups of db failed in a row");
            });
            m.onEvent(event(DrEvent.Type.BACKUP_FAILED, "db", "pg_dump: disk full"));
            assertThat(m.openIncidents())
                    .singleElement()
                    .extracting(Incident::status)
                    .isEqualTo("failing: 3 backups in a row");

            m.onEvent(event(DrEvent.Type.BACKUP_SUCCEEDED, "db", "ok"));
            assertThat(m.openIncidents()).isEmpty();
            assertThat(channel.next().type()).isEqualTo(Notice.Type.INITIAL);
            assertThat(channel.next().type()).isEqualTo(Notice.Type.RESOLUTION);
        }
    }

    @Test
    void aFailedVerificationOpensAnIncidentThatTheNextPassingOneResolves() throws Exception {
        try (IncidentManager m = manager().build()) {
            m.onEvent(event(DrEvent.Type.VERIFY_FAILED, "db", "checksum mismatch in base.tar"));
            m.onEvent(event(DrEvent.Type.VERIFY_FAILED, "db", "checksum mismatch in base.tar"));
            assertThat(m.openIncidents())
                    .singleElement()
                    .extracting(Incident::kind, Incident::rootCause)
                    .containsExactly(Incident.Kind.VERIFICATION_FAILED, "checksum mismatch in base.tar");
            m.onEvent(event(DrEvent.Type.VERIFY_SUCCEEDED, "other", "ok"));
            assertThat(m.openIncidents()).as("another target's success").hasSize(1);
            m.onEvent(event(DrEvent.Type.VERIFY_SUCCEEDED, "db", "ok"));
            assertThat(m.openIncidents()).isEmpty();
        }
        assertThat(channel.all).extracting(Notice::type).containsExactly(Notice.Type.INITIAL, Notice.Type.RESOLUTION);
    }

    @Test
    void aFailoverIsCriticalAFailedOneIsAnUpdateAtOnceAndASuccessfulOneResolves() throws Exception {
        try (IncidentManager m = manager().build()) {
            m.onEvent(new DrEvent(
                    DrEvent.Type.FAILOVER_STARTED,
                    "db",
                    null,
                    clock.instant(),
                    "failover of db started (dry run)",
                    Map.of(FailoverRun.DRY_RUN, true)));
            assertThat(m.openIncidents()).as("a dry run pages no one").isEmpty();
            m.onEvent(event(DrEvent.Type.FAILOVER_STARTED, "db", "primary 127.0.0.1:5432 down"));
            assertThat(m.openIncidents())
                    .singleElement()
                    .extracting(Incident::severity)
                    .isEqualTo(Incident.Severity.CRITICAL);
            clock.plus(Duration.ofMinutes(1));
            m.onEvent(event(DrEvent.Type.FAILOVER_FAILED, "db", "standby lags 3 GB"));
            clock.plus(Duration.ofMinutes(1));
            m.onEvent(event(DrEvent.Type.FAILOVER_COMPLETED, "db", "standby promoted"));
            assertThat(m.openIncidents()).isEmpty();
        }
        assertThat(channel.all)
                .extracting(Notice::type)
                .containsExactly(Notice.Type.INITIAL, Notice.Type.UPDATE, Notice.Type.RESOLUTION);
        assertThat(channel.all.get(1).text()).contains("Current Status: failover failed: standby lags 3 GB");
        assertThat(channel.all.get(2).text())
                .contains(
                        "Root Cause: primary 127.0.0.1:5432 down",
                        "Duration: 2min 0s",
                        "failover succeeded: standby promoted");
    }

    @Test
    void updatesRepeatAtTheIntervalWhileTheIncidentIsOpen() throws Exception {
        try (IncidentManager m = manager().updateEvery(Duration.ofMinutes(30)).build()) {
            m.onEvent(event(DrEvent.Type.VERIFY_FAILED, "db", "bad"));
            clock.plus(Duration.ofMinutes(29));
            m.evaluate(null);
            clock.plus(Duration.ofMinutes(1));
            m.evaluate(null); // due: 30 min after the initial notice
            m.evaluate(null); // not again at the same time
            clock.plus(Duration.ofMinutes(30));
            m.evaluate(null);
            assertThat(m.openIncidents())
                    .singleElement()
                    .extracting(Incident::lastNoticeAt)
                    .isEqualTo(Instant.parse("2026-12-02T11:00:00Z"));
        }
        assertThat(channel.all)
                .extracting(Notice::type)
                .containsExactly(Notice.Type.INITIAL, Notice.Type.UPDATE, Notice.Type.UPDATE);
        assertThat(channel.all.get(1).text())
                .contains("UPDATE: verification failed: db", "open for 30min 0s", "Next Update: 2026-12-02T11:00:00Z");
    }

    @Test
    void aRestartKeepsTheOpenIncidentsSoItNeitherPagesAgainNorForgetsToResolve() throws Exception {
        Path state = dir.resolve("state/incidents.json");
        try (IncidentManager m = manager().build()) {
            m.onEvent(event(DrEvent.Type.BACKUP_FAILED, "db", "one"));
            m.onEvent(event(DrEvent.Type.BACKUP_FAILED, "db", "two"));
            m.onEvent(event(DrEvent.Type.BACKUP_FAILED, "cache", "one"));
        }
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(state)))
                .isEqualTo("rw-------");
        assertThat(Files.list(state.getParent()))
                .as("no temporary file left, the lock file kept")
                .containsExactlyInAnyOrder(state, state.resolveSibling(".incidents.json.lock"));

        clock.plus(Duration.ofMinutes(20));
        try (IncidentManager again = manager().build()) {
            assertThat(again.openIncidents())
                    .singleElement()
                    .extracting(Incident::id)
                    .isEqualTo("drkit-db-backup-failures-20261202T100000Z");
            again.onEvent(event(DrEvent.Type.BACKUP_FAILED, "db", "three"));
            again.onEvent(event(DrEvent.Type.BACKUP_FAILED, "cache", "two")); // the count survived: 2 in a row
            again.onEvent(event(DrEvent.Type.BACKUP_SUCCEEDED, "db", "ok"));
        }
        assertThat(channel.all)
                .extracting(n -> n.type() + " " + n.incident().target())
                .containsExactly("INITIAL db", "INITIAL cache", "RESOLUTION db");
        assertThat(channel.all.get(2).text()).contains("Start Time: 2026-12-02T10:00:00Z", "Duration: 20min 0s");
    }

    @Test
    void aDamagedStateFileIsRefusedWithWhatToDo() throws Exception {
        Path state = Files.createDirectories(dir.resolve("state")).resolve("incidents.json");
        Files.writeString(state, "{\"version\": 1, \"open\": [{\"id\": null}]}");
        assertThatThrownBy(() -> manager().build())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(state.toString())
                .hasMessageContaining("move it aside");
    }

    @Test
    void rpoEventsDeclareOnlyWhenNoStatusIsWatched() throws Exception {
        try (IncidentManager m = manager().build()) {
            m.onEvent(event(DrEvent.Type.RPO_AT_RISK, "db", "RPO at risk for db: newest backup is 2h old"));
            assertThat(m.openIncidents())
                    .singleElement()
                    .extracting(Incident::rootCause)
                    .isEqualTo("RPO at risk for db: newest backup is 2h old");
        }
        try (IncidentManager watching =
                manager().stateFile(dir.resolve("other.json")).build()) {
            watching.watch(() -> status("db", clock.instant()), Duration.ofHours(1));
            watching.onEvent(event(DrEvent.Type.RPO_AT_RISK, "db", "from the scheduler's 100%"));
            assertThat(watching.openIncidents())
                    .as("the watched status decides")
                    .isEmpty();
        }
    }

    @Test
    void aNoticeThatCannotBeDeliveredIsRetriedThenReportedWithoutFailingTheEvent() throws Exception {
        RecordingChannel flaky = new RecordingChannel().failing(2);
        RecordingChannel down = new RecordingChannel().failing(100);
        try (IncidentManager m = IncidentManager.builder()
                .clock(clock)
                .channel(flaky)
                .channel(down)
                .listener(reporter())
                .delivery(3, Duration.ofMillis(5))
                .build()) {
            m.onEvent(event(DrEvent.Type.VERIFY_FAILED, "db", "bad"));
            assertThat(flaky.next().type()).as("delivered on the third attempt").isEqualTo(Notice.Type.INITIAL);
        }
        assertThat(flaky.attempts).isEqualTo(3);
        assertThat(down.attempts).isEqualTo(3);
        assertThat(reported)
                .filteredOn(e -> e.type() == DrEvent.Type.NOTICE_FAILED)
                .singleElement()
                .satisfies(e -> assertThat(e.message())
                        .contains(
                                "initial notice of incident drkit-db-verification-failed-",
                                "recording channel after 3 attempt(s): receiver down"));
    }

    @Test
    void aPasswordOrTokenInAnEventMessageNeverReachesANotice() throws Exception {
        try (IncidentManager m = manager().build()) {
            m.onEvent(
                    event(
                            DrEvent.Type.VERIFY_FAILED,
                            "db",
                            "restore test against postgresql://drkit:hunter2@db:5432/app?sslmode=require&password=s3cret failed"));
        }
        Notice n = channel.all.get(0);
        assertThat(n.text() + n.incident()).doesNotContain("hunter2", "s3cret").contains("postgresql://drkit:****@db");
    }

    @Test
    void settingsOutOfRangeAreRefusedAtTheCall() {
        IncidentManager.Builder b = IncidentManager.builder();
        assertThatThrownBy(() -> b.rpoAtRisk(0.01)).hasMessageContaining("0.1 to 10");
        assertThatThrownBy(() -> b.failedBackups(0)).hasMessageContaining("1 to 1000");
        assertThatThrownBy(() -> b.updateEvery(Duration.ZERO)).hasMessageContaining("at least 1s");
        assertThatThrownBy(() -> b.delivery(0, Duration.ofSeconds(1))).hasMessageContaining("1 to 20");
    }
}
