package dev.drkit.incident;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrStatus;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** An RPO incident must end once its condition no longer holds, not page every hour forever. */
class RpoIncidentWithoutObjectiveTest {
    @TempDir
    Path dir;

    private final TestClock clock = new TestClock("2026-12-02T10:00:00Z");
    private final RecordingChannel channel = new RecordingChannel();

    private static DrStatus status(Instant now, Instant newest, Long rpoSeconds) {
        return new DrStatus(
                now,
                rpoSeconds == null,
                List.of(new DrStatus.Target(
                        "db",
                        "20261202T020000Z-abc123",
                        newest,
                        null,
                        rpoSeconds,
                        rpoSeconds == null,
                        null,
                        null,
                        null,
                        null,
                        null,
                        true,
                        rpoSeconds == null,
                        List.of(),
                        List.of())));
    }

    @Test
    void anRpoIncidentIsResolvedWhenTheTargetNoLongerHasAnRpoObjective() throws Exception {
        try (IncidentManager m = IncidentManager.builder()
                .clock(clock)
                .stateFile(dir.resolve("incidents.json"))
                .channel(channel)
                .delivery(1, Duration.ofMillis(10))
                .build()) {
            Instant newest = Instant.parse("2026-12-02T02:00:00Z");
            m.evaluate(status(clock.instant(), newest, 3600L)); // 8 h old against 1 h: declared
            assertThat(m.openIncidents()).hasSize(1);
            assertThat(channel.next().type()).isEqualTo(Notice.Type.INITIAL);

            // the operator drops the objective (the target is now backed up weekly, on purpose)
            clock.plus(Duration.ofMinutes(5));
            m.evaluate(status(clock.instant(), newest, null));
            for (int h = 1; h <= 3; h++) {
                clock.plus(Duration.ofHours(1));
                m.evaluate(status(clock.instant(), newest, null));
            }
            assertThat(m.openIncidents())
                    .as("RPO incident of a target that no longer has an RPO objective, 3 h after the objective went")
                    .isEmpty();
        }
    }
}
