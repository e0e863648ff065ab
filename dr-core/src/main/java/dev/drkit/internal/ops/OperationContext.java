package dev.drkit.internal.ops;

import dev.drkit.BackupManifest;
import dev.drkit.ConfigException;
import dev.drkit.DrEvent;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.DrKitConfig;
import dev.drkit.DrListener;
import dev.drkit.Settings;
import dev.drkit.StorageException;
import dev.drkit.internal.pipeline.ProgressMeter;
import dev.drkit.internal.registry.ProviderRegistry;
import dev.drkit.internal.repo.ArchiveArea;
import dev.drkit.internal.repo.Repository;
import dev.drkit.internal.repo.StreamCodecs;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.ManifestSigner;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.StorageIOException;
import dev.drkit.spi.support.BackupIds;
import dev.drkit.spi.support.RepositoryLock;
import dev.drkit.spi.support.StorageFailures;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URI;
import java.nio.file.DirectoryIteratorException;
import java.time.Clock;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every operation of one kit shares: the configuration, the providers, the repository
 * and its storage, the codecs, the clock, and the listeners events and progress go to; with
 * the helpers the operations have in common (locks, meters, events, error translation).
 * Thread-safe.
 */
public final class OperationContext {
    private static final Logger LOG = LoggerFactory.getLogger(OperationContext.class);

    private final Map<String, BackupTarget> configured;
    private final Map<String, Settings> configuredSettings;
    private final DrKitConfig config;
    private final ProviderRegistry registry;
    private final StorageBackend storage;
    private final Repository repository;
    private final StreamCodecs codecs;
    private final ManifestSigner signer;
    private final Clock clock;
    private final List<DrListener> listeners;

    /**
     * @param storage the repository's storage, the one {@code repository} is attached to
     * @param signer signs new manifests; null for none
     */
    public OperationContext(
            DrKitConfig config,
            ProviderRegistry registry,
            StorageBackend storage,
            Repository repository,
            StreamCodecs codecs,
            ManifestSigner signer,
            Clock clock,
            Collection<DrListener> listeners,
            Map<String, BackupTarget> configured,
            Map<String, Settings> configuredSettings) {
        this.configured = Map.copyOf(configured);
        this.configuredSettings = Map.copyOf(configuredSettings);
        this.config = config;
        this.registry = registry;
        this.storage = storage;
        this.repository = repository;
        this.codecs = codecs;
        this.signer = signer;
        this.clock = clock;
        this.listeners = new CopyOnWriteArrayList<>(listeners);
    }

    /** Opens the storage a configuration names, with the storage provider of its URI scheme. */
    public static StorageBackend openStorage(ProviderRegistry registry, DrKitConfig cfg) {
        URI uri = cfg.repositoryUri();
        try {
            return registry.storage(uri.getScheme()).create(uri, cfg.storageSettings());
        } catch (IOException e) {
            throw new StorageException(
                    "opening repository " + DrKitConfig.redact(cfg.repository()) + " failed: " + e.getMessage()
                            + "; check that it is reachable and writable",
                    e,
                    StorageFailures.classify(e).retryable());
        }
    }

    public DrKitConfig config() {
        return config;
    }

    public ProviderRegistry registry() {
        return registry;
    }

    public StorageBackend storage() {
        return storage;
    }

    public Repository repository() {
        return repository;
    }

    public StreamCodecs codecs() {
        return codecs;
    }

    public ManifestSigner signer() {
        return signer;
    }

    public Clock clock() {
        return clock;
    }

