package dev.drkit.spring;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.setup.Setup;
import dev.drkit.setup.SetupFile;
import dev.drkit.spring.DrkitSetup.HostConnection;
import dev.drkit.spring.DrkitSetup.HostConnection.Kind;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Predicate;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.springframework.boot.context.properties.bind.Bindable;
import org.springframework.boot.context.properties.bind.Binder;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName;
import org.springframework.boot.context.properties.source.ConfigurationPropertyName.Form;
import org.springframework.boot.context.properties.source.ConfigurationPropertySource;
import org.springframework.boot.context.properties.source.ConfigurationPropertySources;
import org.springframework.boot.context.properties.source.IterableConfigurationPropertySource;
import org.springframework.core.env.Environment;

/**
 * Reads the {@code drkit.*} properties into a {@link DrkitSetup}: the starter's own keys
 * ({@code enabled}, {@code scheduler.*}, a target's {@code data-source} and
 * {@code connection-factory}) here, everything else by {@link SetupFile#fromTree}, so that the
 * properties have the setup file's keys and checks. Every problem is reported at once.
 */
final class SpringSetupReader {
    static final String PREFIX = "drkit";
    static final String DATA_SOURCE = "data-source";
    static final String CONNECTION_FACTORY = "connection-factory";
    private static final Pattern PLACEHOLDER = Pattern.compile("\\$\\{([^}:]+)(:[^}]*)?}");
    private static final Pattern BARE_M = Pattern.compile("\\d\\s*m(?![a-z])");
    private static final Pattern RELAXED_KEY = Pattern.compile("[A-Za-z][A-Za-z0-9]*(?:[_-][A-Za-z0-9]+)*");
    private static final Set<String> SCHEDULER_KEYS = Set.of("enabled", "shutdown-grace");

    private final Environment environment;
    private final Predicate<Kind> applicationHas;
    private final Predicate<String> beanExists;
    private final Collection<?> providers;
    private final List<String> problems = new ArrayList<>();

    /**
     * @param applicationHas whether the application has a bean of the kind (for targets that name none)
     * @param beanExists whether a bean of that name exists
     */
    SpringSetupReader(
            Environment environment,
            Predicate<Kind> applicationHas,
            Predicate<String> beanExists,
            Collection<?> providers) {
        this.environment = environment;
        this.applicationHas = applicationHas;
        this.beanExists = beanExists;
        this.providers = providers;
    }

    /** @throws ConfigException listing every problem of the properties */
    DrkitSetup read() {
        Map<String, Object> tree = tree(environment, problems);
        Object enabled = tree.remove("enabled");
        if (enabled != null && !String.valueOf(enabled).equalsIgnoreCase("true")) {
            // false never gets here: the auto-configuration backs off
            problems.add(PREFIX + ".enabled: '" + enabled + "' is not true or false");
        }
        boolean schedulerEnabled = true;
        Duration phase = shutdownPhaseTimeout();
        Duration grace = null;
        if (tree.remove("scheduler") instanceof Map<?, ?> scheduler) {
            for (Map.Entry<?, ?> e : scheduler.entrySet()) {
                String key = String.valueOf(e.getKey());
                String value = String.valueOf(e.getValue());
                if (key.equals("shutdown")
                        && e.getValue() instanceof Map<?, ?> levels
                        && levels.size() == 1
                        && levels.get("grace") != null) {
                    key = "shutdown-grace"; // DRKIT_SCHEDULER_SHUTDOWN_GRACE: Spring makes each '_' a level
                    value = String.valueOf(levels.get("grace"));
                }
                switch (key) {
                    case "enabled" -> schedulerEnabled = bool("scheduler.enabled", value);
                    case "shutdown-grace" -> grace = duration("scheduler.shutdown-grace", value, null);
                    default ->
                        problems.add(PREFIX + ".scheduler." + key + ": unknown key (known: "
                                + String.join(", ", new TreeMap<>(Map.of("enabled", 1, "shutdown-grace", 1)).keySet())
                                + ")");
                }
            }
        }
        if (grace == null) {
            grace = phase.minus(margin(phase));
        } else if (grace.compareTo(phase) >= 0) {
            problems.add(PREFIX + ".scheduler.shutdown-grace: " + grace.toSeconds() + " s is not shorter than the "
                    + "application's spring.lifecycle.timeout-per-shutdown-phase (" + phase.toSeconds() + " s), after "
                    + "which it closes its connections under a running backup; lower the one or raise the other");
        }
        Map<String, HostConnection> connections = new LinkedHashMap<>();
        Map<String, Set<String>> supplied = new LinkedHashMap<>();
        if (tree.get("targets") instanceof Map<?, ?> targets) {
            for (Map.Entry<?, ?> e : targets.entrySet()) {
                if (e.getValue() instanceof Map<?, ?> options) {
                    @SuppressWarnings("unchecked")
                    Map<String, Object> typed = (Map<String, Object>) options;
                    hostConnection(String.valueOf(e.getKey()), typed, connections, supplied);
                }
            }
        }
        List<String> all = new ArrayList<>(problems);
        Setup setup = null;
        try {
            setup = SetupFile.fromTree(PREFIX, tree, supplied, providers);
        } catch (ConfigException e) {
            all.addAll(e.problems());
        }
        if (!all.isEmpty()) {
            throw new ConfigException(all);
        }
        return new DrkitSetup(setup, connections, schedulerEnabled, grace);
    }

