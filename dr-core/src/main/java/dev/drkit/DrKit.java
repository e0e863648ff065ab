package dev.drkit;

import dev.drkit.internal.ops.BackupOperation;
import dev.drkit.internal.ops.CatalogOperation;
import dev.drkit.internal.ops.CheckOperation;
import dev.drkit.internal.ops.CopyOperation;
import dev.drkit.internal.ops.OperationContext;
import dev.drkit.internal.ops.PruneOperation;
import dev.drkit.internal.ops.RestoreOperation;
import dev.drkit.internal.ops.StatusOperation;
import dev.drkit.internal.ops.VerifyOperation;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.internal.registry.ProviderRegistry;
import dev.drkit.internal.repo.Repository;
import dev.drkit.internal.repo.StreamCodecs;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.DecryptionStage;
import dev.drkit.spi.EncryptionStage;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.ManifestSigner;
import dev.drkit.spi.ManifestVerifier;
import dev.drkit.spi.RetentionPolicy;
import dev.drkit.spi.RetentionPolicyProvider;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.StorageBackendProvider;
import dev.drkit.spi.VerifierProvider;
import dev.drkit.spi.support.BackupIds;
import jakarta.inject.Inject;
import java.io.IOException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The drkit facade: backup, list, verify, restore and prune against one repository.
 *
 * <pre>{@code
 * try (DrKit dr = DrKit.builder().repository("file:/var/backups/drkit").build()) {
 *     BackupResult b = dr.backup(TargetSpec.files("config", "/etc/nginx"));
 *     dr.verify("config", b.id(), VerifyLevel.DECODE);
 *     dr.restore(RestoreRequest.files("config", b.id(), Path.of("/tmp/nginx-restored")));
 * }
 * }</pre>
 *
 * <p>Thread-safe: one instance serves concurrent calls; backups and prunes of one target
 * are serialised by a lock in the repository, which also keeps other processes and hosts
 * out. Calls throw {@link DrException} subclasses that say what failed and what to do.
 */
public final class DrKit implements AutoCloseable {
    private volatile boolean closed;

    private static final Logger LOG = LoggerFactory.getLogger(DrKit.class);

    private final DrKitConfig config;
    private final ProviderRegistry registry;
    private final StorageBackend storage;
    private final boolean ownsStorage;
    private final Repository repository;
    private final Clock clock;
    private final Set<String> configuredNames;
    private final OperationContext ctx;
    private final CatalogOperation catalog;
    private final BackupOperation backups;
    private final RestoreOperation restores;
    private final VerifyOperation verifications;
    private final CheckOperation checks;
    private final PruneOperation prunes;
    private final CopyOperation copies;
    private final StatusOperation statuses;

    private DrKit(Builder b) {
        this.registry = new ProviderRegistry(b.providers, b.discover ? b.classLoader : null);
        DrKitConfig cfg = b.config;
        if (b.storage != null && (cfg.repository() == null)) {
            cfg = cfg.toBuilder().repository(b.storage.describe()).build();
        }
        List<String> problems = cfg.validate();
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        this.config = cfg;
        // configured targets are checked and made before the storage is opened: a bad one fails the build
        String codec = cfg.compression();
        Map<String, BackupTarget> configured = new LinkedHashMap<>(b.targets);
        Map<String, Settings> kitSettings = new LinkedHashMap<>();
        b.targetKitSettings.forEach((name, kit) -> {
            new TargetSpec(name, b.targets.get(name).type(), kit).checkKitSettings(codec);
            kitSettings.put(name, kit);
        });
        b.specs.forEach((name, spec) -> {
            // dedup and compression-level are the kit's, for any type: the type never sees them
            spec.checkKitSettings(codec);
            configured.put(name, registry.target(spec.type()).create(spec.typeSettings()));
            kitSettings.put(name, spec.kitSettings());
        });
        StreamCodecs codecs = new StreamCodecs(
                Compression.parse(cfg.compression()),
                cfg.compressionLevel(),
                cfg.compressionWorkers(),
                b.encryption,
                b.decryption);
        this.ownsStorage = b.storage == null;
        this.storage = b.storage != null ? b.storage : OperationContext.openStorage(registry, cfg);
        // nothing is read or created yet: reading operations need an existing repository,
        // writing ones create it (see Repository#requireExisting and #initialise)
        this.clock = b.clock;
        this.repository = Repository.attach(storage, b.clock).trust(b.trusted);
        config.dedupKeyFile().ifPresent(repository::chunkKeyFile);
        this.configuredNames = Collections.unmodifiableSet(new LinkedHashSet<>(configured.keySet()));
        this.ctx = new OperationContext(
                cfg, registry, storage, repository, codecs, b.signer, b.clock, b.listeners, configured, kitSettings);
        this.catalog = new CatalogOperation(ctx);
        this.backups = new BackupOperation(ctx);
        this.restores = new RestoreOperation(ctx, catalog);
        this.verifications = new VerifyOperation(ctx, catalog);
        this.checks = new CheckOperation(ctx);
        this.prunes = new PruneOperation(ctx);
        this.copies = new CopyOperation(ctx, catalog);
        this.statuses = new StatusOperation(ctx);
    }

