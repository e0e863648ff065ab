package dev.drkit.retention;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupManifest;
import dev.drkit.ConfigException;
import dev.drkit.RetentionPlan;
import dev.drkit.RetentionPlan.Decision;
import dev.drkit.Settings;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.TreeSet;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;

class GfsRetentionPolicyTest {
    private static final Clock NEW_YEAR = Clock.fixed(Instant.parse("2025-01-01T00:00:00Z"), ZoneOffset.UTC);

    private static BackupManifest backup(Instant t) {
        String id = t.toString().replaceAll("[-:]", "").replace(".000", "").replace("Z", "Z-000000");
        return new BackupManifest(
                1, id, "db", "files", "full", null, null, t, t.plusSeconds(60), "test", "h", List.of(), null);
    }

    private static BackupManifest at(String iso) {
        return backup(Instant.parse(iso));
    }

    private static Set<String> keptDays(RetentionPlan plan) {
        Set<String> days = new TreeSet<>();
        for (Decision d : plan.kept()) {
            days.add(d.time().atZone(ZoneOffset.UTC).toLocalDate().toString());
        }
        return days;
    }

    /** Daily backups at 02:00 through 2024, with a missing June, Dec 20-22 and Dec 28. */
    private static List<BackupManifest> yearWithGaps() {
        List<BackupManifest> out = new ArrayList<>();
        for (LocalDate d = LocalDate.of(2024, 1, 1); d.getYear() == 2024; d = d.plusDays(1)) {
            boolean gap = d.getMonthValue() == 6
                    || (d.getMonthValue() == 12
                            && (d.getDayOfMonth() >= 20 && d.getDayOfMonth() <= 22 || d.getDayOfMonth() == 28));
            if (!gap) {
                out.add(backup(d.atTime(2, 0).toInstant(ZoneOffset.UTC)));
            }
        }
        Collections.shuffle(out, new Random(1)); // order of the catalog must not matter
        return out;
    }

    @Test
    void dailyWeeklyMonthlyOverAYearWithGaps() {
        GfsRetentionPolicy policy = GfsRetentionPolicy.builder()
                .keepDaily(7)
                .keepWeekly(4)
                .keepMonthly(12)
                .build();
        RetentionPlan plan = policy.plan(yearWithGaps(), NEW_YEAR);

        assertThat(keptDays(plan))
                .containsExactlyInAnyOrder(
                        // daily 7: the seven newest days that have a backup (Dec 28 has none)
                        "2024-12-31",
                        "2024-12-30",
                        "2024-12-29",
                        "2024-12-27",
                        "2024-12-26",
                        "2024-12-25",
                        "2024-12-24",
                        // weekly 4: newest in ISO weeks 2025-W01 (Dec 31), W52 (Dec 29), W51 (Dec 19: 20-22 missing),
                        // W50
                        "2024-12-19",
                        "2024-12-15",
                        // monthly 12: eleven months have backups (no June) ...
                        "2024-11-30",
                        "2024-10-31",
                        "2024-09-30",
                        "2024-08-31",
                        "2024-07-31",
                        "2024-05-31",
                        "2024-04-30",
                        "2024-03-31",
                        "2024-02-29",
                        "2024-01-31",
                        // ... so the rule still has a count left and keeps the oldest backup
                        "2024-01-01");
        assertThat(plan.decisions()).hasSize(yearWithGaps().size());
        assertThat(plan.expired()).allSatisfy(d -> assertThat(d.reasons()).containsExactly("matched no keep rule"));
    }

    @Test
    void reasonsNameEveryRuleThatKeepsABackup() {
        RetentionPlan plan = GfsRetentionPolicy.builder()
                .keepDaily(7)
                .keepWeekly(4)
                .keepMonthly(12)
                .build()
                .plan(yearWithGaps(), NEW_YEAR);
        Decision newest = plan.decisions().get(0);
        assertThat(newest.time()).isEqualTo(Instant.parse("2024-12-31T02:00:00Z"));
        assertThat(newest.reasons()).containsExactly("daily 1/7", "weekly 1/4", "monthly 1/12");
        Decision oldest = plan.decisions().get(plan.decisions().size() - 1);
        assertThat(oldest.reasons()).containsExactly("oldest monthly 12/12");
    }

    @Test
    void ruleWithCountLeftKeepsTheOldestBackup() {
        List<BackupManifest> backups =
                List.of(at("2024-05-01T08:00:00Z"), at("2024-05-01T09:00:00Z"), at("2024-05-02T10:00:00Z"));
        RetentionPlan plan = GfsRetentionPolicy.builder().keepDaily(5).build().plan(backups, NEW_YEAR);

        assertThat(plan.expired()).isEmpty();
        assertThat(plan.decisions().get(2).reasons()).containsExactly("oldest daily 3/5");
    }

