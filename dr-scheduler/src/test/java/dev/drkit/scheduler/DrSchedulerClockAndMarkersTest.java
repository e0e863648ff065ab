package dev.drkit.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrEvent;
import dev.drkit.DrKit;
import dev.drkit.DrListener;
import dev.drkit.setup.Setup;
import dev.drkit.setup.SetupFile;
import dev.drkit.testkit.MutableClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DrSchedulerClockAndMarkersTest {
    @TempDir
    Path dir;

    private Setup setup(String target) throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.writeString(data.resolve("app.conf"), "x=1\n");
        return SetupFile.load(
                Files.writeString(dir.resolve("drkit.yaml"), """
                repository: %s
                targets:
                  config:
                    type: files
                    path: %s
                    %s
                """.formatted(dir.resolve("repo"), data, target)));
    }

    /**
     * A step back of the clock (NTP correcting a clock that ran a minute fast) put the scheduler
     * before its last slot: the slot before that differs from the one tried, and has no marker
     * (it never ran), so the hourly verification (a restore test of a large database, maybe) ran
     * again a minute after it ended.
     */
    @Test
    void aSmallStepBackOfTheClockDoesNotRunTheVerificationAgain() throws Exception {
        Setup setup = setup("verify: { schedule: \"0 * * * *\", level: checksum }");
        MutableClock clock = new MutableClock(Instant.parse("2026-11-27T10:30:00Z"));
        List<DrEvent> events = new CopyOnWriteArrayList<>();
        try (DrKit kit = DrKit.builder()
                        .repository(dir.resolve("repo").toString())
                        .clock(clock)
                        .listener(new DrListener() {
                            @Override
                            public void onEvent(DrEvent e) {
                                events.add(e);
                            }
                        })
                        .build();
                DrScheduler s = DrScheduler.builder(kit, setup).clock(clock).manual()) {
            kit.backup(setup.target("config").spec());
            clock.set(Instant.parse("2026-11-27T11:00:20Z"));
            s.runDue(); // the 11:00 verification
            assertThat(events)
                    .filteredOn(e -> e.type() == DrEvent.Type.VERIFY_SUCCEEDED)
                    .hasSize(1);

            clock.set(Instant.parse("2026-11-27T10:59:50Z")); // stepped back 30 s
            s.runDue();
            clock.set(Instant.parse("2026-11-27T11:00:30Z"));
            s.runDue();
            assertThat(events)
                    .as("verifications between 11:00 and 12:00")
                    .filteredOn(e -> e.type() == DrEvent.Type.VERIFY_SUCCEEDED)
                    .hasSize(1);
        }
    }

    /**
     * Each slot leaves a marker object in the repository and nothing ever removes one: a minute
     * schedule leaves half a million objects a year per job (each an S3 PUT, then stored, listed
     * by whatever walks the repository).
     */
    @Test
    void oldCompletionMarkersAreRemoved() throws Exception {
        Setup setup = setup("schedule: \"0 * * * *\"");
        MutableClock clock = new MutableClock(Instant.parse("2026-11-01T10:00:30Z"));
        try (DrKit kit = DrKit.builder()
                        .repository(dir.resolve("repo").toString())
                        .clock(clock)
                        .build();
                DrScheduler s = DrScheduler.builder(kit, setup).clock(clock).manual()) {
            for (int hour = 10; hour < 14; hour++) {
                clock.set(Instant.parse("2026-11-01T%02d:00:30Z".formatted(hour)));
                s.runDue();
            }
            clock.set(Instant.parse("2026-12-01T10:00:30Z")); // a month later
            s.runDue();
            try (Stream<Path> markers = Files.list(dir.resolve("repo/status/jobs/backup-config"))) {
                assertThat(markers.map(p -> p.getFileName().toString()))
                        .as("markers a month after the first ones")
                        .containsExactly("20261201T100000Z.json");
            }
        }
    }

    /**
     * The objectives were checked when a minute had passed since the last check by the clock: a
     * clock stepped back (a host that booted a day fast, then NTP) stopped the checks until it
     * caught up, here for a day in which the target's only backup is dated in the future, so
     * status says it has none and nobody is told.
     */
    @Test
    void theObjectivesAreStillCheckedAfterTheClockSteppedBack() throws Exception {
        Setup setup = setup("objectives: { rpo: 2h }");
        MutableClock clock = new MutableClock(Instant.parse("2026-11-27T10:00:00Z"));
        List<DrEvent> events = new CopyOnWriteArrayList<>();
        try (DrKit kit = DrKit.builder()
                        .repository(dir.resolve("repo").toString())
                        .clock(clock)
                        .build();
                DrScheduler s = DrScheduler.builder(kit, setup)
                        .clock(clock)
                        .listener(new DrListener() {
                            @Override
                            public void onEvent(DrEvent e) {
                                events.add(e);
                            }
                        })
                        .manual()) {
            kit.backup(setup.target("config").spec());
            clock.set(Instant.parse("2026-11-27T10:00:30Z"));
            s.runDue();
            assertThat(events).noneMatch(e -> e.type() == DrEvent.Type.RPO_AT_RISK);

            clock.set(Instant.parse("2026-11-26T10:00:40Z")); // stepped back a day
            s.runDue();
            clock.set(Instant.parse("2026-11-26T10:02:00Z"));
            s.runDue();
            assertThat(kit.status(setup.targetObjectives()).targets().get(0).rpoMet())
                    .isFalse();
            assertThat(events)
                    .as("RPO at risk told within minutes of the step")
                    .anyMatch(e -> e.type() == DrEvent.Type.RPO_AT_RISK);
        }
    }
}