    /**
     * For DI containers: a kit on a configuration, with providers discovered on the class
     * path and the system clock.
     */
    @Inject
    public DrKit(DrKitConfig config) {
        this(builder().config(config));
    }

    public static Builder builder() {
        return new Builder();
    }

    /** The configuration in force. */
    public DrKitConfig config() {
        return config;
    }

    /** Where the repository is, safe to print. */
    public String repositoryDescription() {
        return repository.describe();
    }

    /**
     * Creates the repository when its location holds none (a backup does so too); reading
     * operations never do. Idempotent.
     *
     * @return the repository's id
     * @throws CorruptDataException when an existing repository's configuration is damaged
     */
    public String initRepository() {
        ensureOpen();
        return repository.initialise().id();
    }

    /** Adds a listener for progress and events. */
    public void addListener(DrListener listener) {
        ctx.addListener(listener);
    }

    /**
     * Backs up a target: streams its artifacts through compression and checksums into the
     * repository, then writes the manifest. On any failure nothing of the backup is listed
     * and what was written is removed.
     *
     * @throws RepositoryLockedException when another process is backing up or pruning this target
     */
    public BackupResult backup(TargetSpec spec) {
        ensureOpen();
        return backups.backup(spec);
    }

    /**
     * Backs up the target configured under {@code name} with {@link Builder#target(String,
     * BackupTarget)}, {@link Builder#target(String, BackupTarget, Settings)} or {@link
     * Builder#target(TargetSpec)}; restores of its backups use the same target instance.
     *
     * @throws ConfigException when no target is configured under that name
     */
    public BackupResult backup(String name) {
        ensureOpen();
        return backups.backup(name);
    }

    /**
     * The names of the targets configured with {@link Builder#target(String, BackupTarget)},
     * {@link Builder#target(String, BackupTarget, Settings)} or {@link Builder#target(TargetSpec)},
     * in the order they were configured.
     */
    public Set<String> configuredTargets() {
        return configuredNames;
    }

    /** Complete backups of one target (or of every target when null), oldest first. */
    public List<BackupManifest> list(String target) {
        ensureOpen();
        return catalog.list(target);
    }

    /**
     * Backups of one target (or of every target when null) whose manifests exist but cannot be
     * trusted: damaged or altered. They are left out of {@link #list}, of the newest-backup
     * choice and of retention; {@link #check} reports them.
     */
    public List<DamagedBackup> damaged(String target) {
        ensureOpen();
        return catalog.damaged(target);
    }

    /**
     * One backup's manifest; {@code backupId} null means the newest sound backup. Damaged
     * backups newer than it are passed over with a warning and a
     * {@link DrEvent.Type#DAMAGED_BACKUP_SKIPPED} event.
     *
     * @throws DamagedBackupException when the backup named by id cannot be trusted
     */
    public BackupManifest manifest(String target, String backupId) {
        ensureOpen();
        return catalog.manifest(target, backupId);
    }

    /** Verifies a backup at a level with default verifier options. */
    public VerifyReport verify(String target, String backupId, VerifyLevel level) {
        ensureOpen();
        return verify(target, backupId, level, Settings.empty());
    }

    /**
     * Runs every verifier of {@code level} and below that applies to the backup's type.
     * Problems in the backup are reported in the result (see {@link VerifyReport#passed()}),
     * not thrown.
     *
     * @param backupId the backup, or null for the newest
     */
    public VerifyReport verify(String target, String backupId, VerifyLevel level, Settings options) {
        ensureOpen();
        return verifications.verify(target, backupId, level, options);
    }

