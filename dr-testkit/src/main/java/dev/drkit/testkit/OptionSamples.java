package dev.drkit.testkit;

import dev.drkit.Settings;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;

/**
 * Settings that give every option of a schema a valid value of its type, so that a test shows a
 * provider accepts every option it publishes: a schema that drifts from what the code reads
 * fails there. Stateless.
 */
public final class OptionSamples {
    private OptionSamples() {}

    /**
     * Every option of {@code schema}, with the value {@code given} has for it, else a sample of its
     * type (a family option gets one key, its name followed by {@code 1}).
     */
    public static Settings everyOption(OptionSchema schema, Settings given) {
        Settings.Builder b = Settings.builder();
        for (OptionSpec o : schema.options()) {
            String key = o.family() ? o.name() + "1" : o.name();
            b.set(key, given.get(key).orElseGet(() -> sample(o)));
        }
        return b.build();
    }

    /** A valid value of an option's type: its default when it has one, else a plain sample. */
    public static String sample(OptionSpec o) {
        if (o.defaultValue().isPresent()) {
            return o.defaultValue().get();
        }
        return switch (o.type()) {
            case INT -> "1";
            case SIZE -> "16MiB";
            case DURATION -> "1h";
            case BOOLEAN -> "false";
            case PATH -> "/tmp/drkit-option-sample";
            case URI -> "scheme://localhost:1";
            case TIMESTAMP -> "2025-01-03T14:05:00Z";
            case ENUM -> o.allowed().get(0);
            default -> "sample";
        };
    }
}
