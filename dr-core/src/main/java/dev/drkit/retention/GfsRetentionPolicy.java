package dev.drkit.retention;

import dev.drkit.BackupManifest;
import dev.drkit.RetentionPlan;
import dev.drkit.RetentionPlan.Decision;
import dev.drkit.spi.RetentionPolicy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.ZonedDateTime;
import java.time.temporal.IsoFields;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.BiFunction;

/**
 * Grandfather-father-son retention with restic's {@code forget} semantics:
 *
 * <ul>
 *   <li>{@code keep-last n}: the n newest backups.</li>
 *   <li>{@code keep-hourly/daily/weekly/monthly/yearly n}: the newest backup in each of the
 *       last n hours/days/ISO weeks/months/years (UTC) that have backups; periods without a
 *       backup do not count. A count of -1 means every period.</li>
 *   <li>A rule that still has count left after the newest-per-period pass also keeps the
 *       oldest backup, so history is as long as the counts allow.</li>
 *   <li>{@code keep-within d}: every backup taken within d of the newest backup.</li>
 *   <li>Rules are OR-ed: a backup is kept when any rule keeps it, with every reason listed.</li>
 *   <li>Backups dated after the clock's now are never expired, and use up no count.</li>
 *   <li>A policy without rules expires nothing.</li>
 * </ul>
 * Immutable and thread-safe.
 */
public final class GfsRetentionPolicy implements RetentionPolicy {
    private final int last;
    private final int hourly;
    private final int daily;
    private final int weekly;
    private final int monthly;
    private final int yearly;
    private final Duration within;

    private GfsRetentionPolicy(Builder b) {
        this.last = b.last;
        this.hourly = b.hourly;
        this.daily = b.daily;
        this.weekly = b.weekly;
        this.monthly = b.monthly;
        this.yearly = b.yearly;
        this.within = b.within;
    }

    public static Builder builder() {
        return new Builder();
    }

    /**
     * How long to keep a new backup immutable (S3 Object Lock) under this policy: the
     * {@code keep-within} period, else the shortest time-based tier ({@code keep-hourly} N
     * hours, {@code keep-daily} N days, {@code keep-weekly} N weeks, {@code keep-monthly} N
     * months of 30 days, {@code keep-yearly} N years of 365 days). Every backup that tier keeps
     * is then protected for its whole stay in it, and none is held much longer than the policy
     * keeps it. Empty for a policy with only {@code keep-last}.
     */
    public Optional<Duration> lockPeriod() {
        if (within != null) {
            return Optional.of(within);
        }
        if (hourly > 0) {
            return Optional.of(Duration.ofHours(hourly));
        }
        if (daily > 0) {
            return Optional.of(Duration.ofDays(daily));
        }
        if (weekly > 0) {
            return Optional.of(Duration.ofDays(7L * weekly));
        }
        if (monthly > 0) {
            return Optional.of(Duration.ofDays(30L * monthly));
        }
        return yearly > 0 ? Optional.of(Duration.ofDays(365L * yearly)) : Optional.empty();
    }

    /** Whether no rule is set, so that nothing would be expired. */
    public boolean isEmpty() {
        return last == 0 && hourly == 0 && daily == 0 && weekly == 0 && monthly == 0 && yearly == 0 && within == null;
    }

    @Override
    public String describe() {
        List<String> parts = new ArrayList<>();
        add(parts, "keep-last", last);
        add(parts, "keep-hourly", hourly);
        add(parts, "keep-daily", daily);
        add(parts, "keep-weekly", weekly);
        add(parts, "keep-monthly", monthly);
        add(parts, "keep-yearly", yearly);
        if (within != null) {
            parts.add("keep-within " + written(within));
        }
        return parts.isEmpty() ? "no rules (keep everything)" : String.join(", ", parts);
    }

    /** A duration as settings take it ({@code 7d}, {@code 36h}, {@code 90min}), not ISO-8601's {@code PT168H}. */
    private static String written(Duration d) {
        if (d.isZero()) {
            return "0s";
        }
        if (d.toDaysPart() > 0 && d.equals(Duration.ofDays(d.toDays()))) {
            return d.toDays() + "d";
        }
        if (d.equals(Duration.ofHours(d.toHours()))) {
            return d.toHours() + "h";
        }
        if (d.equals(Duration.ofMinutes(d.toMinutes()))) {
            return d.toMinutes() + "min";
        }
        return d.toString();
    }

    private static void add(List<String> parts, String name, int n) {
        if (n != 0) {
            parts.add(name + " " + (n < 0 ? "all" : n));
        }
    }

