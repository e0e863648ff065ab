package dev.drkit.spi.support;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;
import java.net.URI;
import java.net.URISyntaxException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Predicate;

/**
 * Checks settings against an {@link OptionSchema}, the one way the library, the setup file and
 * the CLI do it: an unknown key is an error that suggests the closest known one, a value must
 * fit its option's type, a key that takes one value must not be given several, and (when asked)
 * a required key must be there. Every problem is reported at once. Keys are named as
 * {@code setting 'KEY'}; a secret's value never appears. Stateless and thread-safe.
 */
public final class OptionValidator {
    private static final int MAX_DISTANCE = 3;

    private OptionValidator() {}

    /**
     * One problem with one key.
     *
     * @param key the settings key concerned
     * @param message what is wrong, naming the key
     */
    public record Problem(String key, String message) {}

    /**
     * Every problem of {@code settings} under {@code schema}; none when the schema is unchecked.
     *
     * @param subject what the settings configure, for messages (e.g. {@code target type 'redis'})
     * @param requireAll whether a missing required option is a problem
     */
    public static List<Problem> problems(String subject, OptionSchema schema, Settings settings, boolean requireAll) {
        return problems(subject, schema, settings, requireAll, key -> false);
    }

    /**
     * As {@link #problems(String, OptionSchema, Settings, boolean)}, but keys that
     * {@code knownElsewhere} accepts are not unknown (e.g. storage settings shared by every
     * backend the kit opens).
     */
    public static List<Problem> problems(
            String subject,
            OptionSchema schema,
            Settings settings,
            boolean requireAll,
            Predicate<String> knownElsewhere) {
        List<Problem> problems = new ArrayList<>();
        if (!schema.checked()) {
            return problems;
        }
        for (String key : settings.keys()) {
            Optional<OptionSpec> option = schema.find(key);
            if (option.isEmpty()) {
                if (!knownElsewhere.test(key)) {
                    problems.add(new Problem(key, unknown(subject, schema, key)));
                }
                continue;
            }
            List<String> values = settings.getAll(key);
            if (values.size() > 1 && !option.get().repeatable()) {
                problems.add(new Problem(
                        key,
                        subject + ": setting '" + key + "' takes one value but is given " + values.size() + " times"));
            }
            for (String value : values) {
                typeProblem(option.get(), key, value)
                        .ifPresent(m -> problems.add(new Problem(key, subject + ": " + m)));
            }
        }
        if (requireAll) {
            for (OptionSpec o : schema.options()) {
                if (o.required() && !o.family() && !settings.has(o.name())) {
                    problems.add(new Problem(
                            o.name(), subject + ": setting '" + o.name() + "' is required (" + o.description() + ")"));
                }
            }
        }
        return problems;
    }

    /**
     * Throws when {@code settings} have any problem under {@code schema}.
     *
     * @throws ConfigException listing every problem
     */
    public static void validate(String subject, OptionSchema schema, Settings settings, boolean requireAll) {
        throwIfAny(problems(subject, schema, settings, requireAll));
    }

    /** @throws ConfigException listing every problem, when there are any */
    public static void throwIfAny(List<Problem> problems) {
        if (!problems.isEmpty()) {
            throw new ConfigException(problems.stream().map(Problem::message).toList());
        }
    }

