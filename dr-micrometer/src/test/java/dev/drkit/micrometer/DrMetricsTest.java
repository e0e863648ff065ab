package dev.drkit.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.within;

import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.DrEvent;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.DrStatus;
import dev.drkit.Objectives;
import dev.drkit.RestoreRequest;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.testkit.MutableClock;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.config.MeterFilter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DrMetricsTest {
    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-27T10:00:00Z"));
    private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
    private Path data;
    private TargetSpec config;
    private DrKit kit;

    @BeforeEach
    void kitWithMetrics() throws IOException {
        data = Files.createDirectories(dir.resolve("data"));
        Files.writeString(data.resolve("app.conf"), "port=8080\n".repeat(200));
        Files.writeString(data.resolve("secrets.env"), "TOKEN=abc\n");
        config = TargetSpec.files("config", data.toString());
        kit = DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .clock(clock)
                .listener(new DrMetrics(registry, clock))
                .build();
    }

    @AfterEach
    void close() {
        kit.close();
    }

    @Test
    void backupsAreTimedAndTheirBytesCountedPerTargetAndType() {
        List<BackupManifest> manifests = new ArrayList<>();
        manifests.add(kit.backup(config).manifest());
        clock.advance(Duration.ofMinutes(1));
        manifests.add(kit.backup(config).manifest());

        Timer backups = registry.get("drkit.backup")
                .tags("target", "config", "type", "files", "outcome", "success")
                .timer();
        assertThat(backups.count()).isEqualTo(2);
        assertThat(backups.totalTime(TimeUnit.NANOSECONDS)).isPositive();
        assertThat(registry.find("drkit.backup").tag("outcome", "failure").timer())
                .isNull();
        assertThat(registry.get("drkit.backup.read")
                        .tags("target", "config", "type", "files")
                        .counter()
                        .count())
                .isEqualTo((double)
                        manifests.stream().mapToLong(BackupManifest::rawSize).sum())
                .isGreaterThan(2000);
        assertThat(registry.get("drkit.backup.stored")
                        .tags("target", "config", "type", "files")
                        .counter()
                        .count())
                .isEqualTo((double)
                        manifests.stream().mapToLong(BackupManifest::storedSize).sum());
        assertThat(registry.get("drkit.backup.read").counter().getId().getBaseUnit())
                .isEqualTo("bytes");
    }

    @Test
    void aFailedBackupIsTimedAsAFailureAndCountsNoBytes() throws IOException {
        kit.backup(config);
        double read = registry.get("drkit.backup.read").counter().count();
        Files.delete(data.resolve("app.conf"));
        Files.delete(data.resolve("secrets.env"));
        Files.delete(data);

        assertThatThrownBy(() -> kit.backup(config)).isInstanceOf(DrException.class);

        assertThat(registry.get("drkit.backup")
                        .tags("target", "config", "type", "files", "outcome", "failure")
                        .timer()
                        .count())
                .isEqualTo(1);
        assertThat(registry.get("drkit.backup")
                        .tags("outcome", "success")
                        .timer()
                        .count())
                .isEqualTo(1);
        assertThat(registry.get("drkit.backup.read").counter().count()).isEqualTo(read);
    }

    @Test
    void theLastVerificationGaugeFollowsPassedAndFailedVerifications() throws IOException {
        BackupResult backup = kit.backup(config);
        assertThat(gauge("drkit.verify.last.passed")).isNaN();

        assertThat(kit.verify("config", backup.id(), VerifyLevel.CHECKSUM).passed())
                .isTrue();
        assertThat(verifications("success").count()).isEqualTo(1);
        assertThat(gauge("drkit.verify.last.passed")).isEqualTo(1.0);

        flipAByteOf(dir.resolve("repo/backups/config/" + backup.id() + "/files.tar.zst"));
        assertThat(kit.verify("config", backup.id(), VerifyLevel.CHECKSUM).passed())
                .isFalse();
        assertThat(verifications("failure").count()).isEqualTo(1);
        assertThat(verifications("success").count()).isEqualTo(1);
        assertThat(gauge("drkit.verify.last.passed")).isEqualTo(0.0);
    }

    @Test
    void aRestoreIsTimed() throws IOException {
        BackupResult backup = kit.backup(config);

        kit.restore(RestoreRequest.files("config", backup.id(), dir.resolve("restored")));

        assertThat(registry.get("drkit.restore")
                        .tags("target", "config", "type", "files", "outcome", "success")
                        .timer()
                        .count())
                .isEqualTo(1);
        assertThat(registry.find("drkit.restore").tag("outcome", "failure").timer())
                .isNull();
    }

    @Test
    void aRestoreTestSetsTheMeasuredRestoreTimeThatStatusShows() {
        BackupResult backup = kit.backup(config);
        assertThat(gauge("drkit.restore.test.duration")).isNaN();

        assertThat(kit.verify("config", backup.id(), VerifyLevel.RESTORE).passed())
                .isTrue();

        Double shown = kit.status(Map.of()).targets().get(0).lastRestoreTestSeconds();
        assertThat(shown).isNotNull();
        assertThat(gauge("drkit.restore.test.duration")).isEqualTo(shown);
        assertThat(registry.get("drkit.verify")
                        .tags("level", "restore", "outcome", "success")
                        .timer()
                        .count())
                .isEqualTo(1);
    }

    @Test
    void theAgeOfTheNewestBackupGrowsWithTheClock() {
        kit.backup(config);
        assertThat(gauge("drkit.backup.last.success.age")).isEqualTo(0.0, within(1e-9));

        clock.advance(Duration.ofSeconds(90));

        assertThat(gauge("drkit.backup.last.success.age")).isEqualTo(90.0, within(1e-9));
        assertThat(registry.get("drkit.backup.last.success.age").gauge().getId().getBaseUnit())
                .isEqualTo("seconds");
    }

    @Test
    void aStatusSetsTheGaugesWithoutAnyEvent() throws IOException {
        BackupResult backup = kit.backup(config);
        kit.verify("config", backup.id(), VerifyLevel.RESTORE);
        clock.advance(Duration.ofSeconds(90));
        SimpleMeterRegistry fresh = new SimpleMeterRegistry();
        DrMetrics restarted = new DrMetrics(fresh, clock);

        DrStatus status = kit.status(Map.of(
                "config", new Objectives(Duration.ofHours(1), null),
                "db", new Objectives(Duration.ofMinutes(15), null)));
        restarted.record(status);

        assertThat(gauge(fresh, "drkit.backup.last.success.age", "config")).isEqualTo(90.0, within(1e-9));
        assertThat(gauge(fresh, "drkit.backup.rpo.objective", "config")).isEqualTo(3600.0);
        assertThat(gauge(fresh, "drkit.verify.last.passed", "config")).isEqualTo(1.0);
        assertThat(gauge(fresh, "drkit.restore.test.duration", "config"))
                .isEqualTo(status.targets().get(0).lastRestoreTestSeconds());
        // a target with an objective and no backup yet: its gauges exist, the age is unknown
        assertThat(gauge(fresh, "drkit.backup.rpo.objective", "db")).isEqualTo(900.0);
        assertThat(gauge(fresh, "drkit.backup.last.success.age", "db")).isNaN();
        assertThat(gauge(fresh, "drkit.verify.last.passed", "db")).isNaN();
        assertThat(fresh.find("drkit.backup").timers()).isEmpty();

        flipAByteOf(dir.resolve("repo/backups/config/" + backup.id() + "/files.tar.zst"));
        kit.verify("config", backup.id(), VerifyLevel.CHECKSUM);
        restarted.record(kit.status(Map.of()));
        assertThat(gauge(fresh, "drkit.verify.last.passed", "config")).isEqualTo(0.0);
        assertThat(gauge(fresh, "drkit.backup.rpo.objective", "config")).isNaN();
    }

    @Test
    void theRecoveryPointAgeFollowsWhatWasArchivedPastTheNewestBackup() throws IOException {
        MeterRegistry own = new SimpleMeterRegistry();
        DrMetrics metrics = new DrMetrics(own, clock);
        kit.addListener(metrics);
        kit.backup(config);
        clock.advance(Duration.ofHours(3));
        // a status of a target whose WAL was archived ten minutes ago (what a PostgreSQL provider says)
        DrStatus.Target t = kit.status(Map.of()).targets().get(0);
        metrics.record(new DrStatus(
                clock.instant(),
                true,
                List.of(new DrStatus.Target(
                        t.name(),
                        t.newestBackupId(),
                        t.newestBackupAt(),
                        t.newestBackupAgeSeconds(),
                        null,
                        true,
                        null,
                        null,
                        null,
                        null,
                        null,
                        true,
                        true,
                        List.of(),
                        List.of(),
                        clock.instant().minus(Duration.ofMinutes(10)))),
                List.of(),
                List.of()));
        assertThat(gauge(own, "drkit.backup.last.success.age", "config")).isEqualTo(3 * 3600.0, within(1e-6));
        assertThat(gauge(own, "drkit.recovery.point.age", "config")).isEqualTo(600.0, within(1e-6));
        clock.advance(Duration.ofMinutes(5));
        assertThat(gauge(own, "drkit.recovery.point.age", "config")).isEqualTo(900.0, within(1e-6));
        // a backup newer than that point: the age is the backup's
        kit.backup(config);
        assertThat(gauge(own, "drkit.recovery.point.age", "config")).isEqualTo(0.0, within(1e-6));
        // a status that names no point past the newest backup: the backup's age
        clock.advance(Duration.ofMinutes(1));
        metrics.record(kit.status(Map.of()));
        assertThat(gauge(own, "drkit.recovery.point.age", "config")).isEqualTo(60.0, within(1e-6));
    }

    @Test
    void aStatusTakenAfterTheNewestBackupWasDeletedAgesTheGauge() throws IOException {
        MeterRegistry own = new SimpleMeterRegistry();
        DrMetrics metrics = new DrMetrics(own, clock);
        kit.addListener(metrics);
        kit.backup(config);
        clock.advance(Duration.ofMinutes(10));
        BackupResult newer = kit.backup(config);
        assertThat(gauge(own, "drkit.backup.last.success.age", "config")).isEqualTo(0.0, within(1e-9));

        // an expiry rule, a hand, another instance's prune
        FileTrees.delete(dir.resolve("repo/backups/config/" + newer.id()));
        clock.advance(Duration.ofSeconds(30));
        metrics.record(kit.status(Map.of()));

        assertThat(gauge(own, "drkit.backup.last.success.age", "config"))
                .as("the newest backup left is 10 min 30 s old")
                .isEqualTo(630.0, within(1e-6));
    }

    @Test
    void aStatusTakenBeforeAnEventDoesNotUndoIt() throws IOException {
        BackupResult backup = kit.backup(config);
        kit.verify("config", backup.id(), VerifyLevel.CHECKSUM);
        DrStatus passed = kit.status(Map.of());
        MeterRegistry own = new SimpleMeterRegistry();
        DrMetrics metrics = new DrMetrics(own, clock);
        kit.addListener(metrics);
        clock.advance(Duration.ofSeconds(1));
        flipAByteOf(dir.resolve("repo/backups/config/" + backup.id() + "/files.tar.zst"));
        kit.verify("config", backup.id(), VerifyLevel.CHECKSUM);

        metrics.record(passed);

        assertThat(gauge(own, "drkit.verify.last.passed", "config")).isEqualTo(0.0);
    }

    @Test
    void aFailingRegistryNeverReachesTheKit() {
        kit.backup(config);
        SimpleMeterRegistry broken = new SimpleMeterRegistry();
        broken.config().meterFilter(new MeterFilter() {
            @Override
            public Meter.Id map(Meter.Id id) {
                throw new IllegalStateException("registry is broken");
            }
        });
        DrMetrics metrics = new DrMetrics(broken, clock);
        DrEvent succeeded = new DrEvent(
                DrEvent.Type.BACKUP_SUCCEEDED,
                "config",
                "20261127T100000Z-abcdef",
                clock.instant(),
                "backup complete",
                Map.of(DrEvent.TARGET_TYPE, "files", DrEvent.SECONDS, 1.5, DrEvent.RAW_BYTES, 10L));

        assertThatCode(() -> metrics.onEvent(succeeded)).doesNotThrowAnyException();
        assertThatCode(() -> metrics.record(kit.status(Map.of("config", new Objectives(null, null)))))
                .doesNotThrowAnyException();
        assertThat(broken.getMeters()).isEmpty();
        // the same broken registry behind a real kit: the backup still succeeds
        try (DrKit other = DrKit.builder()
                .repository(dir.resolve("other").toString())
                .listener(metrics)
                .build()) {
            assertThat(other.backup(config).manifest().rawSize()).isPositive();
        }
    }

    @Test
    void eventsFromSeveralThreadsAreAllCounted() throws Exception {
        DrMetrics metrics = new DrMetrics(registry, clock);
        int threads = 4;
        int each = 250;
        CountDownLatch start = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                String target = "t" + (t % 2);
                done.add(pool.submit(() -> {
                    start.await();
                    for (int i = 0; i < each; i++) {
                        metrics.onEvent(new DrEvent(
                                DrEvent.Type.BACKUP_SUCCEEDED,
                                target,
                                null,
                                clock.instant(),
                                "backup complete",
                                Map.of(DrEvent.TARGET_TYPE, "files", DrEvent.SECONDS, 0.5, DrEvent.RAW_BYTES, 3L)));
                    }
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : done) {
                f.get(30, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        for (String target : List.of("t0", "t1")) {
            Timer timer = registry.get("drkit.backup").tag("target", target).timer();
            assertThat(timer.count()).isEqualTo(2L * each);
            assertThat(timer.totalTime(TimeUnit.MILLISECONDS)).isEqualTo(2 * each * 500.0);
            assertThat(registry.get("drkit.backup.read")
                            .tag("target", target)
                            .counter()
                            .count())
                    .isEqualTo(2 * each * 3.0);
            assertThat(registry.find("drkit.backup.last.success.age")
                            .tag("target", target)
                            .gauges())
                    .hasSize(1);
        }
    }

    @Test
    void commonTagsGoOnEveryMeterAndMayNotHideTheirOwn() {
        MeterRegistry registry = new SimpleMeterRegistry();
        DrMetrics metrics = new DrMetrics(registry, clock, Tags.of("repository", "main"));
        metrics.onEvent(new DrEvent(
                DrEvent.Type.VERIFY_FAILED,
                "db",
                null,
                clock.instant(),
                "failed",
                Map.of(DrEvent.TARGET_TYPE, "postgres", DrEvent.LEVEL, "DECODE", DrEvent.SECONDS, 2.0)));

        assertThat(registry.get("drkit.verify")
                        .tags("repository", "main", "target", "db", "type", "postgres", "level", "decode")
                        .tags("outcome", "failure")
                        .timer()
                        .count())
                .isEqualTo(1);
        assertThat(registry.get("drkit.verify.last.passed")
                        .tags("repository", "main", "target", "db")
                        .gauge()
                        .value())
                .isEqualTo(0.0);
        assertThatThrownBy(() -> new DrMetrics(registry, clock, Tags.of("outcome", "x")))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("outcome");
    }

    private Timer verifications(String outcome) {
        return registry.get("drkit.verify")
                .tags("target", "config", "type", "files", "level", "checksum", "outcome", outcome)
                .timer();
    }

    private double gauge(String name) {
        return gauge(registry, name, "config");
    }

    /** The value of the target's gauge, which must be registered. */
    private static double gauge(MeterRegistry registry, String name, String target) {
        return registry.get(name).tag("target", target).gauge().value();
    }

    private static void flipAByteOf(Path file) throws IOException {
        byte[] bytes = Files.readAllBytes(file);
        bytes[bytes.length / 2] ^= 0x5a;
        Files.write(file, bytes);
    }
}
