package dev.drkit.retention;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.OptionSpec.Type;
import dev.drkit.spi.RetentionPolicy;
import dev.drkit.spi.RetentionPolicyProvider;
import dev.drkit.spi.support.OptionValidator;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntConsumer;

/**
 * Provides {@link GfsRetentionPolicy} as {@code gfs}. Settings: {@code keep-last},
 * {@code keep-hourly}, {@code keep-daily}, {@code keep-weekly}, {@code keep-monthly},
 * {@code keep-yearly} (counts, -1 for all) and {@code keep-within} (a duration).
 */
public final class GfsRetentionPolicyProvider implements RetentionPolicyProvider {
    private static final OptionSchema SCHEMA = OptionSchema.of(
            count("keep-last", "the newest N backups"),
            count("keep-hourly", "the last backup of each of the newest N hours"),
            count("keep-daily", "the last backup of each of the newest N days"),
            count("keep-weekly", "the last backup of each of the newest N weeks"),
            count("keep-monthly", "the last backup of each of the newest N months"),
            count("keep-yearly", "the last backup of each of the newest N years"),
            OptionSpec.builder("keep-within", Type.DURATION)
                    .description("every backup younger than this, e.g. 14d")
                    .build());

    private static OptionSpec count(String name, String keeps) {
        return OptionSpec.builder(name, Type.INT)
                .defaultValue("0")
                .description("keep " + keeps + " (-1 for all)")
                .build();
    }

    @Override
    public String name() {
        return "gfs";
    }

    @Override
    public OptionSchema schema() {
        return SCHEMA;
    }

    @Override
    public RetentionPolicy create(Settings s) {
        OptionValidator.validate("retention policy 'gfs'", SCHEMA, s, false);
        List<String> problems = new ArrayList<>();
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