    /**
     * Checks the whole repository as a reader that trusts nothing in it (as restic's
     * {@code check} does): the configuration; every manifest against its checksum file, its
     * folder and (with trusted keys) its signature; every artifact and archived file (WAL)
     * present with its recorded size and a matching {@code .sha256} file; with
     * {@link CheckOptions#readData()} every stored byte; objects no backup accounts for,
     * backups and uploads left by crashed runs, stale locks. With {@link CheckOptions#repair()}
     * it removes what no backup needs, writes missing checksum files from verified data and
     * replaces a damaged configuration; it never deletes a listed backup. Problems are findings
     * in the report ({@link CheckReport#clean()}), not exceptions.
     *
     * @throws RepositoryNotFoundException when there is no repository
     * @throws StorageException when the storage fails
     */
    public CheckReport check(CheckOptions options) {
        ensureOpen();
        return checks.check(options);
    }

    /**
     * Whether each target's backups are fresh and proven: the newest backup against the RPO,
     * the newest verified backup, the newest restore test against the RTO. Targets are those in
     * the repository plus those named in {@code objectives} (one without any backup is unhealthy).
     *
     * @param objectives per target name; targets not in it have no objectives
     */
    public DrStatus status(Map<String, Objectives> objectives) {
        ensureOpen();
        return statuses.status(objectives);
    }

    /**
     * {@link #status(Map)} with the recovery testing schedule judged against {@code schedule}: per {@link
     * RecoveryTest}, when it last ran (from the verification records and from {@link #recordTest}) and when it
     * is due. Each target also carries the plan's verification checklist ({@link DrStatus.Target#checklist()}).
     *
     * @param objectives per target name; targets not in it have no objectives
     * @param schedule how often each test is due; {@link TestSchedule#plan()} for the classic plan's
     * @throws StorageException when the storage fails
     */
    public DrStatus status(Map<String, Objectives> objectives, TestSchedule schedule) {
        ensureOpen();
        return statuses.status(objectives, Objects.requireNonNull(schedule, "schedule"));
    }

    /**
     * The verifications of a target's backups recorded since a time, oldest first (for reports and
     * dashboards). Records that cannot be read are left out and logged.
     *
     * @param target the target name
     * @param since the earliest time to include
     * @throws StorageException when the storage fails
     */
    public List<VerificationRecord> verifications(String target, Instant since) {
        ensureOpen();
        return statuses.verifications(BackupIds.checkTargetName(target), Objects.requireNonNull(since, "since"));
    }

    /**
     * Records that a recovery test ran outside verification (a failover test or its dry run, the DR drill, a
     * manual full recovery), so that {@link #status(Map, TestSchedule)} shows when it last ran and when it is
     * due. The record is kept in the repository, write-once, at the kit's clock's time.
     *
     * @param test the test
     * @param passed whether it passed
     * @param took how long it took
     * @param note what was run, one line of at most 200 characters (no secrets: every reader of the repository
     *     sees it)
     * @throws ConfigException when the note is longer or has line breaks
     * @throws StorageException when the storage fails
     */
    public void recordTest(RecoveryTest test, boolean passed, Duration took, String note) {
        ensureOpen();
        statuses.record(test, passed, took, note);
    }

    /**
     * The clock the kit takes its time from: the builder's, else the system's in UTC. A scheduler
     * of the kit runs on it too, so that schedules and the age of backups agree. Never null.
     */
    public Clock clock() {
        return clock;
    }

    /**
     * Restores a backup into the destination named in the request's options. The
     * destination must be new or empty unless {@link RestoreRequest#force()} is set; a
     * corrupt backup leaves it as it was.
     */
    public RestoreResult restore(RestoreRequest request) {
        ensureOpen();
        return restores.restore(request);
    }

    /**
     * Applies a retention policy to one target (or every target when null): plans, keeps
     * what kept backups depend on, then deletes the expired backups (manifest first) and
     * removes incomplete backups left by interrupted runs. A dry run only plans.
     */
    public PruneResult prune(String target, RetentionPolicy policy, boolean dryRun) {
        ensureOpen();
        return prunes.prune(target, policy, dryRun);
    }

    /** The retention plan for a target, with every dependency of a kept backup kept too. */
    public RetentionPlan planWithDependencies(String target, RetentionPolicy policy) {
        ensureOpen();
        return prunes.planWithDependencies(target, policy);
    }

    /**
     * Replicates backups of a target to another repository (an offsite copy), checking every
     * stored byte against the manifest as it streams; backups the destination already has are
     * skipped, and an interrupted copy resumes where it stopped when run again.
     *
     * @param backupId the backup to copy, or null with {@code all} false for the newest
     * @param all copy every complete backup of the target
     * @param destination the other repository's storage (not closed)
     * @throws CopyIncompleteException when stored data is damaged or missing: with {@code all},
     *     backups whose data is damaged are left out and the others copied; archived files (WAL)
     *     that are damaged are left out and the others copied; the exception's result says what
     *     was copied and what was left out, and why. One backup asked for by id whose data is
     *     damaged fails with the error that names the damage.
     */
    public CopyResult copy(String target, String backupId, boolean all, StorageBackend destination) {
        ensureOpen();
        return copies.copy(target, backupId, all, destination);
    }

