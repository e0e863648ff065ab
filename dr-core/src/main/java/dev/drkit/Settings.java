package dev.drkit;

import java.net.URI;
import java.net.URLDecoder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Immutable string settings with typed accessors: the options of a target, a backend, a
 * retention policy or a verifier. A key may hold several values ({@code path} given twice).
 *
 * <p>Keys that name secrets ({@code password}, {@code secret}, {@code token},
 * {@code passphrase}, {@code credentials}) are redacted by {@link #toString()}. Secrets should
 * still be passed as file paths ({@code password-file}) rather than values.
 *
 * <p>Accessors that find a malformed value throw {@link ConfigException} naming the key.
 */
public final class Settings {
    private static final Settings EMPTY = new Settings(Map.of());
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*((?:[kKmMgGtT](?:i?[bB])?)|[bB]|)");
    private static final Pattern DURATION = Pattern.compile("(\\d+)\\s*(ms|min|mo|s|m|h|d|w|y)");
    /**
     * The longest duration a setting may hold: far beyond any retention or objective, and short
     * enough that a time plus or minus it stays a time (an {@link java.time.Instant} spans about
     * a billion years either way).
     */
    private static final Duration MAX_DURATION = Duration.ofDays(365L * 10_000);

    private static final Set<String> SECRET_WORDS = Set.of("password", "secret", "token", "passphrase", "credentials");

    // a password inside a value: redis://user:PASS@host, jdbc:...?password=PASS
    /** Oracle's thin URLs give user/password@ without "://". */
    private static final Pattern THIN_USER_PASSWORD = Pattern.compile("(jdbc:oracle:[a-z]+:[^/@\\s:]*/)\\S*@");

    private static final Pattern USERINFO_PASSWORD = Pattern.compile("(://[^/?#@:\\s]*:)[^/?#@\\s]+@");
    private static final Pattern QUERY_SECRET = Pattern.compile(
            "(?i)([?&;][^=&;\\s]*(?:password|secret|token|passphrase|credentials)[^=&;\\s]*=)[^&;\\s]*");

    private static final Pattern TEXT_SECRET = Pattern.compile(
            "(?i)((?:^|[\\s'\"(,{])[^=:\\s'\"]*(?:password|passwd|secret|token|passphrase|credentials)[^=:\\s'\"]*"
                    + "['\"]?\\s*[=:]\\s*['\"]?)(?!\\*\\*\\*\\*)[^\\s'\",;&}]+",
            Pattern.MULTILINE);

    private final Map<String, List<String>> values;

    private Settings(Map<String, List<String>> values) {
        this.values = values;
    }

    /** No settings. */
    public static Settings empty() {
        return EMPTY;
    }

    /** Settings with one value per key. */
    public static Settings of(Map<String, String> single) {
        Builder b = builder();
        single.forEach(b::set);
        return b.build();
    }

    public static Builder builder() {
        return new Builder(new LinkedHashMap<>());
    }

    public Builder toBuilder() {
        LinkedHashMap<String, List<String>> copy = new LinkedHashMap<>();
        values.forEach((k, v) -> copy.put(k, new ArrayList<>(v)));
        return new Builder(copy);
    }

    /**
     * These settings with every key that {@code top} has replaced by top's values (e.g. a
     * target's configured options under the ones given for one command).
     */
    public Settings overlaidBy(Settings top) {
        Builder b = toBuilder();
        for (String key : top.keys()) {
            b.remove(key).addAll(key, top.getAll(key));
        }
        return b.build();
    }

    /** Every key, in insertion order. */
    public Set<String> keys() {
        return values.keySet();
    }

    public boolean has(String key) {
        return values.containsKey(key);
    }

    /** The single value of a key; the last one when given several times. */
    public Optional<String> get(String key) {
        List<String> v = values.get(key);
        return v == null || v.isEmpty() ? Optional.empty() : Optional.of(v.get(v.size() - 1));
    }

    /** The value of a required key; a {@link ConfigException} names it when missing. */
    public String require(String key) {
        return get(key).orElseThrow(() -> new ConfigException("missing required setting '" + key + "'"));
    }

    /** Every value of a key, empty when absent. */
    public List<String> getAll(String key) {
        return values.getOrDefault(key, List.of());
    }

    public String get(String key, String fallback) {
        return get(key).orElse(fallback);
    }

    public Optional<Path> path(String key) {
        return get(key).map(Path::of);
    }

    public boolean bool(String key, boolean fallback) {
        Optional<String> v = get(key);
        if (v.isEmpty()) {
            return fallback;
        }
        switch (v.get().toLowerCase(Locale.ROOT)) {
            case "true":
            case "yes":
            case "on":
            case "1":
                return true;
            case "false":
            case "no":
            case "off":
            case "0":
                return false;
            default:
                throw new ConfigException("setting '" + key + "' must be true or false, not '" + v.get() + "'");
        }
    }

    public int integer(String key, int fallback) {
        Optional<String> v = get(key);
        if (v.isEmpty()) {
            return fallback;
        }
        try {
            return Integer.parseInt(v.get().trim());
        } catch (NumberFormatException e) {
            throw new ConfigException("setting '" + key + "' must be a whole number, not '" + v.get() + "'");
        }
    }

    /**
     * A byte count such as {@code 16MiB}, {@code 8M}, {@code 512KiB} or {@code 1GiB} (units are
     * binary, with or without {@code i}/{@code B}; no unit means bytes).
     *
     * @throws ConfigException naming the key when the value is not such a size
     */
    public Optional<Long> size(String key) {
        return get(key).map(v -> parseSize(key, v));
    }

    /** Parses a byte count as {@link #size(String)} does; {@code key} names it in the error. */
    public static long parseSize(String key, String text) {
        Matcher m = SIZE.matcher(text.trim());
        if (!m.matches()) {
            throw new ConfigException("setting '" + key + "' must be a size such as " + key + "=16MiB (or 8M, "
                    + "512KiB, 1GiB), not '" + text + "'");
        }
        int shift = switch (m.group(2).isEmpty()
                ? ' '
                : Character.toLowerCase(m.group(2).charAt(0))) {
            case 'k' -> 10;
            case 'm' -> 20;
            case 'g' -> 30;
            case 't' -> 40;
            default -> 0;
        };
        try {
            long n = Long.parseLong(m.group(1));
            if (n > Long.MAX_VALUE >> shift) {
                throw new NumberFormatException();
            }
            return n << shift;
        } catch (NumberFormatException e) {
            throw new ConfigException("setting '" + key + "' is too large: '" + text + "'");
        }
    }

    /**
     * The options in a URI's query ({@code s3://b/p?region=eu-west-1&partSize=16MiB}): keys as
     * written, values decoded; a key given twice holds both values. A key without {@code =} is
     * ignored.
     */
    public static Settings fromQuery(URI uri) {
        Builder b = builder();
        if (uri.getRawQuery() != null) {
            for (String kv : uri.getRawQuery().split("&")) {
                int eq = kv.indexOf('=');
                if (eq > 0) {
                    b.add(
                            URLDecoder.decode(kv.substring(0, eq), StandardCharsets.UTF_8),
                            URLDecoder.decode(kv.substring(eq + 1), StandardCharsets.UTF_8));
                }
            }
        }
        return b.build();
    }

    public Optional<Duration> duration(String key) {
        return get(key).map(v -> parseDuration(key, v));
    }

    /**
     * Parses durations such as {@code 36h}, {@code 7d}, {@code 4w}, {@code 12m} or {@code 1y},
     * and combinations ({@code 1d12h}). As in restic, {@code m} (or {@code mo}) is a month of
     * 30 days; minutes are {@code min}; a year is 365 days. ISO-8601 ({@code PT1H}) works too.
     *
     * @throws ConfigException naming the key when the value is not such a duration, is negative
     *     ({@code P-1D}), or is longer than 10000 years
     */
    public static Duration parseDuration(String key, String text) {
        Duration d = parseDurationUnchecked(key, text);
        if (d.isNegative()) {
            throw new ConfigException("setting '" + key + "' must not be negative, not '" + text + "'");
        }
        if (d.compareTo(MAX_DURATION) > 0) {
            throw tooLong(key, text);
        }
        return d;
    }

    private static Duration parseDurationUnchecked(String key, String text) {
        String t = text.trim().toLowerCase(Locale.ROOT);
        if (t.equals("0")) {
            return Duration.ZERO; // zero needs no unit
        }
        if (t.startsWith("p")) {
            try {
                return Duration.parse(t.toUpperCase(Locale.ROOT));
            } catch (ArithmeticException e) {
                throw tooLong(key, text);
            } catch (RuntimeException e) {
                throw badDuration(key, text);
            }
        }
        Matcher m = DURATION.matcher(t);
        Duration total = Duration.ZERO;
        int end = 0;
        while (m.find()) {
            if (m.start() != end) {
                throw badDuration(key, text);
            }
            try {
                long n = Long.parseLong(m.group(1));
                total = total.plus(unit(m.group(2)).multipliedBy(n));
            } catch (NumberFormatException | ArithmeticException e) {
                throw tooLong(key, text); // more digits than a long holds, or more seconds than a Duration
            }
            end = m.end();
        }
        if (end == 0 || end != t.length()) {
            throw badDuration(key, text);
        }
        return total;
    }

    private static ConfigException tooLong(String key, String text) {
        return new ConfigException("setting '" + key + "' is too long a duration: '" + text + "' (at most "
                + MAX_DURATION.toDays() / 365 + "y)");
    }

    private static Duration unit(String u) {
        switch (u) {
            case "ms":
                return Duration.ofMillis(1);
            case "s":
                return Duration.ofSeconds(1);
            case "min":
                return Duration.ofMinutes(1);
            case "h":
                return Duration.ofHours(1);
            case "d":
                return Duration.ofDays(1);
            case "w":
                return Duration.ofDays(7);
            case "m":
            case "mo":
                return Duration.ofDays(30);
            default:
                return Duration.ofDays(365);
        }
    }

    private static ConfigException badDuration(String key, String text) {
        return new ConfigException(
                "setting '" + key + "' must be a duration such as 36h, 7d, 4w, 12m or 1y, not '" + text + "'");
    }

    /** Whether a key names a secret and must never be printed. */
    public static boolean isSecretKey(String key) {
        String k = key.toLowerCase(Locale.ROOT);
        if (k.endsWith("-file") || k.endsWith("_file") || k.endsWith("file")) {
            return false;
        }
        return SECRET_WORDS.stream().anyMatch(k::contains);
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof Settings && ((Settings) o).values.equals(values);
    }

    @Override
    public int hashCode() {
        return values.hashCode();
    }

    @Override
    public String toString() {
        StringBuilder sb = new StringBuilder("{");
        values.forEach((k, v) -> {
            if (sb.length() > 1) {
                sb.append(", ");
            }
            sb.append(k).append('=').append(isSecretKey(k) ? "****" : redact(String.join(",", v)));
        });
        return sb.append('}').toString();
    }

    /**
     * {@code value} with the passwords of URLs ({@code redis://user:PASS@host}, Oracle's thin
     * {@code jdbc:oracle:thin:user/PASS@host}) and the values of
     * secret query parameters ({@code ?password=PASS}, {@code &token=...}) replaced by {@code ****},
     * for text that is shown to people (a message, a notice). Stateless.
     */
    public static String redact(String value) {
        String out = USERINFO_PASSWORD.matcher(value).replaceAll("$1****@");
        out = THIN_USER_PASSWORD.matcher(out).replaceAll("$1****@");
        return QUERY_SECRET.matcher(out).replaceAll("$1****");
    }

    /**
     * {@link #redact} for free text a program printed (a failed command's output, a server's
     * log), which drkit quotes in messages: also the values of secret words written as
     * {@code password=PASS} or {@code PGPASSWORD: PASS} anywhere, as conninfo strings,
     * environment dumps and scripts print them. Stateless.
     */
    public static String redactText(String text) {
        return TEXT_SECRET.matcher(redact(text)).replaceAll("$1****");
    }

    /** Below this length a secret is masked only where it stands as a word of its own. */
    private static final int SHORT_SECRET = 8;

    /**
     * {@code text} (a message, a server's error) with every occurrence of {@code secret} shown
     * as {@code ****}. A short secret (under 8 characters) is masked only where it is not part
     * of a longer word of letters and digits of its script (Chinese, Japanese, Thai and the like
     * run words together: beside their letters it is always masked): a password {@code pg} then leaves
     * {@code upgrade} readable, and is still masked in {@code password=pg;} or
     * {@code redis://:pg@host}. Null or empty secrets change nothing.
     */
    public static String mask(String text, String secret) {
        if (text == null || secret == null || secret.isEmpty()) {
            return text;
        }
        if (secret.length() >= SHORT_SECRET) {
            return text.replace(secret, "****");
        }
        StringBuilder out = new StringBuilder(text.length());
        int from = 0;
        for (int at = text.indexOf(secret); at >= 0; at = text.indexOf(secret, at + 1)) {
            int end = at + secret.length();
            boolean wordBefore = at > 0 && oneWord(text.codePointBefore(at), secret.codePointAt(0));
            boolean wordAfter =
                    end < text.length() && oneWord(secret.codePointBefore(secret.length()), text.codePointAt(end));
            if (at >= from && !wordBefore && !wordAfter) {
                out.append(text, from, at).append("****");
                from = end;
            }
        }
        return out.append(text, from, text.length()).toString();
    }

    /** Scripts written without spaces between words: a letter of theirs never makes a word longer. */
    private static final Set<Character.UnicodeScript> UNSPACED = EnumSet.of(
            Character.UnicodeScript.HAN,
            Character.UnicodeScript.HIRAGANA,
            Character.UnicodeScript.KATAKANA,
            Character.UnicodeScript.THAI,
            Character.UnicodeScript.LAO,
            Character.UnicodeScript.KHMER,
            Character.UnicodeScript.MYANMAR,
            Character.UnicodeScript.TIBETAN);

    /**
     * Whether two neighbouring characters belong to one word: letters or digits of one script
     * (digits and marks go with any), not of a script that runs its words together, where a
     * password beside other letters is still a word of its own.
     */
    private static boolean oneWord(int a, int b) {
        if (!Character.isLetterOrDigit(a) || !Character.isLetterOrDigit(b)) {
            return false;
        }
        Character.UnicodeScript sa = Character.UnicodeScript.of(a);
        Character.UnicodeScript sb = Character.UnicodeScript.of(b);
        if (UNSPACED.contains(sa) || UNSPACED.contains(sb)) {
            return false;
        }
        return sa == sb
                || sa == Character.UnicodeScript.COMMON
                || sb == Character.UnicodeScript.COMMON
                || sa == Character.UnicodeScript.INHERITED
                || sb == Character.UnicodeScript.INHERITED;
    }

    /** Mutable builder; not thread-safe. */
    public static final class Builder {
        private final LinkedHashMap<String, List<String>> values;

        private Builder(LinkedHashMap<String, List<String>> values) {
            this.values = values;
        }

        /** Replaces every value of {@code key} with {@code value}. */
        public Builder set(String key, String value) {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(value, () -> "value of " + key);
            List<String> list = new ArrayList<>();
            list.add(value);
            values.put(key, list);
            return this;
        }

        /** Adds a value to {@code key}. */
        public Builder add(String key, String value) {
            Objects.requireNonNull(key, "key");
            Objects.requireNonNull(value, () -> "value of " + key);
            values.computeIfAbsent(key, k -> new ArrayList<>()).add(value);
            return this;
        }

        /** Adds every value to {@code key}. */
        public Builder addAll(String key, List<String> more) {
            more.forEach(v -> add(key, v));
            return this;
        }

        public Builder remove(String key) {
            values.remove(key);
            return this;
        }

        public Settings build() {
            LinkedHashMap<String, List<String>> copy = new LinkedHashMap<>();
            values.forEach((k, v) -> copy.put(k, List.copyOf(v)));
            return new Settings(Collections.unmodifiableMap(copy));
        }
    }
}
