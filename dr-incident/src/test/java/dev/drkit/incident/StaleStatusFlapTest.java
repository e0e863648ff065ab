package dev.drkit.incident;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrEvent;
import dev.drkit.DrStatus;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The watcher takes the status outside the manager's lock (listing a repository may take
 * seconds) and then evaluates it. A backup that succeeds in between resolves the RPO incident,
 * and the status taken before it then declares the incident again: a second page for a target
 * that was just backed up, resolved again a minute later.
 */
class StaleStatusFlapTest {
    private static final Instant T0 = Instant.parse("2026-12-02T10:00:00Z");

    @Test
    void aStatusTakenBeforeTheBackupThatResolvedTheIncidentDoesNotDeclareItAgain() throws Exception {
        TestClock clock = new TestClock("2026-12-02T10:00:00Z");
        RecordingChannel channel = new RecordingChannel();
        try (IncidentManager m = IncidentManager.builder()
                .clock(clock)
                .channel(channel)
                .delivery(1, Duration.ofMillis(10))
                .build()) {
            clock.plus(Duration.ofMinutes(90));
            m.evaluate(IncidentManagerTest.status("db", T0)); // 1h 30min old: RPO incident
            assertThat(channel.next().type()).isEqualTo(Notice.Type.INITIAL);

            DrStatus takenBeforeTheBackup = IncidentManagerTest.status("db", T0); // the watcher's status.get() ...
            clock.plus(Duration.ofSeconds(5));
            m.onEvent(new DrEvent(
                    DrEvent.Type.BACKUP_SUCCEEDED, "db", "20261202T113005Z-new", clock.instant(), "done", Map.of()));
            assertThat(channel.next().type()).isEqualTo(Notice.Type.RESOLUTION);
            m.evaluate(takenBeforeTheBackup); // ... then evaluate(s) with what it took

            assertThat(m.openIncidents()).as("db was backed up 0 s ago").isEmpty();
        }
        assertThat(channel.all).extracting(Notice::type).containsExactly(Notice.Type.INITIAL, Notice.Type.RESOLUTION);
    }
}
