package dev.drkit.spi;

import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * One option a provider reads from its {@link dev.drkit.Settings}: its key, the type of its
 * value, whether it is required, repeatable or a secret, its default and what it does. Part of
 * an {@link OptionSchema}. Immutable and thread-safe.
 *
 * <p>A <em>family</em> option stands for every key that starts with its name and goes on with a
 * suffix ({@code tablespace-} for {@code tablespace-16384}); it is shown as {@code NAME*}.
 */
public final class OptionSpec {

    /** The type of an option's value, as the validator checks it. */
    public enum Type {
        /** Any text. */
        STRING,
        /** A whole number. */
        INT,
        /** A byte count such as {@code 16MiB} (see {@link dev.drkit.Settings#parseSize}). */
        SIZE,
        /** A duration such as {@code 36h} or {@code 7d} (see {@link dev.drkit.Settings#parseDuration}). */
        DURATION,
        /** {@code true} or {@code false} (also yes/no, on/off, 1/0). */
        BOOLEAN,
        /** A file system path. */
        PATH,
        /** A URI with a scheme, e.g. {@code redis://HOST:PORT}. */
        URI,
        /** An instant in ISO-8601 form, e.g. {@code 2025-01-03T14:05:00Z}. */
        TIMESTAMP,
        /** One of {@link #allowed()}, compared without regard to case. */
        ENUM;

        /** The name shown to people: {@code string}, {@code int}, ... */
        public String label() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final String name;
    private final Type type;
    private final List<String> allowed;
    private final String defaultValue;
    private final boolean required;
    private final boolean secret;
    private final boolean repeatable;
    private final boolean family;
    private final String description;

    private OptionSpec(Builder b) {
        this.name = b.name;
        this.type = b.type;
        this.allowed = List.copyOf(b.allowed);
        this.defaultValue = b.defaultValue;
        this.required = b.required;
        this.secret = b.secret;
        this.repeatable = b.repeatable;
        this.family = b.family;
        this.description = b.description;
    }

    /**
     * Starts an option.
     *
     * @param name the settings key, kebab-case ({@code to-database}); for a family, the prefix
     * @param type the type of its value
     * @throws IllegalArgumentException when the name is not kebab-case
     */
    public static Builder builder(String name, Type type) {
        return new Builder(name, type);
    }

    /** The settings key (for a family: the prefix). */
    public String name() {
        return name;
    }

    /** The key as shown to people: the name, or {@code NAME*} for a family. */
    public String displayName() {
        return family ? name + "*" : name;
    }

    public Type type() {
        return type;
    }

    /** The values an {@link Type#ENUM} option takes; empty for other types. */
    public List<String> allowed() {
        return allowed;
    }

    /** The value used when the option is not given, as text; empty when there is none or it is computed. */
    public Optional<String> defaultValue() {
        return Optional.ofNullable(defaultValue);
    }

    /** Whether a target needs it to back up (a backend or policy: to be created). */
    public boolean required() {
        return required;
    }

    /** Whether the value is a secret: never printed, never echoed in a message. */
    public boolean secret() {
        return secret;
    }

    /** Whether the key may be given several times, each value counting. */
    public boolean repeatable() {
        return repeatable;
    }

    /** Whether the option stands for every key starting with {@link #name()}. */
    public boolean family() {
        return family;
    }

    /** One sentence on what the option does. */
    public String description() {
        return description;
    }

    /** Whether a settings key is this option (or one of its family). */
    public boolean matches(String key) {
        return family ? key.startsWith(name) && key.length() > name.length() : key.equals(name);
    }

    @Override
    public String toString() {
        return displayName() + " (" + type.label() + ")";
    }

    /** Builds an {@link OptionSpec}; not thread-safe. */
    public static final class Builder {
        private final String name;
        private final Type type;
        private List<String> allowed = List.of();
        private String defaultValue;
        private boolean required;
        private boolean secret;
        private boolean repeatable;
        private boolean family;
        private String description = "";

        private Builder(String name, Type type) {
            Objects.requireNonNull(name, "name");
            if (!name.matches("[a-z0-9]+(-[a-z0-9]+)*-?")) {
                throw new IllegalArgumentException("option names are kebab-case: " + name);
            }
            this.name = name;
            this.type = Objects.requireNonNull(type, "type");
        }

        /** The values of an {@link Type#ENUM} option. */
        public Builder allowed(String... values) {
            this.allowed = List.of(values);
            return this;
        }

        /** The default, as text. */
        public Builder defaultValue(String value) {
            this.defaultValue = Objects.requireNonNull(value, "value");
            return this;
        }

        public Builder required() {
            this.required = true;
            return this;
        }

        public Builder secret() {
            this.secret = true;
            return this;
        }

        public Builder repeatable() {
            this.repeatable = true;
            return this;
        }

        /** Makes the option stand for every key that starts with its name. */
        public Builder family() {
            this.family = true;
            return this;
        }

        public Builder description(String text) {
            this.description = Objects.requireNonNull(text, "text");
            return this;
        }

        /**
         * @throws IllegalArgumentException when an enum has no values or another type has some
         */
        public OptionSpec build() {
            if ((type == Type.ENUM) == allowed.isEmpty()) {
                throw new IllegalArgumentException(
                        "option " + name + ": allowed values are given for enum options and only for them");
            }
            return new OptionSpec(this);
        }
    }
}