    /**
     * Until when the storage refuses to delete a backup (S3 Object Lock): the time its
     * manifest records, or what the storage says of a copied one. Empty when it is not locked.
     */
    public Optional<Instant> lockedUntil(BackupManifest manifest) {
        ensureOpen();
        return Optional.ofNullable(repository.lockedUntil(manifest));
    }

    /**
     * An area of this repository for files that belong to no single backup ({@code wal} for
     * PostgreSQL WAL), stored with this instance's compression and encryption.
     */
    public FileArchive archive(String area) {
        ensureOpen();
        return ctx.archive(area);
    }

    /**
     * The storage backend the host gave {@link Builder#storage}, which this kit reads and writes
     * instead of its configured repository URI; empty when the kit opened its repository itself.
     * For helpers that keep files beside the backups (the scheduler's job locks): they must use
     * the storage the backups go to. Not to be closed by the caller.
     */
    public Optional<StorageBackend> givenStorage() {
        ensureOpen();
        return ownsStorage ? Optional.empty() : Optional.of(storage);
    }

    /** Opens the storage of another repository by URI (for {@link #copy}); the caller closes it. */
    public StorageBackend openStorage(String uriOrPath) {
        ensureOpen();
        return OperationContext.openStorage(
                registry, config.toBuilder().repository(uriOrPath).build());
    }

