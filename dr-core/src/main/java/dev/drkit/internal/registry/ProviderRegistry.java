package dev.drkit.internal.registry;

import dev.drkit.DrException.ErrorCode;
import dev.drkit.ProviderException;
import dev.drkit.VerifyLevel;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.RetentionPolicyProvider;
import dev.drkit.spi.StorageBackendProvider;
import dev.drkit.spi.VerifierProvider;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.ServiceConfigurationError;
import java.util.ServiceLoader;
import java.util.TreeSet;
import java.util.WeakHashMap;
import java.util.function.Function;
import java.util.function.Predicate;
import java.util.function.ToIntFunction;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds the provider for a storage scheme, target type, retention policy or verifier.
 *
 * <p>Selection is strict: providers registered explicitly win over discovered ones; within
 * a group the highest priority wins; two at the same priority are an error naming both; an
 * unknown key is an error listing the known ones (and any provider that failed to load).
 * Discovery through {@link ServiceLoader} runs once per class loader. Thread-safe.
 */
public final class ProviderRegistry {
    private static final Logger LOG = LoggerFactory.getLogger(ProviderRegistry.class);
    private static final Map<ClassLoader, Discovered> DISCOVERED = new WeakHashMap<>();

    private final List<Object> explicit;
    private final Discovered discovered;

    /**
     * @param explicit providers given by the host, of any of the four SPI types
     * @param loader where to discover providers, or null to discover none
     */
    public ProviderRegistry(Collection<?> explicit, ClassLoader loader) {
        this.explicit = List.copyOf(explicit);
        this.discovered = loader == null ? Discovered.NONE : discover(loader);
    }

    /** The provider for a URI scheme; what it creates has its settings checked against its schema. */
    public StorageBackendProvider storage(String scheme) {
        String key = scheme.toLowerCase(Locale.ROOT);
        return CheckedProviders.storage(rawStorage(key), this::knownToAnyBackend);
    }

    private StorageBackendProvider rawStorage(String key) {
        return select(
                "storage backend",
                "URI scheme",
                key,
                StorageBackendProvider.class,
                p -> p.schemes().contains(key),
                p -> p.schemes(),
                StorageBackendProvider::priority);
    }

    /**
     * The provider of a target type; the targets it creates have their settings, and their
     * restores' options, checked against its schemas.
     */
    public BackupTargetProvider target(String type) {
        return CheckedProviders.target(rawTarget(type));
    }

    /**
     * A target a host built itself, with the restore checks a provider-made one has; as it is when
     * no provider of its type is registered (the host's target is then all there is).
     */
    public BackupTarget checkingRestores(BackupTarget target) {
        BackupTargetProvider p;
        try {
            p = rawTarget(target.type());
        } catch (ProviderException e) {
            return target;
        }
        return CheckedProviders.checkingRestores(target, p);
    }

    private BackupTargetProvider rawTarget(String type) {
        return select(
                "backup target",
                "type",
                type,
                BackupTargetProvider.class,
                p -> p.type().equals(type),
                p -> List.of(p.type()),
                BackupTargetProvider::priority);
    }

    /** The provider of a retention policy; its settings are checked against its schema. */
    public RetentionPolicyProvider retention(String name) {
        return CheckedProviders.retention(select(
                "retention policy",
                "name",
                name,
                RetentionPolicyProvider.class,
                p -> p.name().equals(name),
                p -> List.of(p.name()),
                RetentionPolicyProvider::priority));
    }

    public VerifierProvider verifier(String name) {
        return select(
                "verifier",
                "name",
                name,
                VerifierProvider.class,
                p -> p.name().equals(name),
                p -> List.of(p.name()),
                VerifierProvider::priority);
    }

    /**
     * Every verifier that applies to a target type at or below a level, cheapest first,
     * one per name (selected as by {@link #verifier(String)}).
     */
    public List<VerifierProvider> verifiers(String targetType, VerifyLevel level) {
        TreeSet<String> names = new TreeSet<>();
        for (VerifierProvider p : all(VerifierProvider.class)) {
            if (p.supports(targetType) && p.level().compareTo(level) <= 0) {
                names.add(p.name());
            }
        }
        OptionSchema shared = verifyOptions(targetType);
        return names.stream()
                .map(this::verifier)
                .sorted(Comparator.comparing(VerifierProvider::level).thenComparing(VerifierProvider::name))
                .map(p -> CheckedProviders.verifier(p, targetType, shared))
                .toList();
    }

