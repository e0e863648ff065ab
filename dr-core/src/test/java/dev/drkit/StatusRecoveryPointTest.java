package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.FileArchive;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Function;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A target whose data goes on being archived after its newest backup (PostgreSQL's WAL): status
 * judges the RPO against how far that archive reaches, as its type's provider says.
 */
class StatusRecoveryPointTest {
    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-02T02:00:00Z"));

    /** What the provider answers: a time, an exception to throw, or nothing. */
    private final AtomicReference<Object> answer = new AtomicReference<>();

    private final class ArchivingProvider implements BackupTargetProvider {
        @Override
        public String type() {
            return "archiving";
        }

        @Override
        public BackupTarget create(Settings settings) {
            return new StatusScheduleTest.SizedTarget("archiving", settings);
        }

        @Override
        public Optional<Instant> recoveryPoint(BackupManifest newest, Function<String, FileArchive> archive)
                throws IOException {
            Object a = answer.get();
            if (a instanceof IOException e) {
                throw e;
            }
            if (a instanceof RuntimeException e) {
                throw e;
            }
            return Optional.ofNullable((Instant) a);
        }
    }

    private DrKit kit() {
        return DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new ArchivingProvider())
                .clock(clock)
                .build();
    }

    private static final Map<String, Objectives> HOURLY = Map.of("db", new Objectives(Duration.ofHours(1), null));

    @Test
    void theRpoIsJudgedOnWhatWasArchivedSinceTheNewestBackup() {
        try (DrKit kit = kit()) {
            BackupResult b = kit.backup(new TargetSpec("db", "archiving", Settings.of(Map.of("size", "10"))));
            Instant end = b.manifest().finishedAt();
            clock.advance(Duration.ofHours(5));

            // a daily base backup five hours old, with data archived ten minutes ago: the RPO holds
            answer.set(clock.instant().minus(Duration.ofMinutes(10)));
            DrStatus.Target fresh = kit.status(HOURLY).targets().get(0);
            assertThat(fresh.rpoMet()).isTrue();
            assertThat(fresh.healthy()).as(fresh.problems().toString()).isTrue();
            assertThat(fresh.recoveryPointAt()).isEqualTo(clock.instant().minus(Duration.ofMinutes(10)));
            assertThat(fresh.newestBackupAgeSeconds()).isEqualTo(5 * 3600.0);

            // the archive stopped growing two hours ago: the RPO is missed, and the problem says on what
            answer.set(clock.instant().minus(Duration.ofHours(2)));
            DrStatus.Target stale = kit.status(HOURLY).targets().get(0);
            assertThat(stale.rpoMet()).isFalse();
            assertThat(stale.problems())
                    .singleElement()
                    .asString()
                    .contains("newest backup " + b.id() + " is 18000 s old")
                    .contains("the newest data archived since ("
                            + clock.instant().minus(Duration.ofHours(2)) + ") is 7200 s old")
                    .contains("the RPO is 3600 s");

            // a time before the backup's end is nothing past it; nor is no answer
            answer.set(end.minus(Duration.ofMinutes(1)));
            DrStatus.Target before = kit.status(HOURLY).targets().get(0);
            assertThat(before.recoveryPointAt()).isNull();
            assertThat(before.rpoMet()).isFalse();
            answer.set(null);
            assertThat(kit.status(HOURLY).targets().get(0).recoveryPointAt()).isNull();
        }
    }

    @Test
    void aTargetWithAnObjectiveAndNoBackupHasNoRecoveryPoint() {
        try (DrKit kit = kit()) {
            kit.backup(new TargetSpec("other", "archiving", Settings.of(Map.of("size", "10"))));
            answer.set(clock.instant());
            DrStatus.Target t = kit.status(HOURLY).targets().stream()
                    .filter(x -> x.name().equals("db"))
                    .findFirst()
                    .orElseThrow();
            assertThat(t.rpoMet()).isFalse();
            assertThat(t.recoveryPointAt()).isNull();
            assertThat(t.problems()).containsExactly("no backup");
        }
    }

    @Test
    void aProviderThatCannotTellLeavesTheRpoToTheBackup() {
        try (DrKit kit = kit()) {
            kit.backup(new TargetSpec("db", "archiving", Settings.of(Map.of("size", "10"))));
            clock.advance(Duration.ofMinutes(30));
            for (Object failure : List.of(new IOException("the storage is away"), new IllegalStateException("a bug"))) {
                answer.set(failure);
                DrStatus.Target t = kit.status(HOURLY).targets().get(0);
                assertThat(t.recoveryPointAt()).as(failure.toString()).isNull();
                assertThat(t.rpoMet()).as(failure.toString()).isTrue(); // the backup itself is 30 min old
            }
            clock.advance(Duration.ofHours(1));
            assertThat(kit.status(HOURLY).targets().get(0).rpoMet()).isFalse();
        }
    }

    @Test
    void aRecoveryPointInTheFutureIsNoneSinceItWouldMeetEveryRpoForGood() {
        try (DrKit kit = kit()) {
            kit.backup(new TargetSpec("db", "archiving", Settings.of(Map.of("size", "10"))));
            clock.advance(Duration.ofHours(2));
            answer.set(clock.instant().plus(Duration.ofHours(1))); // a clock ahead, a forged time
            DrStatus.Target ahead = kit.status(HOURLY).targets().get(0);
            assertThat(ahead.recoveryPointAt()).isNull();
            assertThat(ahead.rpoMet()).isFalse();
            // within the tolerated skew it is believed
            answer.set(clock.instant().plus(Duration.ofMinutes(2)));
            DrStatus.Target skewed = kit.status(HOURLY).targets().get(0);
            assertThat(skewed.recoveryPointAt()).isEqualTo(clock.instant().plus(Duration.ofMinutes(2)));
            assertThat(skewed.rpoMet()).isTrue();
        }
    }
}