    /** Closes the storage backend when this kit opened it. */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        if (ownsStorage) {
            try {
                storage.close();
            } catch (IOException e) {
                LOG.warn("closing storage failed: {}", e.getMessage());
            }
        }
    }

    private void ensureOpen() {
        if (closed) {
            throw new IllegalStateException("this DrKit is closed; build a new one to go on");
        }
    }

    /** Builds a {@link DrKit}. Not thread-safe. */
    public static final class Builder {
        private DrKitConfig config = DrKitConfig.builder().build();
        private StorageBackend storage;
        private final List<Object> providers = new ArrayList<>();
        private final List<DrListener> listeners = new ArrayList<>();
        private final Map<String, BackupTarget> targets = new LinkedHashMap<>();
        private final Map<String, Settings> targetKitSettings = new LinkedHashMap<>();
        private final Map<String, TargetSpec> specs = new LinkedHashMap<>();
        private boolean discover = true;
        private ClassLoader classLoader = DrKit.class.getClassLoader();
        private Clock clock = Clock.systemUTC();
        private EncryptionStage encryption;
        private DecryptionStage decryption;
        private ManifestSigner signer;
        private ManifestVerifier trusted;

        /**
         * Encrypts new artifacts after compression (e.g. OpenPGP from {@code dr-crypto}); the
         * recipients are recorded in the manifest. Null (the default) stores them unencrypted.
         */
        public Builder encryption(EncryptionStage stage) {
            this.encryption = stage;
            return this;
        }

        /** Opens encrypted artifacts on restore and decode verification; null when there is no key. */
        public Builder decryption(DecryptionStage stage) {
            this.decryption = stage;
            return this;
        }

        /** Signs every new manifest (detached signature beside it). */
        public Builder signer(ManifestSigner signer) {
            this.signer = signer;
            return this;
        }

        /**
         * Trusted manifest signatures: restore and verify refuse a backup whose manifest is not
         * signed by one of these keys.
         */
        public Builder trustedSignatures(ManifestVerifier verifier) {
            this.trusted = verifier;
            return this;
        }

        /** The whole configuration at once. */
        public Builder config(DrKitConfig config) {
            this.config = Objects.requireNonNull(config, "config");
            return this;
        }

        /** The repository URI ({@code file:/path}, {@code s3://...}) or a plain path. */
        public Builder repository(String uriOrPath) {
            this.config = config.toBuilder().repository(uriOrPath).build();
            return this;
        }

        /** A storage backend the host built; it wins over the repository URI and is not closed. */
        public Builder storage(StorageBackend storage) {
            this.storage = Objects.requireNonNull(storage, "storage");
            return this;
        }

        /** Compression for new artifacts: zstd (default), gzip, lz4, xz or none. */
        public Builder compression(String codec) {
            this.config = config.toBuilder().compression(codec).build();
            return this;
        }

        /**
         * Stores backups deduplicated in the repository's chunk store: chunks an earlier backup
         * stored are not stored again (see {@link DrKitConfig#dedup()}). A target's {@code dedup}
         * setting overrides this.
         */
        public Builder dedup(boolean on) {
            this.config = config.toBuilder().dedup(on).build();
            return this;
        }

        /**
         * Registers a provider explicitly: a {@link dev.drkit.spi.StorageBackendProvider},
         * {@link dev.drkit.spi.BackupTargetProvider}, {@link dev.drkit.spi.RetentionPolicyProvider}
         * or {@link dev.drkit.spi.VerifierProvider}. Explicit providers win over discovered ones.
         */
        public Builder register(Object provider) {
            Objects.requireNonNull(provider, "provider");
            if (!(provider instanceof StorageBackendProvider
                    || provider instanceof BackupTargetProvider
                    || provider instanceof RetentionPolicyProvider
                    || provider instanceof VerifierProvider)) {
                throw new IllegalArgumentException(provider.getClass().getName() + " is not a drkit provider");
            }
            providers.add(provider);
            return this;
        }

        /**
         * Configures a target the host built itself (around its own client, connection pool or
         * DataSource) under a name: {@link DrKit#backup(String)} backs it up, and restores of that
         * name's backups go through this same instance.
         */
        public Builder target(String name, BackupTarget target) {
            return target(name, target, Settings.empty());
        }

        /**
         * As {@link #target(String, BackupTarget)}, with the settings every type takes for this
         * target: {@value TargetSpec#DEDUP} and {@value TargetSpec#COMPRESSION_LEVEL} (for
         * example {@code new TargetSpec(name, type, settings).kitSettings()}, the type's own
         * settings having gone to the target's builder as {@link TargetSpec#typeSettings()}).
         *
         * @throws ConfigException for any other setting here; a value those two do not take fails
         *     {@link #build()}
         */
        public Builder target(String name, BackupTarget target, Settings kitSettings) {
            Objects.requireNonNull(target, "target");
            Objects.requireNonNull(target.type(), "the target's type()");
            Objects.requireNonNull(kitSettings, "kitSettings");
            TargetSpec spec = new TargetSpec(name, target.type(), kitSettings);
            if (!spec.typeSettings().keys().isEmpty()) {
                throw new ConfigException("target '" + name + "': "
                        + String.join(", ", spec.typeSettings().keys())
                        + " is not a setting of every type (those are " + TargetSpec.DEDUP + " and "
                        + TargetSpec.COMPRESSION_LEVEL + "); give the type's own settings to the target's builder");
            }
            targets.put(unconfigured(name), target);
            targetKitSettings.put(name, kitSettings);
            return this;
        }

        /**
         * Configures a target from its settings, created once by its type's provider when the kit is
         * built (so that invalid settings fail then): {@link DrKit#backup(String)} backs it up, and
         * restores of that name's backups go through the same instance.
         */
        public Builder target(TargetSpec spec) {
            Objects.requireNonNull(spec, "spec");
            specs.put(unconfigured(spec.name()), spec);
            return this;
        }

        private String unconfigured(String name) {
            BackupIds.checkTargetName(name);
            if (targets.containsKey(name) || specs.containsKey(name)) {
                throw new IllegalArgumentException("a target named '" + name + "' is configured already");
            }
            return name;
        }

        /** Whether to discover providers with {@link java.util.ServiceLoader} (default true). */
        public Builder discoverProviders(boolean discover) {
            this.discover = discover;
            return this;
        }

        /** Where to discover providers (default: drkit's own class loader). */
        public Builder classLoader(ClassLoader loader) {
            this.classLoader = Objects.requireNonNull(loader, "loader");
            return this;
        }

        public Builder listener(DrListener listener) {
            listeners.add(Objects.requireNonNull(listener, "listener"));
            return this;
        }

        /** Progress reports only. */
        public Builder onProgress(Consumer<Progress> progress) {
            Objects.requireNonNull(progress, "progress");
            return listener(new DrListener() {
                @Override
                public void onProgress(Progress p) {
                    progress.accept(p);
                }
            });
        }

        public Builder clock(Clock clock) {
            this.clock = Objects.requireNonNull(clock, "clock");
            return this;
        }

        /**
         * Builds the kit and opens (initialising when new) the repository.
         *
         * @throws ConfigException listing every configuration problem
         */
        public DrKit build() {
            return new DrKit(this);
        }
    }
}
