package dev.drkit.core.schedule;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupManifest;
import dev.drkit.DrEvent;
import dev.drkit.DrKit;
import dev.drkit.DrListener;
import dev.drkit.DrStatus;
import dev.drkit.core.config.Setup;
import dev.drkit.core.config.SetupFile;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DrSchedulerTest {
    @TempDir
    Path dir;

    /** A clock the test moves. */
    static final class MovableClock extends Clock {
        volatile Instant now;

        MovableClock(Instant now) {
            this.now = now;
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    @Test
    void twoInstancesRunEachScheduledTimeOnceCatchUpOnceAndKeepTheRetention() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.writeString(data.resolve("app.conf"), "x=1\n");
        Path repo = dir.resolve("repo");
        Setup setup = SetupFile.load(Files.writeString(dir.resolve("drkit.yaml"), """
                repository: %s
                targets:
                  config:
                    type: files
                    path: %s
                    schedule: "* * * * *"
                    retention: { keep-last: 2 }
                  manual:
                    type: files
                    path: %s
                    objectives: { rpo: 2min }
                """.formatted(repo, data, data)));
        MovableClock clock = new MovableClock(Instant.parse("2026-11-27T10:00:30Z"));
        List<DrEvent> events = new CopyOnWriteArrayList<>();
        DrListener listener = new DrListener() {
            @Override
            public void onEvent(DrEvent e) {
                events.add(e);
            }
        };
        try (DrKit a = DrKit.builder().repository(repo.toString()).clock(clock).listener(listener).build();
             DrKit b = DrKit.builder().repository(repo.toString()).clock(clock).build()) {
            a.backup(setup.target("manual").spec());
            try (DrScheduler sa = DrScheduler.start(a, setup, clock, Duration.ofMillis(20), Duration.ofSeconds(10));
                 DrScheduler sb = DrScheduler.start(b, setup, clock, Duration.ofMillis(20), Duration.ofSeconds(10))) {
                assertThat(sa.jobs()).containsExactly(Map.entry("backup-config", "* * * * *"));
                awaitMarkers(repo, 1);
                Thread.sleep(300); // both instances have looked at the 10:00 slot by now
                assertThat(a.list("config")).hasSize(1);

                clock.now = Instant.parse("2026-11-27T10:01:30Z");
                awaitMarkers(repo, 2);
                Thread.sleep(300);
                assertThat(a.list("config")).hasSize(2);

                // downtime: 10:02 to 10:05 were missed; one catch-up run, not four
                clock.now = Instant.parse("2026-11-27T10:05:30Z");
                awaitMarkers(repo, 3);
                Thread.sleep(500);
                List<BackupManifest> kept = a.list("config");
                assertThat(kept).hasSize(2); // keep-last 2 ran after the backup
                assertThat(kept).extracting(m -> m.startedAt().toString())
                        .containsExactly("2026-11-27T10:01:30Z", "2026-11-27T10:05:30Z");
                await(() -> events.stream().anyMatch(e -> e.type() == DrEvent.Type.RPO_AT_RISK));
            }
        }
        assertThat(events.stream().filter(e -> e.type() == DrEvent.Type.RPO_AT_RISK).map(DrEvent::target))
                .containsExactly("manual");
        assertThat(events.stream().filter(e -> e.type() == DrEvent.Type.BACKUP_SUCCEEDED
                && "config".equals(e.target()))).hasSizeLessThanOrEqualTo(3);
    }

    @Test
    void statusJudgesAgeAgainstTheRpoAndRecordsVerifications() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.writeString(data.resolve("app.conf"), "x=1\n");
        MovableClock clock = new MovableClock(Instant.parse("2026-11-27T10:00:00Z"));
        try (DrKit kit = DrKit.builder().repository(dir.resolve("repo").toString()).clock(clock).build()) {
            String id = kit.backup(dev.drkit.TargetSpec.files("config", data.toString())).id();
            kit.verify("config", id, dev.drkit.VerifyLevel.DECODE);
            clock.now = Instant.parse("2026-11-27T10:30:00Z");
            Map<String, dev.drkit.Objectives> objectives = Map.of("config",
                    new dev.drkit.Objectives(Duration.ofHours(1), null), "db", new dev.drkit.Objectives(null, null));
            DrStatus fresh = kit.status(objectives);
            DrStatus.Target config = fresh.targets().stream().filter(t -> t.name().equals("config")).findFirst().orElseThrow();
            assertThat(config.healthy()).isTrue();
            assertThat(config.newestBackupAgeSeconds()).isEqualTo(1800.0);
            assertThat(config.newestVerifiedId()).isEqualTo(id);
            assertThat(config.newestVerifiedLevel()).isEqualTo("decode");
            assertThat(fresh.healthy()).as("db has no backup").isFalse();
            assertThat(fresh.targets().stream().filter(t -> t.name().equals("db")).findFirst().orElseThrow().problems())
                    .containsExactly("no backup");

            clock.now = Instant.parse("2026-11-27T11:30:00Z");
            DrStatus stale = kit.status(Map.of("config", objectives.get("config")));
            assertThat(stale.healthy()).isFalse();
            assertThat(stale.targets().get(0).problems()).singleElement().asString().contains("is 5400 s old; the RPO is 3600 s");
        }
    }

    private static void awaitMarkers(Path repo, int n) throws InterruptedException {
        await(() -> {
            try (var s = Files.list(repo.resolve("status/jobs/backup-config"))) {
                return s.filter(p -> p.toString().endsWith(".json")).count() >= n;
            } catch (java.io.IOException e) {
                return false;
            }
        });
    }

    private static void await(BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within 30 s");
            }
            Thread.sleep(20);
        }
    }
}