    public void addListener(DrListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    /** A target of a type with default settings, for what a type knows beyond one backup. */
    public BackupTarget targetOfType(String type) {
        return registry.target(type).create(Settings.empty());
    }

    /** The target the host configured under this name, if any. */
    public Optional<BackupTarget> configured(String name) {
        return Optional.ofNullable(configured.get(name));
    }

    /** The kit's per-target settings ({@code dedup}, {@code compression-level}) of a configured target; empty for none. */
    public Settings configuredSettings(String name) {
        return configuredSettings.getOrDefault(name, Settings.empty());
    }

    /**
     * The target that restores (or otherwise reads back) a backup: the one configured under the
     * backup's target name, so that a host's own client or DataSource serves restores too, else
     * one of the backup's type, which takes its defaults from what the backup recorded.
     */
    public BackupTarget targetFor(BackupManifest m) {
        BackupTarget t = configured.get(m.target());
        if (t == null) {
            return targetOfType(m.type());
        }
        if (t.type().equals(m.type())) {
            return registry.checkingRestores(t); // the restore checks a provider-made target has
        }
        throw new ConfigException("target '" + m.target() + "' is configured as a " + t.type()
                + " target, but backup " + m.id() + " is of type " + m.type()
                + "; restore it under a target name configured for " + m.type() + ", or with none");
    }

    /** An archive area of the repository, stored with this kit's codecs. */
    public FileArchive archive(String area) {
        return ArchiveArea.of(repository, area, codecs, config.lockTtl(), clock, signer);
    }

    /** The repository lock of a target for an operation, waiting as configured. */
    public RepositoryLock lock(String target, String operation) {
        return RepositoryLock.acquire(
                storage,
                BackupIds.checkTargetName(target),
                operation,
                config.lockTtl(),
                config.lockWait(),
                clock,
                holder -> emit(
                        DrEvent.Type.STALE_LOCK_TAKEN_OVER,
                        target,
                        null,
                        "took over stale lock of " + holder,
                        Map.of()));
    }

    /** A progress meter whose reports go to the listeners. */
    public ProgressMeter meter(String operation, String target) {
        return new ProgressMeter(operation, target, clock, p -> {
            for (DrListener l : listeners) {
                try {
                    l.onProgress(p);
                } catch (RuntimeException e) {
                    LOG.warn("drkit listener {} failed on progress: {}", l, e.toString());
                }
            }
        });
    }

    /** The seconds since {@code startNanos}, a {@link System#nanoTime()} reading: an operation's wall time. */
    public static double secondsSince(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    /** Sends an event, stamped now, to the listeners; a failing listener is logged and passed over. */
    public void emit(DrEvent.Type type, String target, String id, String message, Map<String, Object> details) {
        DrEvent event = new DrEvent(type, target, id, clock.instant(), message, details);
        for (DrListener l : listeners) {
            try {
                l.onEvent(event);
            } catch (RuntimeException e) {
                LOG.warn("drkit listener {} failed on event {}: {}", l, event.type(), e.toString());
            }
        }
    }

    /** A failure as a {@link DrException}; every I/O failure counts as the repository's. */
    public DrException asDrException(Exception e, String doing) {
        return asDrException(e, doing, null, null);
    }

    /**
     * A failure as a {@link DrException}.
     *
     * @param targetSide what the target does on its own side ("reading its source"), when an I/O failure
     *        that is not the repository's is the target's; null takes every I/O failure for the repository's
     * @param advice what to do about a failure of the target's side
     */
    public DrException asDrException(Exception e, String doing, String targetSide, String advice) {
        if (e instanceof DrException) {
            return (DrException) e;
        }
        if (e instanceof UncheckedIOException) {
            e = ((UncheckedIOException) e).getCause();
        }
        if (e instanceof DirectoryIteratorException d) { // a directory listing's I/O failure, unchecked
            e = d.getCause();
        }
        if (e instanceof IOException) {
            // the repository's storage throws StorageIOExceptions only (ClassifiedStorage), so any other
            // I/O failure comes from the target's side: its source, its destination
            StorageIOException failure = StorageFailures.find(e);
            if (failure != null || targetSide == null) {
                return repository.storageError(doing, failure != null ? failure : (IOException) e);
            }
            return new DrException(
                    ErrorCode.TARGET,
                    doing + " failed while " + targetSide + ": " + StorageFailures.describe((IOException) e) + "; "
                            + advice,
                    e);
        }
        // no Java class name for people: a failure without words is a defect, whose exception the cause keeps
        String why = e.getMessage() != null && !e.getMessage().isBlank()
                ? e.getMessage()
                : "an unexpected internal error (a defect; the exception is kept as this error's cause, and the CLI "
                        + "prints it with -vv)";
        return new DrException(ErrorCode.TARGET, doing + " failed: " + why, e);
    }
}
