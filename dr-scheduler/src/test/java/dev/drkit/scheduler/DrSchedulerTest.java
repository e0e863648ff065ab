package dev.drkit.scheduler;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrEvent;
import dev.drkit.DrKit;
import dev.drkit.DrListener;
import dev.drkit.DrStatus;
import dev.drkit.Objectives;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.setup.Setup;
import dev.drkit.setup.SetupFile;
import dev.drkit.storage.FileStorageBackend;
import dev.drkit.testkit.MutableClock;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DrSchedulerTest {
    @TempDir
    Path dir;

    @Test
    void aVerificationDueBeforeAnyBackupWaitsForOneAndThenVerifiesIt() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.writeString(data.resolve("app.conf"), "x=1\n");
        Path repo = dir.resolve("repo");
        Setup setup = SetupFile.load(Files.writeString(dir.resolve("drkit.yaml"), """
                repository: %s
                targets:
                  config:
                    type: files
                    path: %s
                    verify: { schedule: "* * * * *", level: checksum }
                """.formatted(repo, data)));
        MutableClock clock = new MutableClock(Instant.parse("2026-11-27T10:00:30Z"));
        List<DrEvent> events = new CopyOnWriteArrayList<>();
        try (DrKit kit = DrKit.builder()
                        .repository(repo.toString())
                        .clock(clock)
                        .listener(recordingInto(events))
                        .build();
                DrScheduler s = DrScheduler.builder(kit, setup).clock(clock).manual()) {
            s.runDue();
            assertThat(events)
                    .noneMatch(
                            e -> e.type() == DrEvent.Type.VERIFY_FAILED || e.type() == DrEvent.Type.VERIFY_SUCCEEDED);

            String id = kit.backup(setup.target("config").spec()).id();
            clock.set(Instant.parse("2026-11-27T10:01:30Z"));
            s.runDue();
            assertThat(events)
                    .filteredOn(e -> e.type() == DrEvent.Type.VERIFY_SUCCEEDED)
                    .extracting(DrEvent::backupId)
                    .containsExactly(id);
        }
    }

    /**
     * A host that gives the kit its own storage (a Spring customizer does) while the setup names
     * another repository: the jobs' locks and markers must go where the backups go, or two
     * instances sharing that storage would each run every job.
     */
    @Test
    void theJobsLocksAndMarkersGoToTheStorageTheKitWasGiven() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.writeString(data.resolve("app.conf"), "x=1\n");
        Path named = dir.resolve("named");
        Path given = dir.resolve("given");
        Setup setup = SetupFile.load(Files.writeString(dir.resolve("drkit.yaml"), """
                repository: %s
                targets:
                  config:
                    type: files
                    path: %s
                    schedule: "* * * * *"
                """.formatted(named, data)));
        MutableClock clock = new MutableClock(Instant.parse("2026-11-27T10:00:30Z"));
        try (FileStorageBackend storage = new FileStorageBackend(given);
                DrKit kit = DrKit.builder()
                        .repository(named.toString())
                        .storage(storage)
                        .clock(clock)
                        .build();
                DrScheduler s = DrScheduler.builder(kit, setup).clock(clock).manual()) {
            clock.set(Instant.parse("2026-11-27T10:01:30Z"));
            s.runDue();
            assertThat(kit.list("config")).hasSize(1);
            assertThat(markers(given)).isEqualTo(1);
            assertThat(named).doesNotExist();
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
        MutableClock clock = new MutableClock(Instant.parse("2026-11-27T10:00:30Z"));
        List<DrEvent> eventsA = new CopyOnWriteArrayList<>();
        List<DrEvent> eventsB = new CopyOnWriteArrayList<>();
        try (DrKit a = DrKit.builder()
                        .repository(repo.toString())
                        .clock(clock)
                        .listener(recordingInto(eventsA))
                        .build();
                DrKit b = DrKit.builder()
                        .repository(repo.toString())
                        .clock(clock)
                        .listener(recordingInto(eventsB))
                        .build()) {
            a.backup(setup.target("manual").spec());
            try (DrScheduler sa = DrScheduler.builder(a, setup)
                            .clock(clock)
                            .grace(Duration.ofSeconds(10))
                            .listener(recordingInto(eventsA))
                            .manual();
                    DrScheduler sb = DrScheduler.builder(b, setup)
                            .clock(clock)
                            .grace(Duration.ofSeconds(10))
                            .listener(recordingInto(eventsB))
                            .manual()) {
                assertThat(sa.jobs()).containsExactly(Map.entry("backup-config", "* * * * *"));
                bothLookForDueJobs(sa, sb);
                assertThat(a.list("config"))
                        .extracting(m -> m.startedAt().toString())
                        .containsExactly("2026-11-27T10:00:30Z");
                bothLookForDueJobs(sa, sb); // the same slot again: nothing new
                assertThat(a.list("config")).hasSize(1);

                clock.set(Instant.parse("2026-11-27T10:01:30Z"));
                bothLookForDueJobs(sa, sb);
                assertThat(a.list("config")).hasSize(2);

                // downtime: 10:02 to 10:05 were missed; one catch-up run, not four
                clock.set(Instant.parse("2026-11-27T10:05:30Z"));
                bothLookForDueJobs(sa, sb);
                assertThat(a.list("config"))
                        .extracting(m -> m.startedAt().toString()) // keep-last 2 ran after it
                        .containsExactly("2026-11-27T10:01:30Z", "2026-11-27T10:05:30Z");
                assertThat(markers(repo)).isEqualTo(3);
            }
        }
        List<DrEvent> events = new ArrayList<>(eventsA);
        events.addAll(eventsB);
        assertThat(events.stream()
                        .filter(e -> e.type() == DrEvent.Type.BACKUP_SUCCEEDED && "config".equals(e.target())))
                .hasSize(3);
        // each instance warns once, when the manual target's newest backup passed its 2 min RPO
        assertThat(eventsA.stream().filter(e -> e.type() == DrEvent.Type.RPO_AT_RISK))
                .singleElement()
                .satisfies(e -> {
                    assertThat(e.target()).isEqualTo("manual");
                    assertThat(e.at()).isEqualTo(Instant.parse("2026-11-27T10:05:30Z"));
                });
        assertThat(eventsB.stream()
                        .filter(e -> e.type() == DrEvent.Type.RPO_AT_RISK)
                        .map(DrEvent::target))
                .containsExactly("manual");
    }

    private static DrListener recordingInto(List<DrEvent> events) {
        return new DrListener() {
            @Override
            public void onEvent(DrEvent e) {
                events.add(e);
            }
        };
    }

    /**
     * Both instances look for due jobs at the same moment and run them to the end, then each
     * once more as their next ticks would: two that met at the slot's lock may both have
     * backed off (BUSY), and the slot must still run exactly once.
     */
    private static void bothLookForDueJobs(DrScheduler sa, DrScheduler sb) throws Exception {
        var start = new CountDownLatch(1);
        var ra = CompletableFuture.runAsync(() -> runDue(sa, start));
        var rb = CompletableFuture.runAsync(() -> runDue(sb, start));
        start.countDown();
        ra.get(60, TimeUnit.SECONDS);
        rb.get(60, TimeUnit.SECONDS);
        sa.runDue();
        sb.runDue();
    }

    private static void runDue(DrScheduler s, CountDownLatch start) {
        try {
            start.await();
            s.runDue();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void statusJudgesAgeAgainstTheRpoAndRecordsVerifications() throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.writeString(data.resolve("app.conf"), "x=1\n");
        MutableClock clock = new MutableClock(Instant.parse("2026-11-27T10:00:00Z"));
        try (DrKit kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .clock(clock)
                .build()) {
            String id = kit.backup(TargetSpec.files("config", data.toString())).id();
            kit.verify("config", id, VerifyLevel.DECODE);
            clock.set(Instant.parse("2026-11-27T10:30:00Z"));
            Map<String, Objectives> objectives =
                    Map.of("config", new Objectives(Duration.ofHours(1), null), "db", new Objectives(null, null));
            DrStatus fresh = kit.status(objectives);
            DrStatus.Target config = fresh.targets().stream()
                    .filter(t -> t.name().equals("config"))
                    .findFirst()
                    .orElseThrow();
            assertThat(config.healthy()).isTrue();
            assertThat(config.newestBackupAgeSeconds()).isEqualTo(1800.0);
            assertThat(config.newestVerifiedId()).isEqualTo(id);
            assertThat(config.newestVerifiedLevel()).isEqualTo("decode");
            assertThat(fresh.healthy()).as("db has no backup").isFalse();
            assertThat(fresh.targets().stream()
                            .filter(t -> t.name().equals("db"))
                            .findFirst()
                            .orElseThrow()
                            .problems())
                    .containsExactly("no backup");

            clock.set(Instant.parse("2026-11-27T11:30:00Z"));
            DrStatus stale = kit.status(Map.of("config", objectives.get("config")));
            assertThat(stale.healthy()).isFalse();
            assertThat(stale.targets().get(0).problems())
                    .singleElement()
                    .asString()
                    .contains("is 5400 s old; the RPO is 3600 s");
        }
    }

    private static long markers(Path repo) throws IOException {
        try (var s = Files.list(repo.resolve("status/jobs/backup-config"))) {
            return s.filter(p -> p.toString().endsWith(".json")).count();
        }
    }
}
