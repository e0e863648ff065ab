package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.DrStatus.CheckState;
import dev.drkit.DrStatus.ChecklistItem;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.EncryptionStage;
import dev.drkit.spi.RestoreContext;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The recovery testing schedule and the per-target verification checklist of {@link DrKit#status}. */
class StatusScheduleTest {
    @TempDir
    Path dir;

    private final MutableClock clock = new MutableClock(Instant.parse("2026-11-02T02:00:00Z"));

    /** A target of any type name that writes its settings' {@code size} bytes. */
    static final class SizedTarget implements BackupTarget {
        private final String type;
        private final Settings settings;

        SizedTarget(String type, Settings settings) {
            this.type = type;
            this.settings = settings;
        }

        @Override
        public String type() {
            return type;
        }

        @Override
        public Set<Capability> capabilities() {
            return EnumSet.of(Capability.FULL);
        }

        @Override
        public void backup(BackupContext context) throws IOException {
            try (OutputStream out = context.newArtifact("data.bin")) {
                out.write(new byte[settings.integer("size", 0)]);
            }
        }

        @Override
        public void restore(RestoreContext context) throws IOException {
            context.openArtifact("data.bin").close();
        }
    }

    record SizedProvider(String type) implements BackupTargetProvider {
        @Override
        public BackupTarget create(Settings settings) {
            return new SizedTarget(type, settings);
        }
    }

    private DrKit kit(EncryptionStage encryption) {
        return DrKit.builder()
                .repository(dir.resolve("repo").toString())
                .register(new SizedProvider("postgres-logical"))
                .register(new SizedProvider("files-like"))
                .register(new DrKitTest.TimedRestoreVerifier())
                .encryption(encryption)
                .clock(clock)
                .build();
    }

    private BackupResult backup(DrKit kit, String name, String type, int size) {
        BackupResult r = kit.backup(new TargetSpec(name, type, Settings.of(Map.of("size", String.valueOf(size)))));
        clock.advance(Duration.ofMinutes(1)); // ids resolve to the second
        return r;
    }

    @Test
    void theScheduleComesFromVerificationsAndRecordedTestsAndTurnsOverdue() {
        try (DrKit kit = kit(null)) {
            BackupResult db = backup(kit, "db", "postgres-logical", 1000);
            BackupResult conf = backup(kit, "conf", "files-like", 1000);
            kit.verify("conf", conf.id(), VerifyLevel.RESTORE); // not a database: no database restore
            Instant restoredConfAt = clock.instant();
            clock.advance(Duration.ofHours(1));

            DrStatus before = kit.status(Map.of(), TestSchedule.plan());
            assertThat(before.scheduled(RecoveryTest.DATABASE_RESTORE)
                            .orElseThrow()
                            .lastExecuted())
                    .isNull();
            assertThat(before.scheduled(RecoveryTest.DATABASE_RESTORE)
                            .orElseThrow()
                            .overdue())
                    .isTrue();
            DrStatus.ScheduledTest integrity =
                    before.scheduled(RecoveryTest.BACKUP_INTEGRITY).orElseThrow();
            assertThat(integrity.lastExecuted()).isEqualTo(restoredConfAt);
            assertThat(integrity.lastPassed()).isTrue();
            assertThat(integrity.lastDetail()).isEqualTo("conf: restore verification of " + conf.id());
            assertThat(integrity.nextDue()).isEqualTo(restoredConfAt.plus(Duration.ofDays(1)));
            assertThat(integrity.overdue()).isFalse();

            kit.verify("db", db.id(), VerifyLevel.RESTORE);
            Instant restoredDbAt = clock.instant();
            kit.recordTest(RecoveryTest.FAILOVER, true, Duration.ofMinutes(3), "standby promoted in a dry run");
            Instant failoverAt = clock.instant();

            DrStatus now = kit.status(Map.of(), TestSchedule.plan().with(RecoveryTest.FAILOVER, Duration.ofDays(14)));
            DrStatus.ScheduledTest restore =
                    now.scheduled(RecoveryTest.DATABASE_RESTORE).orElseThrow();
            assertThat(restore.lastExecuted()).isEqualTo(restoredDbAt);
            assertThat(restore.nextDue()).isEqualTo(restoredDbAt.plus(Duration.ofDays(7)));
            assertThat(restore.overdue()).isFalse();
            DrStatus.ScheduledTest failover =
                    now.scheduled(RecoveryTest.FAILOVER).orElseThrow();
            assertThat(failover.lastExecuted()).isEqualTo(failoverAt);
            assertThat(failover.lastDetail()).isEqualTo("standby promoted in a dry run");
            assertThat(failover.every()).isEqualTo(Duration.ofDays(14));
            assertThat(failover.nextDue()).isEqualTo(failoverAt.plus(Duration.ofDays(14)));
            assertThat(now.scheduled(RecoveryTest.FULL_RECOVERY).orElseThrow().lastExecuted())
                    .isNull();
            DrStatus.Target dbTarget = target(now, "db");
            assertThat(dbTarget.check(ChecklistItem.RESTORE_TEST_PASSING)
                            .orElseThrow()
                            .state())
                    .isEqualTo(CheckState.PASSED);

            clock.advance(Duration.ofDays(8));
            DrStatus later = kit.status(Map.of(), TestSchedule.plan());
            assertThat(later.scheduled(RecoveryTest.DATABASE_RESTORE)
                            .orElseThrow()
                            .overdue())
                    .isTrue();
            assertThat(later.scheduled(RecoveryTest.FAILOVER).orElseThrow().overdue())
                    .isFalse();
            DrStatus.Check stale = target(later, "db")
                    .check(ChecklistItem.RESTORE_TEST_PASSING)
                    .orElseThrow();
            assertThat(stale.state()).isEqualTo(CheckState.FAILED);
            assertThat(stale.detail()).contains("passed 8 days ago").contains("due every 7 days");
            assertThat(target(later, "db")
                            .check(ChecklistItem.INTEGRITY_CHECKS_PASSING)
                            .orElseThrow()
                            .state())
                    .isEqualTo(CheckState.FAILED);
            // overdue tests are reported, not turned into health problems
            assertThat(target(later, "db").healthy()).isTrue();
        }
    }

    @Test
    void theSizeCheckFlagsAnEmptyBackupAndOneFarSmallerThanTheMedian() {
        try (DrKit kit = kit(null)) {
            for (int size : new int[] {1000, 1100, 900, 1000}) {
                backup(kit, "db", "postgres-logical", size);
            }
            DrStatus.Check fine = target(kit.status(Map.of()), "db")
                    .check(ChecklistItem.SIZE_REASONABLE)
                    .orElseThrow();
            assertThat(fine.state()).isEqualTo(CheckState.PASSED);

            backup(kit, "db", "postgres-logical", 100);
            DrStatus.Target small = target(kit.status(Map.of()), "db");
            DrStatus.Check flagged = small.check(ChecklistItem.SIZE_REASONABLE).orElseThrow();
            assertThat(flagged.state()).isEqualTo(CheckState.FAILED);
            assertThat(flagged.detail())
                    .contains("holds 100 B")
                    .contains("90% less than the median 1000 B of the 4 full backups before it");
            assertThat(small.healthy()).isFalse();
            assertThat(small.problems()).contains(flagged.detail());

            backup(kit, "db", "postgres-logical", 0);
            DrStatus.Check empty = target(kit.status(Map.of()), "db")
                    .check(ChecklistItem.SIZE_REASONABLE)
                    .orElseThrow();
            assertThat(empty.state()).isEqualTo(CheckState.FAILED);
            assertThat(empty.detail()).endsWith("is empty (0 bytes)");

            backup(kit, "db", "postgres-logical", 5000);
            assertThat(target(kit.status(Map.of()), "db")
                            .check(ChecklistItem.SIZE_REASONABLE)
                            .orElseThrow()
                            .detail())
                    .contains("holds 4.9 KiB, 5.3x the median 950 B of the 6 full backups");
        }
    }

    @Test
    void aMissingOrTruncatedArtifactMakesTheNewestBackupInaccessible() throws IOException {
        try (DrKit kit = kit(null)) {
            backup(kit, "db", "postgres-logical", 1000);
            BackupResult newest = backup(kit, "db", "postgres-logical", 1000);
            DrStatus.Target ok = target(kit.status(Map.of()), "db");
            assertThat(ok.check(ChecklistItem.BACKUPS_ACCESSIBLE).orElseThrow().state())
                    .isEqualTo(CheckState.PASSED);
            assertThat(ok.healthy()).isTrue();

            Path folder = dir.resolve("repo/backups/db/" + newest.id());
            Path artifact;
            try (Stream<Path> files = Files.list(folder)) {
                artifact = files.filter(p -> p.getFileName().toString().startsWith("data.bin")
                                && !p.toString().endsWith(".sha256"))
                        .findFirst()
                        .orElseThrow();
            }
            byte[] bytes = Files.readAllBytes(artifact);
            Files.delete(artifact);
            Files.write(artifact, java.util.Arrays.copyOf(bytes, bytes.length - 1));
            DrStatus.Target truncated = target(kit.status(Map.of()), "db");
            DrStatus.Check c = truncated.check(ChecklistItem.BACKUPS_ACCESSIBLE).orElseThrow();
            assertThat(c.state()).isEqualTo(CheckState.FAILED);
            assertThat(c.detail()).contains(artifact.getFileName() + " holds " + (bytes.length - 1) + " bytes");
            assertThat(truncated.healthy()).isFalse();

            Files.delete(artifact);
            assertThat(target(kit.status(Map.of()), "db")
                            .check(ChecklistItem.BACKUPS_ACCESSIBLE)
                            .orElseThrow()
                            .detail())
                    .contains(artifact.getFileName() + " is missing");
        }
    }

    @Test
    void encryptionIsJudgedFromTheNewestManifestAgainstWhatIsConfigured() {
        try (DrKit plain = kit(null)) {
            backup(plain, "db", "postgres-logical", 10);
            assertThat(target(plain.status(Map.of()), "db")
                            .check(ChecklistItem.ENCRYPTION_WORKING)
                            .orElseThrow()
                            .state())
                    .isEqualTo(CheckState.UNKNOWN);
        }
        try (DrKit encrypting = kit(new XorStage(List.of("ops-key-1")))) {
            DrStatus.Check notYet = target(encrypting.status(Map.of()), "db")
                    .check(ChecklistItem.ENCRYPTION_WORKING)
                    .orElseThrow();
            assertThat(notYet.state()).isEqualTo(CheckState.FAILED);
            assertThat(notYet.detail()).contains("1 of 1 artifact(s) not encrypted");
            backup(encrypting, "db", "postgres-logical", 10);
            DrStatus.Check works = target(encrypting.status(Map.of()), "db")
                    .check(ChecklistItem.ENCRYPTION_WORKING)
                    .orElseThrow();
            assertThat(works.state()).isEqualTo(CheckState.PASSED);
            assertThat(works.detail()).endsWith("is encrypted to ops-key-1");
        }
        try (DrKit rotated = kit(new XorStage(List.of("ops-key-2")))) {
            DrStatus.Check other = target(rotated.status(Map.of()), "db")
                    .check(ChecklistItem.ENCRYPTION_WORKING)
                    .orElseThrow();
            assertThat(other.state()).isEqualTo(CheckState.FAILED);
            assertThat(other.detail()).contains("not to the configured ops-key-2");
        }
    }

    @Test
    void aRecordedTestNoteIsOneShortLine() {
        try (DrKit kit = kit(null)) {
            backup(kit, "db", "postgres-logical", 10);
            assertThatThrownBy(() -> kit.recordTest(RecoveryTest.FULL_RECOVERY, true, Duration.ZERO, "a\nb"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("one line");
            assertThatThrownBy(() -> kit.recordTest(RecoveryTest.FULL_RECOVERY, true, Duration.ZERO, "x".repeat(201)))
                    .isInstanceOf(ConfigException.class);
            kit.recordTest(RecoveryTest.FULL_RECOVERY, false, Duration.ofMinutes(40), "quarterly exercise");
            DrStatus.ScheduledTest full = kit.status(Map.of(), TestSchedule.plan())
                    .scheduled(RecoveryTest.FULL_RECOVERY)
                    .orElseThrow();
            assertThat(full.lastPassed()).isFalse();
            assertThat(full.nextDue()).isEqualTo(clock.instant().plus(Duration.ofDays(91)));
        }
        assertThatThrownBy(() -> RecoveryTest.parse("failovr"))
                .hasMessageContaining("failover")
                .hasMessageContaining("full-recovery");
        assertThat(RecoveryTest.parse("Full-Recovery")).isEqualTo(RecoveryTest.FULL_RECOVERY);
    }

    private static DrStatus.Target target(DrStatus status, String name) {
        return status.targets().stream()
                .filter(t -> t.name().equals(name))
                .findFirst()
                .orElseThrow();
    }

    /** An encryption stage that flips every byte, naming the given recipients. */
    record XorStage(List<String> recipients) implements EncryptionStage {
        @Override
        public String codecName() {
            return "xor";
        }

        @Override
        public String extension() {
            return ".xor";
        }

        @Override
        public OutputStream encrypt(OutputStream stored, String name) {
            return new FilterOutputStream(stored) {
                @Override
                public void write(int b) throws IOException {
                    out.write(b ^ 0xff);
                }
            };
        }
    }
}
