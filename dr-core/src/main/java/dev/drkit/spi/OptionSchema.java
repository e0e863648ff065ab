package dev.drkit.spi;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The options a provider reads: what {@code drkit targets} lists, what the setup file and the
 * library check settings against (an unknown key is an error with a did-you-mean, a value must
 * fit its type, a required key must be there). A provider that publishes no schema is
 * {@linkplain #unchecked() unchecked}: its settings are passed on as given. Immutable and
 * thread-safe.
 */
public final class OptionSchema {
    private static final OptionSchema UNCHECKED = new OptionSchema(List.of(), false);
    private static final OptionSchema NONE = new OptionSchema(List.of(), true);

    private final List<OptionSpec> options;
    private final boolean checked;

    private OptionSchema(List<OptionSpec> options, boolean checked) {
        this.options = options;
        this.checked = checked;
    }

    /** The schema of a provider that does not say what it reads; nothing is checked. */
    public static OptionSchema unchecked() {
        return UNCHECKED;
    }

    /** A provider that reads no options: any key given is an error. */
    public static OptionSchema none() {
        return NONE;
    }

    /**
     * A checked schema of these options.
     *
     * @throws IllegalArgumentException when two options share a name
     */
    public static OptionSchema of(OptionSpec... options) {
        return of(List.of(options));
    }

    /** As {@link #of(OptionSpec...)}. */
    public static OptionSchema of(List<OptionSpec> options) {
        Map<String, OptionSpec> byName = new LinkedHashMap<>();
        for (OptionSpec o : options) {
            if (byName.put(o.name(), o) != null) {
                throw new IllegalArgumentException("option " + o.name() + " is listed twice");
            }
        }
        return new OptionSchema(List.copyOf(options), true);
    }

    /** Whether settings are checked against this schema (false for {@link #unchecked()}). */
    public boolean checked() {
        return checked;
    }

    /** The options, in the order the provider lists them. */
    public List<OptionSpec> options() {
        return options;
    }

    /** The option a settings key is, if any. */
    public Optional<OptionSpec> find(String key) {
        return options.stream().filter(o -> o.matches(key)).findFirst();
    }

    /**
     * This schema's options and then those of {@code other} that this one lacks (e.g. a target's
     * settings and its restore options, which a restore may be given together). Unchecked when
     * either is.
     */
    public OptionSchema plus(OptionSchema other) {
        if (!checked || !other.checked) {
            return UNCHECKED;
        }
        List<OptionSpec> all = new ArrayList<>(options);
        for (OptionSpec o : other.options) {
            if (all.stream().noneMatch(mine -> mine.name().equals(o.name()))) {
                all.add(o);
            }
        }
        return new OptionSchema(List.copyOf(all), true);
    }

    @Override
    public String toString() {
        return checked ? options.toString() : "unchecked";
    }
}