    @Override
    public RetentionPlan plan(List<BackupManifest> backups, Clock clock) {
        List<BackupManifest> sorted = new ArrayList<>(backups);
        sorted.sort(Comparator.comparing(GfsRetentionPolicy::time)
                .thenComparing(BackupManifest::id)
                .reversed());
        Instant now = clock.instant();
        List<Rule> rules = List.of(
                new Rule("last", last, (t, nr) -> "#" + nr),
                new Rule("hourly", hourly, (t, nr) -> t.getYear() + "-" + t.getDayOfYear() + "T" + t.getHour()),
                new Rule("daily", daily, (t, nr) -> t.getYear() + "-" + t.getDayOfYear()),
                new Rule(
                        "weekly",
                        weekly,
                        (t, nr) -> t.get(IsoFields.WEEK_BASED_YEAR) + "-W" + t.get(IsoFields.WEEK_OF_WEEK_BASED_YEAR)),
                new Rule("monthly", monthly, (t, nr) -> t.getYear() + "-" + t.getMonthValue()),
                new Rule("yearly", yearly, (t, nr) -> String.valueOf(t.getYear())));

        List<BackupManifest> past =
                sorted.stream().filter(m -> !time(m).isAfter(now)).toList();
        Instant newest = past.isEmpty() ? null : time(past.get(0));
        List<Decision> decisions = new ArrayList<>();
        int nr = 0;
        for (BackupManifest m : sorted) {
            Instant t = time(m);
            List<String> reasons = new ArrayList<>();
            if (t.isAfter(now)) {
                decisions.add(new Decision(m.id(), t, true, List.of("dated in the future (" + t + "), never expired")));
                continue;
            }
            if (isEmpty()) {
                reasons.add("no retention rule given");
            }
            if (within != null && !t.isBefore(newest.minus(within))) {
                reasons.add("within " + written(within) + " of the newest backup");
            }
            ZonedDateTime zt = t.atZone(ZoneOffset.UTC);
            boolean oldest = nr == past.size() - 1;
            for (Rule rule : rules) {
                rule.offer(zt, nr, oldest, reasons);
            }
            boolean keep = !reasons.isEmpty();
            decisions.add(new Decision(m.id(), t, keep, keep ? reasons : List.of("matched no keep rule")));
            nr++;
        }
        return new RetentionPlan(describe(), decisions);
    }

    private static Instant time(BackupManifest m) {
        return m.startedAt() != null ? m.startedAt() : Instant.EPOCH;
    }

    /** One counted rule while a plan is made. */
    private static final class Rule {
        private final String name;
        private final int total;
        private final BiFunction<ZonedDateTime, Integer, String> bucket;
        private int left;
        private String lastBucket;

        Rule(String name, int count, BiFunction<ZonedDateTime, Integer, String> bucket) {
            this.name = name;
            this.total = count;
            this.left = count;
            this.bucket = bucket;
        }

        void offer(ZonedDateTime t, int nr, boolean oldest, List<String> reasons) {
            if (left == 0) {
                return;
            }
            String b = bucket.apply(t, nr);
            if (!Objects.equals(b, lastBucket)) {
                lastBucket = b;
                use(reasons, name);
            } else if (oldest) {
                use(reasons, "oldest " + name);
            }
        }

        private void use(List<String> reasons, String what) {
            if (left < 0) {
                reasons.add(what + " (all)");
                return;
            }
            left--;
            reasons.add(what + " " + (total - left) + "/" + total);
        }
    }

    /** Builds a policy; counts are >= 0, or -1 for "all periods". Not thread-safe. */
    public static final class Builder {
        private int last;
        private int hourly;
        private int daily;
        private int weekly;
        private int monthly;
        private int yearly;
        private Duration within;

        public Builder keepLast(int n) {
            this.last = check("keep-last", n);
            return this;
        }

        public Builder keepHourly(int n) {
            this.hourly = check("keep-hourly", n);
            return this;
        }

        public Builder keepDaily(int n) {
            this.daily = check("keep-daily", n);
            return this;
        }

        public Builder keepWeekly(int n) {
            this.weekly = check("keep-weekly", n);
            return this;
        }

        public Builder keepMonthly(int n) {
            this.monthly = check("keep-monthly", n);
            return this;
        }

        public Builder keepYearly(int n) {
            this.yearly = check("keep-yearly", n);
            return this;
        }

        public Builder keepWithin(Duration d) {
            if (d != null && d.isNegative()) {
                throw new IllegalArgumentException("keep-within must not be negative: " + d);
            }
            this.within = d;
            return this;
        }

        private static int check(String name, int n) {
            if (n < -1) {
                throw new IllegalArgumentException(name + " must be >= 0, or -1 for all: " + n);
            }
            return n;
        }

        public GfsRetentionPolicy build() {
            return new GfsRetentionPolicy(this);
        }
    }
}