    /**
     * What the verifiers of a target type may be given: the options of every verifier of the
     * type at any level (a configured target's verify options do not change with the level
     * asked) and the target's settings (given with them by hosts that keep one bag per target).
     * Unchecked when any of them is, or the type has no provider.
     */
    public OptionSchema verifyOptions(String targetType) {
        OptionSchema all;
        try {
            all = rawTarget(targetType).schema();
        } catch (ProviderException e) {
            return OptionSchema.unchecked();
        }
        TreeSet<String> names = new TreeSet<>();
        for (VerifierProvider p : all(VerifierProvider.class)) {
            if (p.supports(targetType)) {
                names.add(p.name());
            }
        }
        for (String name : names) {
            all = all.plus(verifier(name).schema());
        }
        return all;
    }

    private boolean knownToAnyBackend(String key) {
        for (StorageBackendProvider p : all(StorageBackendProvider.class)) {
            if (!p.schema().checked() || p.schema().find(key).isPresent()) {
                return true;
            }
        }
        return false;
    }

    /** Known target types, sorted. */
    public List<String> targetTypes() {
        return all(BackupTargetProvider.class).stream()
                .map(BackupTargetProvider::type)
                .distinct()
                .sorted()
                .toList();
    }

    /** Providers that failed to load, as messages naming their class. */
    public List<String> brokenProviders() {
        return discovered.broken;
    }

    private <P> List<P> all(Class<P> type) {
        List<P> all = new ArrayList<>(ofType(explicit, type));
        all.addAll(ofType(discovered.providers, type));
        return all;
    }

    private <P> P select(
            String what,
            String keyName,
            String key,
            Class<P> type,
            Predicate<P> matches,
            Function<P, Collection<String>> keys,
            ToIntFunction<P> priority) {
        List<P> fromHost = ofType(explicit, type).stream().filter(matches).toList();
        List<P> candidates = fromHost.isEmpty()
                ? ofType(discovered.providers, type).stream().filter(matches).toList()
                : fromHost;
        if (candidates.isEmpty()) {
            TreeSet<String> known = new TreeSet<>();
            all(type).forEach(p -> known.addAll(keys.apply(p)));
            String msg = "no " + what + " for " + keyName + " '" + key + "'; known: "
                    + (known.isEmpty() ? "none" : String.join(", ", known))
                    + ". Add the module that provides it to the class path or register its provider on the builder";
            if (!discovered.broken.isEmpty()) {
                msg += " (providers that failed to load: " + String.join("; ", discovered.broken) + ")";
            }
            throw new ProviderException(ErrorCode.PROVIDER_SELECTION, msg, null);
        }
        int best = candidates.stream().mapToInt(priority).max().getAsInt();
        List<P> top =
                candidates.stream().filter(p -> priority.applyAsInt(p) == best).toList();
        if (top.size() > 1) {
            throw new ProviderException(
                    ErrorCode.PROVIDER_SELECTION,
                    "more than one " + what + " for " + keyName
                            + " '" + key + "' at priority " + best + ": "
                            + top.stream().map(p -> p.getClass().getName()).collect(Collectors.joining(", "))
                            + ". Register the one you want explicitly on the builder or remove the other",
                    null);
        }
        return top.get(0);
    }

    private static <P> List<P> ofType(List<Object> providers, Class<P> type) {
        return providers.stream().filter(type::isInstance).map(type::cast).toList();
    }

    private static Discovered discover(ClassLoader loader) {
        synchronized (DISCOVERED) {
            return DISCOVERED.computeIfAbsent(loader, ProviderRegistry::load);
        }
    }

    private static Discovered load(ClassLoader loader) {
        List<Object> providers = new ArrayList<>();
        List<String> broken = new ArrayList<>();
        for (Class<?> spi : List.of(
                StorageBackendProvider.class,
                BackupTargetProvider.class,
                RetentionPolicyProvider.class,
                VerifierProvider.class)) {
            Iterator<?> it = ServiceLoader.load(spi, loader).iterator();
            while (true) {
                try {
                    if (!it.hasNext()) {
                        break;
                    }
                    providers.add(it.next());
                } catch (ServiceConfigurationError e) {
                    String msg = spi.getSimpleName() + ": " + e.getMessage();
                    LOG.error("drkit provider failed to load and is ignored: {}", msg, e);
                    broken.add(msg);
                }
            }
        }
        return new Discovered(List.copyOf(providers), List.copyOf(broken));
    }

    private static final class Discovered {
        static final Discovered NONE = new Discovered(List.of(), List.of());
        final List<Object> providers;
        final List<String> broken;

        Discovered(List<Object> providers, List<String> broken) {
            this.providers = providers;
            this.broken = broken;
        }
    }
}