    /**
     * The known name closest to {@code key}: the same but for case, dashes and underscores
     * ({@code kmsKeyId} for {@code kms-key-id}), else the nearest within a few edits.
     */
    public static Optional<String> closest(String key, Collection<String> known) {
        String k = normalised(key);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String name : known) {
            int d = normalised(name).equals(k) ? 0 : distance(key.toLowerCase(Locale.ROOT), name);
            if (d < bestDistance) {
                best = name;
                bestDistance = d;
            }
        }
        int limit = Math.min(MAX_DISTANCE, Math.max(1, key.length() / 3));
        return bestDistance <= limit ? Optional.of(best) : Optional.empty();
    }

    private static String unknown(String subject, OptionSchema schema, String key) {
        List<String> names = schema.options().stream().map(OptionSpec::name).toList();
        String msg = subject + ": unknown setting '" + key + "'";
        Optional<String> near = closest(key, names);
        if (near.isPresent()) {
            return msg + "; did you mean setting '" + near.get() + "'?";
        }
        List<String> shown =
                schema.options().stream().map(OptionSpec::displayName).sorted().toList();
        return msg + "; known: " + (shown.isEmpty() ? "none" : String.join(", ", shown));
    }

    private static Optional<String> typeProblem(OptionSpec o, String key, String value) {
        // a URI may carry a password (redis://user:PASS@host, ?password=PASS) that no pattern finds when
        // it holds a space or another character that made the URI invalid: such a value is not quoted
        boolean mayHoldSecret = o.type() == OptionSpec.Type.URI
                && (value.contains("@") || !Settings.redact(value).equals(value));
        String shown = o.secret() || mayHoldSecret ? "" : ", not '" + value + "'";
        String what = "setting '" + key + "' must be ";
        switch (o.type()) {
            case INT:
                try {
                    Integer.parseInt(value.trim());
                    return Optional.empty();
                } catch (NumberFormatException e) {
                    return Optional.of(what + "a whole number" + shown);
                }
            case SIZE:
                return fails(() -> Settings.parseSize(key, value), what + "a size such as 16MiB" + shown);
            case DURATION:
                return fails(() -> Settings.parseDuration(key, value), what + "a duration such as 36h or 7d" + shown);
            case BOOLEAN:
                return fails(() -> Settings.of(Map.of(key, value)).bool(key, false), what + "true or false" + shown);
            case PATH:
                return value.isBlank() ? Optional.of(what + "a path, not empty") : Optional.empty();
            case URI:
                return uriProblem(value)
                        ? Optional.of(what + "a URI such as scheme://HOST:PORT" + shown)
                        : Optional.empty();
            case TIMESTAMP:
                return timestamp(value).isPresent()
                        ? Optional.empty()
                        : Optional.of(what + "a timestamp with a zone, e.g. 2025-01-03T14:05:00Z" + shown);
            case ENUM:
                return o.allowed().stream().anyMatch(a -> a.equalsIgnoreCase(value.trim()))
                        ? Optional.empty()
                        : Optional.of(what + "one of " + String.join(", ", o.allowed()) + shown);
            default:
                return Optional.empty();
        }
    }

    /** Parses an instant with a zone or offset ({@code 2025-01-03T14:05:00Z}, {@code 2025-01-03 14:05:00+01:00}). */
    public static Optional<Instant> timestamp(String text) {
        String t = text.trim().replace(' ', 'T');
        try {
            return Optional.of(OffsetDateTime.parse(t).toInstant());
        } catch (DateTimeParseException e) {
            try {
                return Optional.of(Instant.parse(t));
            } catch (DateTimeParseException e2) {
                return Optional.empty();
            }
        }
    }

    private static boolean uriProblem(String value) {
        try {
            return new URI(value.trim()).getScheme() == null;
        } catch (URISyntaxException e) {
            return true;
        }
    }

    private static Optional<String> fails(Runnable parse, String message) {
        try {
            parse.run();
            return Optional.empty();
        } catch (ConfigException e) {
            return Optional.of(message);
        }
    }

    private static String normalised(String key) {
        return key.toLowerCase(Locale.ROOT).replace("-", "").replace("_", "");
    }

    /** Levenshtein distance. */
    private static int distance(String a, String b) {
        int[] prev = new int[b.length() + 1];
        int[] cur = new int[b.length() + 1];
        for (int j = 0; j <= b.length(); j++) {
            prev[j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            cur[0] = i;
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                cur[j] = Math.min(Math.min(cur[j - 1] + 1, prev[j] + 1), prev[j - 1] + cost);
            }
            int[] t = prev;
            prev = cur;
            cur = t;
        }
        return prev[b.length()];
    }
}