    /** Takes a target's starter keys out of its options and notes which connection it uses. */
    private void hostConnection(
            String name,
            Map<String, Object> options,
            Map<String, HostConnection> connections,
            Map<String, Set<String>> supplied) {
        String where = PREFIX + ".targets." + name;
        String type = options.get("type") == null ? null : String.valueOf(options.get("type"));
        Object dataSource = options.remove(DATA_SOURCE);
        Object factory = options.remove(CONNECTION_FACTORY);
        if (dataSource != null && !"postgres-logical".equals(type)) {
            problems.add(where + "." + DATA_SOURCE + ": only postgres-logical targets back up through the "
                    + "application's DataSource");
        }
        if (factory != null && !"redis".equals(type)) {
            problems.add(where + "." + CONNECTION_FACTORY + ": only redis targets back up through the "
                    + "application's Redis connection factory");
        }
        if ("postgres-logical".equals(type)) {
            if (dataSource != null) {
                supplied.put(name, Set.of("url")); // named: a missing bean is its own problem, not a missing url
            }
            connection(where, DATA_SOURCE, dataSource, options.containsKey("url"), Kind.DATA_SOURCE, "url")
                    .ifPresent(c -> {
                        connections.put(name, c);
                        supplied.put(name, Set.of("url"));
                    });
        } else if ("redis".equals(type)) {
            connection(
                            where,
                            CONNECTION_FACTORY,
                            factory,
                            options.containsKey("uri"),
                            Kind.REDIS_CONNECTION_FACTORY,
                            "uri")
                    .ifPresent(c -> {
                        connections.put(name, c);
                        supplied.put(name, Set.of("uri"));
                    });
        }
    }

    private Optional<HostConnection> connection(
            String where, String key, Object named, boolean hasOwn, Kind kind, String ownKey) {
        if (named != null) {
            String bean = String.valueOf(named);
            if (hasOwn) {
                problems.add(where + ": give either '" + ownKey + "' or '" + key + "', not both");
                return Optional.empty();
            }
            if (!beanExists.test(bean)) {
                problems.add(where + "." + key + ": the application has no bean named '" + bean + "'");
                return Optional.empty();
            }
            return Optional.of(new HostConnection(kind, bean));
        }
        if (!hasOwn && applicationHas.test(kind)) {
            return Optional.of(new HostConnection(kind, null));
        }
        return Optional.empty(); // its own settings; the schema says what is missing
    }

    private boolean bool(String key, String value) {
        if (!value.equals("true") && !value.equals("false")) {
            problems.add(PREFIX + "." + key + ": '" + value + "' is not true or false");
        }
        return !value.equals("false");
    }

