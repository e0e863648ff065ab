package dev.drkit.retention;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.spi.RetentionPolicy;
import dev.drkit.spi.RetentionPolicyProvider;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.IntConsumer;

/**
 * Provides {@link GfsRetentionPolicy} as {@code gfs}. Settings: {@code keep-last},
 * {@code keep-hourly}, {@code keep-daily}, {@code keep-weekly}, {@code keep-monthly},
 * {@code keep-yearly} (counts, -1 for all) and {@code keep-within} (a duration).
 */
public final class GfsRetentionPolicyProvider implements RetentionPolicyProvider {
    private static final Set<String> KEYS = Set.of(
            "keep-last", "keep-hourly", "keep-daily", "keep-weekly", "keep-monthly", "keep-yearly", "keep-within");

    @Override
    public String name() {
        return "gfs";
    }

    @Override
    public RetentionPolicy create(Settings s) {
        List<String> problems = new ArrayList<>();
        for (String k : s.keys()) {
            if (!KEYS.contains(k)) {
                problems.add("unknown retention setting '" + k + "'; known: " + String.join(", ", new TreeSet<>(KEYS)));
            }
        }
        GfsRetentionPolicy.Builder b = GfsRetentionPolicy.builder();
        count(s, "keep-last", problems, b::keepLast);
        count(s, "keep-hourly", problems, b::keepHourly);
        count(s, "keep-daily", problems, b::keepDaily);
        count(s, "keep-weekly", problems, b::keepWeekly);
        count(s, "keep-monthly", problems, b::keepMonthly);
        count(s, "keep-yearly", problems, b::keepYearly);
        try {
            s.duration("keep-within").ifPresent(b::keepWithin);
        } catch (RuntimeException e) {
            problems.add(e.getMessage());
        }
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return b.build();
    }

    private static void count(Settings s, String key, List<String> problems, IntConsumer set) {
        try {
            if (s.has(key)) {
                set.accept(s.integer(key, 0));
            }
        } catch (RuntimeException e) {
            problems.add(e.getMessage());
        }
    }
}
