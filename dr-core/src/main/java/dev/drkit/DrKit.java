package dev.drkit;

import dev.drkit.DrException.ErrorCode;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.internal.pipeline.ProgressMeter;
import dev.drkit.internal.registry.ProviderRegistry;
import dev.drkit.internal.repo.ArchiveArea;
import dev.drkit.internal.repo.ArtifactWriter;
import dev.drkit.internal.repo.Repository;
import dev.drkit.internal.repo.RepositoryCheck;
import dev.drkit.internal.repo.RepositoryLock;
import dev.drkit.internal.repo.StreamCodecs;
import dev.drkit.internal.repo.VerificationLog;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.DecryptionStage;
import dev.drkit.spi.EncryptionStage;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.ManifestSigner;
import dev.drkit.spi.ManifestVerifier;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.RetentionPolicy;
import dev.drkit.spi.RetentionPolicyProvider;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.StorageBackendProvider;
import dev.drkit.spi.StorageIOException;
import dev.drkit.spi.VerificationContext;
import dev.drkit.spi.VerifierProvider;
import dev.drkit.spi.support.BackupIds;
import dev.drkit.spi.support.Hosts;
import dev.drkit.spi.support.Json;
import dev.drkit.spi.support.StorageFailures;
import jakarta.inject.Inject;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.SortedSet;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.function.Consumer;
import java.util.stream.Collectors;
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
    private static final Logger LOG = LoggerFactory.getLogger(DrKit.class);
    private static final String VERSION = Optional.ofNullable(
                    DrKit.class.getPackage().getImplementationVersion())
            .orElse("dev");

    private final DrKitConfig config;
    private final ProviderRegistry registry;
    private final StorageBackend storage;
    private final boolean ownsStorage;
    private final Repository repository;
    private final Clock clock;
    private final List<DrListener> listeners;
    private final StreamCodecs codecs;
    private final ManifestSigner signer;

    private DrKit(Builder b) {
        this.clock = b.clock;
        this.listeners = new CopyOnWriteArrayList<>(b.listeners);
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
        this.codecs = new StreamCodecs(
                Compression.parse(cfg.compression()),
                cfg.compressionLevel(),
                cfg.compressionWorkers(),
                b.encryption,
                b.decryption);
        this.signer = b.signer;
        this.ownsStorage = b.storage == null;
        this.storage = b.storage != null ? b.storage : openStorage(cfg);
        // nothing is read or created yet: reading operations need an existing repository,
        // writing ones create it (see Repository#requireExisting and #initialise)
        this.repository = Repository.attach(storage, clock).trust(b.trusted);
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

    private StorageBackend openStorage(DrKitConfig cfg) {
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
        return repository.initialise().id();
    }

    /** Adds a listener for progress and events. */
    public void addListener(DrListener listener) {
        listeners.add(Objects.requireNonNull(listener, "listener"));
    }

    // ---------------------------------------------------------------- backup

    /**
     * Backs up a target: streams its artifacts through compression and checksums into the
     * repository, then writes the manifest. On any failure nothing of the backup is listed
     * and what was written is removed.
     *
     * @throws RepositoryLockedException when another process is backing up or pruning this target
     */
    public BackupResult backup(TargetSpec spec) {
        BackupTarget target = registry.target(spec.type()).create(spec.settings());
        repository.initialise();
        try (RepositoryLock lock = lock(spec.name(), "backup")) {
            return backupLocked(spec, target);
        }
    }

    private BackupResult backupLocked(TargetSpec spec, BackupTarget target) {
        Instant started = clock.instant();
        String id = BackupIds.next(started);
        ProgressMeter meter = meter("backup", spec.name());
        Backup ctx = new Backup(spec.name(), id, meter);
        emit(DrEvent.Type.BACKUP_STARTED, spec.name(), id, "backup of " + spec.name() + " started", Map.of());
        try {
            target.backup(ctx);
            List<ArtifactInfo> artifacts = ctx.finish();
            meter.finish();
            BackupManifest manifest = new BackupManifest(
                    BackupManifest.FORMAT,
                    id,
                    spec.name(),
                    target.type(),
                    ctx.kind,
                    ctx.parent,
                    ctx.dependsOn,
                    started,
                    clock.instant(),
                    VERSION,
                    Hosts.name(),
                    artifacts,
                    ctx.metadata,
                    repository.retainUntil());
            repository.writeManifest(manifest, signer);
            BackupResult result = new BackupResult(manifest);
            emit(
                    DrEvent.Type.BACKUP_SUCCEEDED,
                    spec.name(),
                    id,
                    "backup " + id + " of " + spec.name()
                            + (result.incomplete()
                                    ? " stored, but incomplete: " + result.incompleteFileCount()
                                            + " file(s) changed or vanished while they were copied"
                                    : " complete"),
                    Map.of(
                            "rawBytes",
                            manifest.rawSize(),
                            "storedBytes",
                            manifest.storedSize(),
                            "incompleteFiles",
                            result.incompleteFileCount()));
            return result;
        } catch (IOException | RuntimeException e) {
            ctx.abort();
            removeQuietly(spec.name(), id);
            DrException error = asDrException(
                    e,
                    "backup of " + spec.name(),
                    "reading its source",
                    "check that the source is reachable and readable, then back it up again");
            emit(
                    DrEvent.Type.BACKUP_FAILED,
                    spec.name(),
                    id,
                    error.getMessage(),
                    Map.of("code", error.code().name()));
            throw error;
        }
    }

    private void removeQuietly(String target, String id) {
        try {
            repository.deleteBackup(target, id);
        } catch (RuntimeException e) {
            LOG.warn(
                    "could not remove the objects of failed backup {}/{}; the next prune will: {}",
                    target,
                    id,
                    e.getMessage());
        }
    }

    // ---------------------------------------------------------------- list

    /** Complete backups of one target (or of every target when null), oldest first. */
    public List<BackupManifest> list(String target) {
        List<String> targets = target == null ? repository.targets() : List.of(BackupIds.checkTargetName(target));
        List<BackupManifest> out = new ArrayList<>();
        for (String t : targets) {
            out.addAll(repository.manifests(t));
        }
        return out;
    }

    /**
     * Backups of one target (or of every target when null) whose manifests exist but cannot be
     * trusted: damaged or altered. They are left out of {@link #list}, of the newest-backup
     * choice and of retention; {@link #check} reports them.
     */
    public List<DamagedBackup> damaged(String target) {
        List<String> targets = target == null ? repository.targets() : List.of(BackupIds.checkTargetName(target));
        List<DamagedBackup> out = new ArrayList<>();
        for (String t : targets) {
            out.addAll(repository.catalog(t).damaged());
        }
        return out;
    }

    /**
     * One backup's manifest; {@code backupId} null means the newest sound backup. Damaged
     * backups newer than it are passed over with a warning and a
     * {@link DrEvent.Type#DAMAGED_BACKUP_SKIPPED} event.
     *
     * @throws DamagedBackupException when the backup named by id cannot be trusted
     */
    public BackupManifest manifest(String target, String backupId) {
        if (backupId != null) {
            return repository.manifest(BackupIds.checkTargetName(target), BackupIds.check(backupId));
        }
        Repository.Catalog catalog = repository.catalog(BackupIds.checkTargetName(target));
        BackupManifest newest = catalog.latest()
                .orElseThrow(() -> new BackupNotFoundException(
                        "target '" + target + "' has no complete backup in " + repository.describe()
                                + (catalog.damaged().isEmpty()
                                        ? ""
                                        : " (" + catalog.damaged().size() + " damaged ones are left out)")
                                + "; listing the repository shows the targets and backups"));
        for (DamagedBackup d : catalog.damaged()) {
            if (d.id().compareTo(newest.id()) > 0) {
                String message = "passed over damaged backup " + target + "/" + d.id() + " (" + d.reason()
                        + "); the newest sound backup is " + newest.id();
                LOG.warn(message);
                emit(DrEvent.Type.DAMAGED_BACKUP_SKIPPED, target, d.id(), message, Map.of("reason", d.reason()));
            }
        }
        return newest;
    }

    // ---------------------------------------------------------------- verify

    /** Verifies a backup at a level with default verifier options. */
    public VerifyReport verify(String target, String backupId, VerifyLevel level) {
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
        BackupManifest m = manifest(target, backupId);
        List<VerifierProvider> providers = registry.verifiers(m.type(), level);
        List<VerificationResult> results = new ArrayList<>();
        ProgressMeter meter = meter("verify", target);
        Verification ctx = new Verification(m, options, meter);
        for (VerifierProvider p : providers) {
            try {
                results.add(p.create(options).verify(ctx));
            } catch (IOException e) {
                throw asDrException(e, "verifying " + target + "/" + m.id() + " with " + p.name());
            }
        }
        meter.finish();
        VerifyReport report = new VerifyReport(target, m.id(), level, results);
        try {
            new VerificationLog(storage)
                    .record(
                            report,
                            clock.instant(),
                            results.stream()
                                            .mapToLong(r -> r.duration().toMillis())
                                            .sum()
                                    / 1000.0);
        } catch (IOException | RuntimeException e) {
            LOG.warn(
                    "could not record the verification of {}/{} in the repository (status will not show it): {}",
                    target,
                    m.id(),
                    e.toString());
        }
        emit(
                report.passed() ? DrEvent.Type.VERIFY_SUCCEEDED : DrEvent.Type.VERIFY_FAILED,
                target,
                m.id(),
                report.passed()
                        ? "backup " + m.id() + " verified at level " + level
                        : "backup " + m.id() + " failed verification: " + String.join("; ", report.problems()),
                Map.of("level", level.name()));
        return report;
    }

    // ---------------------------------------------------------------- check

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
        Objects.requireNonNull(options, "options");
        ProgressMeter meter = meter("check", null);
        try {
            CheckReport report =
                    new RepositoryCheck(repository, clock, config.lockTtl(), meter, archiveAreas()).run(options);
            meter.finish();
            return report;
        } catch (IOException e) {
            throw repository.storageError("checking the repository", e);
        }
    }

    /** The archive areas (e.g. {@code wal}) of the backup types in the repository and of the registered ones. */
    private Set<String> archiveAreas() {
        Set<String> types = new TreeSet<>(registry.targetTypes());
        try {
            for (String t : repository.targets()) {
                repository.catalog(t).backups().forEach(m -> types.add(m.type()));
            }
        } catch (RepositoryNotFoundException e) {
            // nothing to read: the check says so itself
        }
        Set<String> areas = new TreeSet<>();
        for (String type : types) {
            try {
                areas.addAll(registry.target(type).create(Settings.empty()).archiveAreas());
            } catch (RuntimeException e) {
                LOG.warn(
                        "cannot tell which files backups of type {} keep besides their own; a check leaves them "
                                + "alone: {}",
                        type,
                        e.getMessage());
            }
        }
        return areas;
    }

    // ---------------------------------------------------------------- status

    /**
     * Whether each target's backups are fresh and proven: the newest backup against the RPO,
     * the newest verified backup, the newest restore test against the RTO. Targets are those in
     * the repository plus those named in {@code objectives} (one without any backup is unhealthy).
     *
     * @param objectives per target name; targets not in it have no objectives
     */
    public DrStatus status(Map<String, Objectives> objectives) {
        repository.requireExisting();
        SortedSet<String> names = new TreeSet<>(repository.targets());
        names.addAll(objectives.keySet());
        Instant now = clock.instant();
        List<DrStatus.Target> out = new ArrayList<>();
        VerificationLog log = new VerificationLog(storage);
        for (String name : names) {
            out.add(targetStatus(name, objectives.getOrDefault(name, new Objectives(null, null)), now, log));
        }
        String config = repository.configProblem();
        List<String> problems = config == null ? List.of() : List.of(config);
        return new DrStatus(now, problems.isEmpty() && out.stream().allMatch(DrStatus.Target::healthy), out, problems);
    }

    private DrStatus.Target targetStatus(String name, Objectives o, Instant now, VerificationLog log) {
        List<String> problems = new ArrayList<>();
        Repository.Catalog catalog = repository.catalog(BackupIds.checkTargetName(name));
        List<BackupManifest> backups = catalog.backups();
        if (!catalog.damaged().isEmpty()) {
            problems.add(catalog.damaged().size() + " damaged backup(s): "
                    + catalog.damaged().stream()
                            .map(d -> d.id() + " (" + d.reason() + ")")
                            .collect(Collectors.joining(", ")));
        }
        BackupManifest newest = backups.stream()
                .max(Comparator.comparing(BackupManifest::finishedAt))
                .orElse(null);
        Long rpo = o.rpo() == null ? null : o.rpo().toSeconds();
        Long rto = o.rto() == null ? null : o.rto().toSeconds();
        Double age = newest == null
                ? null
                : Duration.between(newest.finishedAt(), now).toMillis() / 1000.0;
        boolean rpoMet = newest != null && (rpo == null || age <= rpo);
        if (newest == null) {
            problems.add("no backup");
        } else if (!rpoMet) {
            problems.add(String.format(
                    Locale.ROOT, "newest backup %s is %.0f s old; the RPO is %d s", newest.id(), age, rpo));
        }
        BackupResult newestResult = newest == null ? null : new BackupResult(newest);
        if (newestResult != null && newestResult.incomplete()) {
            List<String> named = newestResult.incompleteFiles();
            problems.add("newest backup " + newest.id() + " is incomplete: " + newestResult.incompleteFileCount()
                    + " file(s) changed or vanished while they were copied ("
                    + String.join(", ", named.subList(0, Math.min(5, named.size())))
                    + (newestResult.incompleteFileCount() > 5 ? ", ..." : "")
                    + "); take a new backup when the files are at rest");
        }
        VerificationLog.Entry verified = null;
        VerificationLog.Entry restoreTest = null;
        try {
            Set<String> kept = backups.stream().map(BackupManifest::id).collect(Collectors.toSet());
            verified = log.newest(
                            name,
                            n -> n.endsWith("-passed.json") && kept.stream().anyMatch(n::contains))
                    .orElse(null);
            restoreTest =
                    log.newest(name, n -> n.endsWith("-restore-passed.json")).orElse(null);
            log.newest(name, n -> true)
                    .filter(e -> !e.passed())
                    .ifPresent(e -> problems.add("the newest verification ("
                            + e.backupId() + " at " + e.at() + ", level "
                            + e.level().name().toLowerCase() + ") failed: "
                            + String.join("; ", e.problems())));
        } catch (IOException e) {
            problems.add("cannot read the verification records: " + e.getMessage());
        }
        Double restoreSeconds = restoreTest == null ? null : restoreTest.restoreSeconds();
        boolean rtoMet = rto == null || restoreSeconds == null || restoreSeconds <= rto;
        if (!rtoMet) {
            problems.add(String.format(
                    Locale.ROOT, "the newest restore test took %.0f s; the RTO is %d s", restoreSeconds, rto));
        }
        return new DrStatus.Target(
                name,
                newest == null ? null : newest.id(),
                newest == null ? null : newest.finishedAt(),
                age,
                rpo,
                rpoMet,
                verified == null ? null : verified.backupId(),
                verified == null ? null : verified.at(),
                verified == null ? null : verified.level().name().toLowerCase(),
                restoreSeconds,
                rto,
                rtoMet,
                problems.isEmpty(),
                List.copyOf(problems));
    }

    /** Sends an event to this kit's listeners (for schedulers and host code that act on drkit's behalf). */
    public void publish(DrEvent event) {
        for (DrListener l : listeners) {
            try {
                l.onEvent(event);
            } catch (RuntimeException e) {
                LOG.warn("drkit listener {} failed on event {}: {}", l, event.type(), e.toString());
            }
        }
    }

    // ---------------------------------------------------------------- coordination

    /** What {@link #runOncePerSlot} did. */
    public enum SlotOutcome {
        /** This instance ran the job for the slot. */
        RAN,
        /** The job had already run for this slot (here or on another instance). */
        ALREADY_DONE,
        /** Another live instance is running it now; ask again later. */
        BUSY
    }

    /**
     * Runs a scheduled job at most once per slot, however many instances (threads, processes,
     * hosts) share this repository: under a repository lock for the job (renewed while it
     * runs, taken over when its holder's process is gone or its lease expired), and only if no
     * completion marker for the slot exists; the marker is written when {@code job} returns.
     * A job that throws leaves no marker, so a later call retries the slot.
     *
     * @param job a name for the job, e.g. {@code backup-config} (letters, digits, {@code . _ -})
     * @param slot the scheduled time this run stands for
     */
    public SlotOutcome runOncePerSlot(String job, Instant slot, Runnable work) {
        String marker = "status/jobs/" + BackupIds.checkTargetName(job) + "/"
                + DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'")
                        .withZone(ZoneOffset.UTC)
                        .format(slot)
                + ".json";
        repository.initialise();
        RepositoryLock lock;
        try {
            lock = RepositoryLock.acquire(
                    storage,
                    "job-" + job,
                    "scheduled " + job,
                    config.lockTtl(),
                    Duration.ZERO,
                    clock,
                    holder -> emit(
                            DrEvent.Type.STALE_LOCK_TAKEN_OVER,
                            null,
                            null,
                            "took over the lock of job " + job + " from " + holder,
                            Map.of("holder", holder)));
        } catch (RepositoryLockedException e) {
            return SlotOutcome.BUSY;
        }
        try (lock) {
            if (storage.stat(marker).isPresent()) {
                return SlotOutcome.ALREADY_DONE;
            }
            work.run();
            storage.createIfAbsent(
                    marker,
                    Json.write(Map.of(
                            "job",
                            job,
                            "slot",
                            slot.toString(),
                            "host",
                            Hosts.name(),
                            "pid",
                            ProcessHandle.current().pid(),
                            "finishedAt",
                            clock.instant().toString())));
            return SlotOutcome.RAN;
        } catch (IOException e) {
            throw new StorageException(
                    "recording the run of job " + job + " for " + slot + " failed: " + e.getMessage(),
                    e,
                    StorageFailures.classify(e).retryable());
        }
    }

    // ---------------------------------------------------------------- restore

    /**
     * Restores a backup into the destination named in the request's options. The
     * destination must be new or empty unless {@link RestoreRequest#force()} is set; a
     * corrupt backup leaves it as it was.
     */
    public RestoreResult restore(RestoreRequest request) {
        BackupManifest m = manifest(request.target(), request.backupId());
        BackupTarget target = registry.target(m.type()).create(Settings.empty());
        long start = System.nanoTime();
        ProgressMeter meter = meter("restore", request.target());
        meter.total(m.rawSize());
        emit(DrEvent.Type.RESTORE_STARTED, m.target(), m.id(), "restore of " + m.id() + " started", Map.of());
        try {
            target.restore(new Restore(m, request, meter));
            meter.finish();
        } catch (IOException | RuntimeException e) {
            DrException error = asDrException(
                    e,
                    "restore of " + m.target() + "/" + m.id(),
                    "writing its destination",
                    "check that the destination is reachable, writable and has space, " + "then restore again");
            emit(DrEvent.Type.RESTORE_FAILED, m.target(), m.id(), error.getMessage(), Map.of());
            throw error;
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        emit(
                DrEvent.Type.RESTORE_SUCCEEDED,
                m.target(),
                m.id(),
                "restore of " + m.id() + " complete",
                Map.of("seconds", took.toMillis() / 1000.0));
        return new RestoreResult(m.target(), m.id(), meter.snapshot().bytesDone(), took);
    }

    // ---------------------------------------------------------------- prune

    /**
     * Applies a retention policy to one target (or every target when null): plans, keeps
     * what kept backups depend on, then deletes the expired backups (manifest first) and
     * removes incomplete backups left by interrupted runs. A dry run only plans.
     */
    public PruneResult prune(String target, RetentionPolicy policy, boolean dryRun) {
        Objects.requireNonNull(policy, "policy");
        repository.requireExisting();
        List<String> targets = target == null ? repository.targets() : List.of(BackupIds.checkTargetName(target));
        Map<String, List<DamagedBackup>> damaged = new LinkedHashMap<>();
        for (String t : repository.targets()) {
            List<DamagedBackup> d = repository.catalog(t).damaged();
            if (!d.isEmpty()) {
                damaged.put(t, d);
                LOG.warn(
                        "prune leaves {} damaged backup(s) of {} as they are and prunes no archived files while "
                                + "they exist: {}",
                        d.size(),
                        t,
                        d.stream().map(DamagedBackup::id).toList());
            }
        }
        Map<String, RetentionPlan> plans = new LinkedHashMap<>();
        Map<String, List<String>> deleted = new LinkedHashMap<>();
        Map<String, List<String>> incomplete = new LinkedHashMap<>();
        Map<String, List<String>> archive = new LinkedHashMap<>();
        for (String t : targets) {
            if (dryRun) {
                RetentionPlan plan = planWithDependencies(t, policy);
                plans.put(t, plan);
                deleted.put(
                        t,
                        plan.expired().stream()
                                .map(RetentionPlan.Decision::backupId)
                                .toList());
                incomplete.put(t, List.copyOf(repository.incomplete(t).keySet()));
                archive.put(t, damaged.isEmpty() ? pruneArchive(t, Set.copyOf(deleted.get(t)), true) : List.of());
                continue;
            }
            try (RepositoryLock lock = lock(t, "prune")) {
                incomplete.put(t, removeIncomplete(t));
                RetentionPlan plan = planWithDependencies(t, policy);
                plans.put(t, plan);
                List<String> gone = new ArrayList<>();
                for (RetentionPlan.Decision d : plan.expired()) {
                    repository.deleteBackup(t, d.backupId());
                    gone.add(d.backupId());
                    emit(
                            DrEvent.Type.BACKUP_EXPIRED,
                            t,
                            d.backupId(),
                            "expired backup " + d.backupId(),
                            Map.of("reasons", d.reasons()));
                }
                deleted.put(t, gone);
                archive.put(t, damaged.isEmpty() ? pruneArchive(t, Set.of(), false) : List.of());
            }
        }
        if (!dryRun) {
            try {
                storage.cleanIncompleteUploads(Duration.ofDays(1));
            } catch (IOException e) {
                LOG.warn("could not clean up incomplete uploads: {}", e.getMessage());
            }
        }
        return new PruneResult(dryRun, plans, deleted, incomplete, archive, damaged);
    }

    /** Lets the target type remove archived files (WAL) that no kept backup of that type needs. */
    private List<String> pruneArchive(String target, Set<String> expiring, boolean dryRun) {
        List<BackupManifest> own = repository.manifests(target);
        if (own.isEmpty()) {
            return List.of(); // nothing kept: the archive stays as it is rather than emptied
        }
        String type = own.get(0).type();
        List<BackupManifest> kept = new ArrayList<>();
        for (String t : repository.targets()) {
            for (BackupManifest m : repository.manifests(t)) {
                if (m.type().equals(type) && !(t.equals(target) && expiring.contains(m.id()))) {
                    kept.add(m);
                }
            }
        }
        if (kept.isEmpty()) {
            return List.of();
        }
        try {
            return registry.target(type).create(Settings.empty()).pruneArchive(kept, this::archive, dryRun);
        } catch (IOException e) {
            throw repository.storageError("pruning the archive of " + target, e);
        } catch (RuntimeException e) {
            // one odd manifest (a foreign type, bad metadata) must not stop pruning the others
            LOG.warn("could not prune the archive of {}: {}", target, e.getMessage());
            return List.of();
        }
    }

    /** The retention plan for a target, with every dependency of a kept backup kept too. */
    public RetentionPlan planWithDependencies(String target, RetentionPolicy policy) {
        Repository.Catalog catalog = repository.catalog(target);
        List<BackupManifest> manifests = catalog.backups();
        // a damaged backup cannot say what it needs: nothing older than the newest damaged one goes
        String newestDamaged = catalog.damaged().stream()
                .map(DamagedBackup::id)
                .max(String::compareTo)
                .orElse(null);
        RetentionPlan plan = policy.plan(manifests, clock);
        Map<String, BackupManifest> byId = new LinkedHashMap<>();
        manifests.forEach(m -> byId.put(m.id(), m));
        Map<String, List<String>> neededBy = new LinkedHashMap<>();
        Set<String> kept = new HashSet<>();
        plan.kept().forEach(d -> kept.add(d.backupId()));
        Instant now = clock.instant();
        Map<String, Instant> locked = new HashMap<>(); // the storage would refuse to delete them yet
        for (RetentionPlan.Decision d : plan.expired()) {
            BackupManifest m = byId.get(d.backupId());
            Instant until = m == null ? null : repository.lockedUntil(m);
            if (until != null && until.isAfter(now)) {
                locked.put(d.backupId(), until);
                kept.add(d.backupId());
            }
        }
        List<String> queue = new ArrayList<>(kept);
        while (!queue.isEmpty()) {
            BackupManifest m = byId.get(queue.remove(queue.size() - 1));
            if (m == null) {
                continue;
            }
            for (String dep : dependencies(m)) {
                neededBy.computeIfAbsent(dep, k -> new ArrayList<>()).add(m.id());
                if (kept.add(dep)) {
                    queue.add(dep);
                }
            }
        }
        List<RetentionPlan.Decision> decisions = new ArrayList<>();
        for (RetentionPlan.Decision d : plan.decisions()) {
            List<String> deps = neededBy.get(d.backupId());
            if (!d.keep() && locked.containsKey(d.backupId())) {
                decisions.add(new RetentionPlan.Decision(
                        d.backupId(),
                        d.time(),
                        true,
                        List.of("immutable until " + locked.get(d.backupId()) + " (Object Lock)")));
            } else if (!d.keep() && deps != null) {
                decisions.add(new RetentionPlan.Decision(
                        d.backupId(), d.time(), true, List.of("needed by kept backup " + String.join(", ", deps))));
            } else if (!d.keep() && newestDamaged != null && d.backupId().compareTo(newestDamaged) < 0) {
                decisions.add(new RetentionPlan.Decision(
                        d.backupId(),
                        d.time(),
                        true,
                        List.of("older than damaged backup " + newestDamaged + ", which may need it")));
            } else {
                decisions.add(d);
            }
        }
        return new RetentionPlan(plan.policy(), decisions);
    }

    /** What a backup needs besides itself: its type's answer, or its recorded parent and dependencies. */
    private List<String> dependencies(BackupManifest m) {
        try {
            return registry.target(m.type()).create(Settings.empty()).dependencies(m);
        } catch (RuntimeException e) {
            LOG.warn(
                    "backup {}/{} is of type {}, which this drkit cannot read ({}); keeping what it records it "
                            + "needs",
                    m.target(),
                    m.id(),
                    m.type(),
                    e.getMessage());
            List<String> deps = new ArrayList<>(m.dependsOn());
            if (m.parent() != null) {
                deps.add(m.parent());
            }
            return deps;
        }
    }

    private List<String> removeIncomplete(String target) {
        List<String> removed = new ArrayList<>();
        for (String id : repository.incomplete(target).keySet()) {
            repository.deleteBackup(target, id);
            removed.add(id);
            emit(DrEvent.Type.INCOMPLETE_BACKUP_REMOVED, target, id, "removed incomplete backup " + id, Map.of());
        }
        return removed;
    }

    // ---------------------------------------------------------------- copy

    /**
     * Replicates backups of a target to another repository (an offsite copy), checking every
     * stored byte against the manifest as it streams; backups the destination already has are
     * skipped, and an interrupted copy resumes where it stopped when run again.
     *
     * @param backupId the backup to copy, or null with {@code all} false for the newest
     * @param all copy every complete backup of the target
     * @param destination the other repository's storage (not closed)
     */
    public CopyResult copy(String target, String backupId, boolean all, StorageBackend destination) {
        List<BackupManifest> backups = all ? list(target) : List.of(manifest(target, backupId));
        Repository to = Repository.open(destination, clock.instant()); // after the source proved to be one
        List<String> copied = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        long bytes = 0;
        ProgressMeter meter = meter("copy", target);
        meter.total(backups.stream().mapToLong(BackupManifest::storedSize).sum());
        try (RepositoryLock lock = RepositoryLock.acquire(
                destination,
                BackupIds.checkTargetName(target),
                "copy",
                config.lockTtl(),
                config.lockWait(),
                clock,
                holder -> {})) {
            for (BackupManifest m : backups) {
                if (to.hasSoundManifest(m.target(), m.id())) {
                    skipped.add(m.id());
                } else {
                    bytes += to.copyFrom(repository, m);
                    copied.add(m.id());
                }
                meter.add(m.storedSize());
            }
            long archived = 0;
            Set<String> areas = new TreeSet<>();
            for (String type :
                    backups.stream().map(BackupManifest::type).distinct().toList()) {
                try {
                    areas.addAll(registry.target(type).create(Settings.empty()).archiveAreas());
                } catch (DrException e) {
                    LOG.warn(
                            "copied backups of type {} without the files they may need besides (such as WAL): " + "{}",
                            type,
                            e.getMessage());
                }
            }
            for (String area : areas) { // e.g. the WAL the copied base backups need
                var n = ArchiveArea.of(repository, area, codecs).copyTo(to);
                archived += n.files();
                bytes += n.bytes();
            }
            meter.finish();
            return new CopyResult(to.describe(), copied, skipped, bytes, archived);
        } catch (IOException e) {
            throw repository.storageError("copying the archive of " + target + " to " + to.describe(), e);
        }
    }

    /**
     * Until when the storage refuses to delete a backup (S3 Object Lock): the time its
     * manifest records, or what the storage says of a copied one. Empty when it is not locked.
     */
    public Optional<Instant> lockedUntil(BackupManifest manifest) {
        return Optional.ofNullable(repository.lockedUntil(manifest));
    }

    /**
     * An area of this repository for files that belong to no single backup ({@code wal} for
     * PostgreSQL WAL), stored with this instance's compression and encryption.
     */
    public FileArchive archive(String area) {
        return ArchiveArea.of(repository, area, codecs);
    }

    /** Opens the storage of another repository by URI (for {@link #copy}); the caller closes it. */
    public StorageBackend openStorage(String uriOrPath) {
        return openStorage(config.toBuilder().repository(uriOrPath).build());
    }

    // ---------------------------------------------------------------- internals

    private RepositoryLock lock(String target, String operation) {
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

    private ProgressMeter meter(String operation, String target) {
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

    private void emit(DrEvent.Type type, String target, String id, String message, Map<String, Object> details) {
        DrEvent event = new DrEvent(type, target, id, clock.instant(), message, details);
        for (DrListener l : listeners) {
            try {
                l.onEvent(event);
            } catch (RuntimeException e) {
                LOG.warn("drkit listener {} failed on event {}: {}", l, type, e.toString());
            }
        }
    }

    private DrException asDrException(Exception e, String doing) {
        return asDrException(e, doing, null, null);
    }

    /**
     * @param targetSide what the target does on its own side ("reading its source"), when an I/O failure
     *        that is not the repository's is the target's; null takes every I/O failure for the repository's
     * @param advice what to do about a failure of the target's side
     */
    private DrException asDrException(Exception e, String doing, String targetSide, String advice) {
        if (e instanceof DrException) {
            return (DrException) e;
        }
        if (e instanceof UncheckedIOException) {
            e = ((UncheckedIOException) e).getCause();
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
        return new DrException(ErrorCode.TARGET, doing + " failed: " + e, e);
    }

    /** Closes the storage backend when this kit opened it. */
    @Override
    public void close() {
        if (ownsStorage) {
            try {
                storage.close();
            } catch (IOException e) {
                LOG.warn("closing storage failed: {}", e.getMessage());
            }
        }
    }

    private final class Backup implements BackupContext {
        private final String target;
        private final String id;
        private final ProgressMeter meter;
        private final List<ArtifactWriter> writers = new CopyOnWriteArrayList<>();
        private final Map<String, Object> metadata = new LinkedHashMap<>();
        private String kind = "full";
        private String parent;
        private final List<String> dependsOn = new CopyOnWriteArrayList<>();

        Backup(String target, String id, ProgressMeter meter) {
            this.target = target;
            this.id = id;
            this.meter = meter;
        }

        @Override
        public String targetName() {
            return target;
        }

        @Override
        public String backupId() {
            return id;
        }

        @Override
        public OutputStream newArtifact(String name) throws IOException {
            if (writers.stream().anyMatch(w -> w.name().equals(name))) {
                throw new IllegalArgumentException("artifact " + name + " was already written in this backup");
            }
            meter.artifact(name);
            ArtifactWriter w = repository.newArtifact(target, id, name, codecs, meter);
            writers.add(w);
            return w;
        }

        @Override
        public synchronized void metadata(String key, Object value) {
            metadata.put(key, value);
        }

        @Override
        public void kind(String kind) {
            this.kind = Objects.requireNonNull(kind, "kind");
        }

        @Override
        public void parent(String backupId) {
            this.parent = BackupIds.check(backupId);
        }

        @Override
        public void dependsOn(String backupId) {
            dependsOn.add(BackupIds.check(backupId));
        }

        @Override
        public void expectBytes(long total) {
            meter.total(total);
        }

        @Override
        public Optional<BackupManifest> previous() {
            return repository.latest(target);
        }

        @Override
        public InputStream openArtifact(BackupManifest earlier, String name) throws IOException {
            ArtifactInfo a = earlier.artifact(name)
                    .orElseThrow(() -> new BackupNotFoundException(
                            "backup " + earlier.target() + "/" + earlier.id() + " has no artifact '" + name + "'"));
            return repository.openDecoded(earlier, a, codecs, null);
        }

        @Override
        public FileArchive archive(String area) {
            return DrKit.this.archive(area);
        }

        @Override
        public Clock clock() {
            return clock;
        }

        List<ArtifactInfo> finish() {
            if (writers.isEmpty()) {
                throw new DrException(ErrorCode.TARGET, "target " + target + " produced no artifact");
            }
            List<ArtifactInfo> out = new ArrayList<>();
            for (ArtifactWriter w : writers) {
                out.add(w.info());
            }
            return out;
        }

        void abort() {
            writers.forEach(ArtifactWriter::abort);
        }
    }

    private final class Restore implements RestoreContext {
        private final BackupManifest manifest;
        private final RestoreRequest request;
        private final ProgressMeter meter;

        Restore(BackupManifest manifest, RestoreRequest request, ProgressMeter meter) {
            this.manifest = manifest;
            this.request = request;
            this.meter = meter;
        }

        @Override
        public BackupManifest manifest() {
            return manifest;
        }

        @Override
        public InputStream openArtifact(String name) throws IOException {
            ArtifactInfo a = manifest.artifact(name)
                    .orElseThrow(() -> new BackupNotFoundException(
                            "backup " + manifest.target() + "/" + manifest.id() + " has no artifact '" + name + "'"));
            meter.artifact(name);
            return repository.openDecoded(manifest, a, codecs, meter);
        }

        @Override
        public InputStream openArtifact(String backupId, String name) throws IOException {
            if (!backupId.equals(manifest.parent()) && !manifest.dependsOn().contains(backupId)) {
                throw new BackupNotFoundException(backupId + " is not a dependency of backup " + manifest.id());
            }
            BackupManifest other = DrKit.this.manifest(manifest.target(), backupId);
            ArtifactInfo a = other.artifact(name)
                    .orElseThrow(() -> new BackupNotFoundException(
                            "backup " + other.target() + "/" + other.id() + " has no artifact '" + name + "'"));
            return repository.openDecoded(other, a, codecs, meter);
        }

        @Override
        public Settings options() {
            return request.options();
        }

        @Override
        public FileArchive archive(String area) {
            return DrKit.this.archive(area);
        }

        @Override
        public boolean force() {
            return request.force();
        }
    }

    private final class Verification implements VerificationContext {
        private final BackupManifest manifest;
        private final Settings options;
        private final ProgressMeter meter;

        Verification(BackupManifest manifest, Settings options, ProgressMeter meter) {
            this.manifest = manifest;
            this.options = options;
            this.meter = meter;
        }

        @Override
        public FileArchive archive(String area) {
            return DrKit.this.archive(area);
        }

        @Override
        public BackupManifest manifest() {
            return manifest;
        }

        @Override
        public InputStream openStored(ArtifactInfo artifact) throws IOException {
            return repository.openStored(manifest, artifact);
        }

        @Override
        public InputStream openDecoded(ArtifactInfo artifact) throws IOException {
            return repository.openDecoded(manifest, artifact, codecs, meter);
        }

        @Override
        public byte[] checksumFile(ArtifactInfo artifact) throws IOException {
            return repository.checksumFile(manifest, artifact);
        }

        @Override
        public Settings options() {
            return options;
        }
    }

    /** Builds a {@link DrKit}. Not thread-safe. */
    public static final class Builder {
        private DrKitConfig config = DrKitConfig.builder().build();
        private StorageBackend storage;
        private final List<Object> providers = new ArrayList<>();
        private final List<DrListener> listeners = new ArrayList<>();
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