    private Duration duration(String key, String value, Duration otherwise) {
        if (BARE_M.matcher(value).find()) { // as SetupFile says of the setup's durations
            problems.add(PREFIX + "." + key + ": '" + value + "' would be months to drkit ('m' is a month, as in "
                    + "restic) but minutes to Spring; write 'min' for minutes or 'mo' for months");
            return otherwise;
        }
        try {
            return Settings.parseDuration(PREFIX + "." + key, value);
        } catch (ConfigException e) {
            problems.add(e.getMessage());
            return otherwise;
        }
    }

    /** How long the application waits for the scheduler to stop before closing what a job uses. */
    private Duration shutdownPhaseTimeout() {
        return Binder.get(environment)
                .bind("spring.lifecycle.timeout-per-shutdown-phase", Bindable.of(Duration.class))
                .orElse(Duration.ofSeconds(30));
    }

    /**
     * The default grace leaves this much of the phase for interrupting a job still running and
     * removing its partial upload, before the application closes the kit and the connection pools.
     */
    static Duration margin(Duration phase) {
        Duration half = phase.dividedBy(2);
        return half.compareTo(Duration.ofSeconds(5)) < 0 ? half : Duration.ofSeconds(5);
    }

    /**
     * Every {@code drkit.*} property as a tree of maps, lists ({@code path[0]}, {@code path[1]})
     * and strings, with placeholders resolved. As in Spring's own binding, mappings merge across
     * property sources key by key, while a value or a list comes whole from the highest-precedence
     * source that gives it: an environment variable {@code DRKIT_TARGETS_DB_PATH} replaces the
     * YAML's list rather than hiding behind it. Placeholders that do not resolve and target names
     * that Spring would change are added to {@code problems}.
     */
    static Map<String, Object> tree(Environment environment, List<String> problems) {
        ConfigurationPropertyName root = ConfigurationPropertyName.of(PREFIX);
        Binder binder = Binder.get(environment);
        Map<String, Object> tree = new LinkedHashMap<>();
        Set<String> reported = new LinkedHashSet<>();
        for (ConfigurationPropertySource source : ConfigurationPropertySources.get(environment)) {
            if (!(source instanceof IterableConfigurationPropertySource iterable)) {
                continue;
            }
            Map<String, Object> own = new LinkedHashMap<>();
            iterable.filter(root::isAncestorOf).forEach(name -> {
                String value = binder.bind(name, Bindable.of(String.class)).orElse(null);
                checkTargetName(name, root.getNumberOfElements(), reported);
                unresolved(name, value, reported);
                if (hugeIndex(name, reported)) {
                    return;
                }
                put(own, name, root.getNumberOfElements(), value);
            });
            merge(tree, own);
        }
        problems.addAll(reported);
        return lists(tree);
    }

    /** An index such as {@code path[99999999999]}, which no list of drkit's holds, is a problem of its key. */
    private static boolean hugeIndex(ConfigurationPropertyName name, Set<String> problems) {
        for (int i = 0; i < name.getNumberOfElements(); i++) {
            if (name.isNumericIndex(i) && name.getElement(i, Form.ORIGINAL).length() > 6) {
                problems.add(name + ": the index " + name.getElement(i, Form.ORIGINAL)
                        + " is too large; number a list's values from 0");
                return true;
            }
        }
        return false;
    }

    /** Adds a lower-precedence source's keys that the higher ones do not give. */
    private static void merge(Map<String, Object> higher, Map<String, Object> lower) {
        lower.forEach((key, value) -> {
            Object held = higher.get(key);
            if (held == null) {
                higher.put(key, value);
            } else if (held instanceof Map<?, ?> h && value instanceof Map<?, ?> l && !indexed(h) && !indexed(l)) {
                @SuppressWarnings("unchecked")
                Map<String, Object> into = (Map<String, Object>) h;
                @SuppressWarnings("unchecked")
                Map<String, Object> from = (Map<String, Object>) l;
                merge(into, from);
            }
            // otherwise the higher source's value or list stands whole, as Spring binds a list from one source
        });
    }

    private static boolean indexed(Map<?, ?> m) {
        return !m.isEmpty()
                && m.keySet().stream().allMatch(k -> String.valueOf(k).matches("\\[\\d+]"));
    }