    @Test
    void exhaustedRuleDoesNotKeepTheOldest() {
        List<BackupManifest> backups =
                List.of(at("2024-05-01T08:00:00Z"), at("2024-05-02T08:00:00Z"), at("2024-05-03T08:00:00Z"));
        RetentionPlan plan = GfsRetentionPolicy.builder().keepDaily(2).build().plan(backups, NEW_YEAR);

        assertThat(keptDays(plan)).containsExactly("2024-05-02", "2024-05-03");
    }

    @Test
    void keepLastKeepsTheNewestN() {
        List<BackupManifest> backups =
                List.of(at("2024-05-01T08:00:00Z"), at("2024-05-01T08:30:00Z"), at("2024-05-01T09:00:00Z"));
        RetentionPlan plan = GfsRetentionPolicy.builder().keepLast(2).build().plan(backups, NEW_YEAR);

        assertThat(plan.kept())
                .extracting(Decision::time)
                .containsExactly(Instant.parse("2024-05-01T09:00:00Z"), Instant.parse("2024-05-01T08:30:00Z"));
        assertThat(plan.kept().get(0).reasons()).containsExactly("last 1/2");
    }

    @Test
    void futureDatedBackupsAreNeverExpiredAndUseNoCount() {
        List<BackupManifest> backups =
                List.of(at("2024-12-01T00:00:00Z"), at("2024-12-02T00:00:00Z"), at("2030-01-01T00:00:00Z"));
        RetentionPlan plan = GfsRetentionPolicy.builder().keepLast(1).build().plan(backups, NEW_YEAR);

        assertThat(plan.kept())
                .extracting(Decision::time)
                .containsExactly(Instant.parse("2030-01-01T00:00:00Z"), Instant.parse("2024-12-02T00:00:00Z"));
        assertThat(plan.kept().get(0).reasons().get(0)).contains("future");
        assertThat(plan.expired()).extracting(Decision::time).containsExactly(Instant.parse("2024-12-01T00:00:00Z"));
    }

    @Test
    void emptyPolicyExpiresNothing() {
        RetentionPlan plan = GfsRetentionPolicy.builder().build().plan(yearWithGaps(), NEW_YEAR);
        assertThat(plan.expired()).isEmpty();
        assertThat(plan.kept()).hasSize(yearWithGaps().size());
    }

    @Test
    void keepWithinIsRelativeToTheNewestBackup() {
        List<BackupManifest> backups = List.of(
                at("2024-06-01T00:00:00Z"),
                at("2024-06-08T00:00:00Z"),
                at("2024-06-09T12:00:00Z"),
                at("2024-06-10T00:00:00Z"));
        RetentionPlan plan = GfsRetentionPolicy.builder()
                .keepWithin(Duration.ofDays(2))
                .build()
                .plan(backups, NEW_YEAR);
        assertThat(keptDays(plan)).containsExactly("2024-06-08", "2024-06-09", "2024-06-10");
    }

    @Test
    void keepWithinIsSaidAsSettingsWriteIt() {
        for (String[] c : new String[][] {{"7d", "7d"}, {"36h", "36h"}, {"90min", "90min"}, {"1y", "365d"}}) {
            GfsRetentionPolicy p = GfsRetentionPolicy.builder()
                    .keepWithin(Settings.parseDuration("keep-within", c[0]))
                    .build();
            assertThat(p.describe()).isEqualTo("keep-within " + c[1]);
            assertThat(p.plan(List.of(at("2024-06-10T00:00:00Z")), NEW_YEAR)
                            .decisions()
                            .get(0)
                            .reasons())
                    .containsExactly("within " + c[1] + " of the newest backup");
        }
    }

    @Test
    void unlimitedCountKeepsEveryPeriod() {
        RetentionPlan plan =
                GfsRetentionPolicy.builder().keepMonthly(-1).build().plan(yearWithGaps(), NEW_YEAR);
        assertThat(plan.kept()).hasSize(11 + 1); // newest of each month with backups, plus the oldest
    }

    @Test
    void providerReportsEveryBadSettingAtOnce() {
        var provider = new GfsRetentionPolicyProvider();
        var settings = Settings.builder()
                .set("keep-daily", "seven")
                .set("keep-within", "soon")
                .set("keep-hours", "3")
                .build();
        Assertions.assertThatThrownBy(() -> provider.create(settings))
                .isInstanceOfSatisfying(
                        ConfigException.class, e -> assertThat(e.problems()).hasSize(3));
    }
}