    /**
     * Spring reads {@code drkit.targets.My_DB.type} as target {@code mydb}: a different name is a
     * different series of backups, so the name must be written as it is meant ({@code [My_DB]}).
     */
    private static void checkTargetName(ConfigurationPropertyName name, int from, Set<String> problems) {
        if (name.getNumberOfElements() <= from + 1
                || !name.getElement(from, Form.DASHED).equals("targets")
                || name.isNumericIndex(from + 1)) {
            return;
        }
        String original = name.getElement(from + 1, Form.ORIGINAL);
        String read = name.getElement(from + 1, Form.DASHED);
        if (!original.equals(read)) {
            problems.add(PREFIX + ".targets." + original + ": Spring reads this target's name as '" + read
                    + "'; write the name in brackets to keep it as it is (" + PREFIX + ".targets.[" + original
                    + "]), or use '" + read + "'");
        }
    }

    /**
     * The binder leaves a placeholder it cannot resolve as it is: {@code ${missing}} would become a
     * repository directory of that name. Only the key and the placeholder are named: the rest of
     * the value may hold what another placeholder resolved to.
     */
    private static void unresolved(ConfigurationPropertyName name, String value, Set<String> problems) {
        if (value == null) {
            return;
        }
        Matcher m = PLACEHOLDER.matcher(value);
        while (m.find()) {
            problems.add(name + ": the placeholder '${" + m.group(1) + "}' does not resolve; set the property " + "'"
                    + m.group(1) + "' (or its environment variable), or give the value itself");
        }
    }

    private static void put(Map<String, Object> tree, ConfigurationPropertyName name, int from, String value) {
        Map<String, Object> at = tree;
        int last = name.getNumberOfElements() - 1;
        for (int i = from; i <= last; i++) {
            String key = name.isNumericIndex(i)
                    ? "[" + name.getElement(i, Form.ORIGINAL) + "]"
                    : isTargetName(name, from, i) ? name.getElement(i, Form.DASHED) : key(name, i);
            if (i == last) {
                if (!(at.get(key) instanceof Map)) {
                    at.putIfAbsent(key, value);
                }
                return;
            }
            Object next = at.get(key);
            if (!(next instanceof Map)) {
                next = new LinkedHashMap<String, Object>();
                at.put(key, next); // a key given both as a value and with children keeps the children
            }
            @SuppressWarnings("unchecked")
            Map<String, Object> child = (Map<String, Object>) next;
            at = child;
        }
    }

    private static boolean isTargetName(ConfigurationPropertyName name, int from, int i) {
        return i == from + 1 && name.getElement(from, Form.DASHED).equals("targets");
    }

    /**
     * A key as drkit names it: {@code keepHourly} and {@code keep_hourly} are {@code keep-hourly},
     * as Spring's relaxed binding reads them, rather than the {@code keephourly} that no schema
     * knows.
     */
    private static String key(ConfigurationPropertyName name, int i) {
        String original = name.getElement(i, Form.ORIGINAL);
        if (!RELAXED_KEY.matcher(original).matches()) {
            return name.getElement(i, Form.DASHED);
        }
        return original.replaceAll("([a-z0-9])([A-Z])", "$1-$2")
                .replace('_', '-')
                .toLowerCase(Locale.ROOT);
    }

    /** Maps whose keys are all indexes ({@code [0]}, {@code [1]}) become lists in index order. */
    private static Map<String, Object> lists(Map<String, Object> tree) {
        Map<String, Object> out = new LinkedHashMap<>();
        tree.forEach((k, v) -> out.put(k, listOrValue(v)));
        return out;
    }

    private static Object listOrValue(Object v) {
        if (!(v instanceof Map<?, ?> m)) {
            return v;
        }
        @SuppressWarnings("unchecked")
        Map<String, Object> map = lists((Map<String, Object>) m);
        if (!map.isEmpty() && map.keySet().stream().allMatch(k -> k.matches("\\[\\d+]"))) {
            TreeMap<Integer, Object> ordered = new TreeMap<>();
            map.forEach((k, value) -> ordered.put(Integer.parseInt(k.substring(1, k.length() - 1)), value));
            return new ArrayList<>(ordered.values());
        }
        return map;
    }
}
