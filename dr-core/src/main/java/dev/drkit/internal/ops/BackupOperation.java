package dev.drkit.internal.ops;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.BackupNotFoundException;
import dev.drkit.BackupResult;
import dev.drkit.ConfigException;
import dev.drkit.DrEvent;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.TargetSpec;
import dev.drkit.internal.pipeline.ProgressMeter;
import dev.drkit.internal.repo.ArtifactOutput;
import dev.drkit.internal.repo.Repository;
import dev.drkit.internal.repo.StreamCodecs;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.support.BackupIds;
import dev.drkit.spi.support.Hosts;
import dev.drkit.spi.support.InterruptAside;
import dev.drkit.spi.support.RepositoryLock;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A backup: streams a target's artifacts through compression and checksums into the
 * repository under the target's lock, then writes the manifest; on failure removes what was
 * written. Thread-safe.
 */
public final class BackupOperation {
    private static final Logger LOG = LoggerFactory.getLogger(BackupOperation.class);
    /** Targets' warnings, on a logger of their own so that a host that shows the events can silence the log. */
    private static final Logger WARNINGS = LoggerFactory.getLogger("dev.drkit.warnings");

    private static final String VERSION = Optional.ofNullable(
                    BackupOperation.class.getPackage().getImplementationVersion())
            .orElse("dev");

    private final OperationContext ctx;
    private final Repository repository;

    public BackupOperation(OperationContext ctx) {
        this.ctx = ctx;
        this.repository = ctx.repository();
    }

    public BackupResult backup(TargetSpec spec) {
        // a bad level or dedup value fails before the target is even made
        spec.checkKitSettings(ctx.codecs().compression().codecName());
        return backup(spec, ctx.registry().target(spec.type()).create(spec.typeSettings()));
    }

    /** Backs up the target the host configured under {@code name}. */
    public BackupResult backup(String name) {
        BackupTarget target = ctx.configured(name)
                .orElseThrow(() -> new ConfigException("no target is configured under the name '" + name
                        + "'; configure it with DrKit.Builder.target, or back up a TargetSpec"));
        return backup(new TargetSpec(name, target.type(), ctx.configuredSettings(name)), target);
    }

    private BackupResult backup(TargetSpec spec, BackupTarget target) {
        spec.checkKitSettings(ctx.codecs().compression().codecName()); // fails before anything is created
        SignerTrust.require(ctx.signer(), repository.trusted(), ctx.clock().instant());
        repository.initialise();
        try (RepositoryLock lock = ctx.lock(spec.name(), "backup")) {
            BackupResult result = backupLocked(spec, target, false, lock);
            if (Boolean.TRUE.equals(result.manifest().metadata().get(BackupManifest.SYNTHETIC_FULL_DUE))) {
                synthesize(spec, target, result, lock);
            }
            return result;
        }
    }

    /**
     * The synthetic full backup a target asked for: its failure leaves the backup just taken as
     * it is (the target's next backup deals with it), so it is reported, not thrown.
     */
    private void synthesize(TargetSpec spec, BackupTarget target, BackupResult after, RepositoryLock lock) {
        try {
            BackupResult full = backupLocked(spec, target, true, lock);
            LOG.info(
                    "built synthetic full backup {} of {} from the chain ending at {}",
                    full.id(),
                    spec.name(),
                    after.id());
        } catch (DrException e) {
            // an event as a target's warnings are (hosts and the CLI print those, not this log): a
            // damaged backup of the chain fails every synthetic full
            String message = "the synthetic full backup after " + after.id() + " failed (that backup stays as it "
                    + "is; the target's next backup starts a new chain or tries again): " + e.getMessage();
            WARNINGS.warn("{}: {}", spec.name(), message);
            ctx.emit(DrEvent.Type.BACKUP_WARNING, spec.name(), after.id(), message, Map.of());
        }
    }

    /**
     * The codecs of a backup: the level is the target setting's, else the kit's, else the
     * codec's fastest for a target that prefers it, else the codec's default; the workers are
     * the kit's, but none for a source that competes for the CPU on a small host (see
     * {@link BackupTarget#sourceCompetesForCpu()}).
     */
    private StreamCodecs codecs(TargetSpec spec, BackupTarget target) {
        StreamCodecs kit = ctx.codecs();
        StreamCodecs codecs = kit.withWorkers(workers(
                kit.workers(),
                ctx.config().compressionWorkersSet(),
                target.sourceCompetesForCpu(),
                Runtime.getRuntime().availableProcessors()));
        OptionalInt own = spec.compressionLevel(kit.compression().codecName());
        if (own.isPresent()) {
            return codecs.withLevel(own.getAsInt());
        }
        if (!ctx.config().compressionLevelSet() && target.prefersFastCompression()) {
            return codecs.withLevel(kit.compression().fastLevel());
        }
        return codecs;
    }

    /** Compression workers for a target: none when its source competes for at most 2 cores, unless the host chose. */
    static int workers(int configured, boolean chosen, boolean competes, int cores) {
        return !chosen && competes && cores <= 2 ? 0 : configured;
    }

    private BackupResult backupLocked(TargetSpec spec, BackupTarget target, boolean synthesize, RepositoryLock lock) {
        Clock clock = ctx.clock();
        Instant started = clock.instant();
        // wall time from the monotonic clock: the kit's clock may be a host's fixed or stepped one
        long startNanos = System.nanoTime();
        String id = BackupIds.next(started);
        ProgressMeter meter = ctx.meter("backup", spec.name());
        Run run = new Run(
                spec.name(),
                id,
                meter,
                synthesize,
                spec.settings().bool(TargetSpec.DEDUP, ctx.config().dedup()),
                codecs(spec, target));
        ctx.emit(DrEvent.Type.BACKUP_STARTED, spec.name(), id, "backup of " + spec.name() + " started", Map.of());
        try {
            target.backup(run);
            List<ArtifactInfo> artifacts = run.finish();
            meter.finish();
            BackupManifest manifest = new BackupManifest(
                    BackupManifest.FORMAT,
                    id,
                    spec.name(),
                    target.type(),
                    run.kind,
                    run.parent,
                    run.dependsOn,
                    started,
                    clock.instant(),
                    VERSION,
                    Hosts.name(),
                    artifacts,
                    run.metadata,
                    repository.retainUntil());
            // a collection may run once the lock lapsed: a manifest must not name chunks it deletes
            lock.ensureHeld("writing the manifest of backup " + id);
            repository.writeManifest(manifest, ctx.signer());
            BackupResult result = new BackupResult(manifest);
            ctx.emit(
                    DrEvent.Type.BACKUP_SUCCEEDED,
                    spec.name(),
                    id,
                    "backup " + id + " of " + spec.name()
                            + (result.incomplete()
                                    ? " stored, but incomplete: " + result.incompleteFileCount()
                                            + " file(s) changed or vanished while they were copied"
                                    : " complete"),
                    Map.of(
                            DrEvent.RAW_BYTES,
                            manifest.rawSize(),
                            DrEvent.STORED_BYTES,
                            manifest.storedSize(),
                            DrEvent.INCOMPLETE_FILES,
                            result.incompleteFileCount(),
                            DrEvent.TARGET_TYPE,
                            target.type(),
                            DrEvent.SECONDS,
                            OperationContext.secondsSince(startNanos)));
            return result;
        } catch (IOException | RuntimeException e) {
            // an interrupted backup (a scheduler's close, Ctrl-C in the CLI) cleans up too: an
            // interruptible channel would refuse the removal's own I/O while the thread is marked
            try (InterruptAside aside = InterruptAside.setAside()) {
                run.abort();
                removeQuietly(spec.name(), id);
            }
            DrException error = synthesize
                    ? ctx.asDrException(
                            e,
                            "synthetic full backup of " + spec.name(),
                            "building it from the repository",
                            "check the repository and the free space of the temporary directory (java.io.tmpdir)")
                    : ctx.asDrException(
                            e,
                            "backup of " + spec.name(),
                            "reading its source",
                            "check that the source is reachable and readable, then back it up again");
            ctx.emit(
                    DrEvent.Type.BACKUP_FAILED,
                    spec.name(),
                    id,
                    error.getMessage(),
                    Map.of(
                            DrEvent.CODE,
                            error.code().name(),
                            DrEvent.TARGET_TYPE,
                            target.type(),
                            DrEvent.SECONDS,
                            OperationContext.secondsSince(startNanos)));
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

    /** What the target writes one backup through. */
    private final class Run implements BackupContext {
        private final String target;
        private final String id;
        private final ProgressMeter meter;
        private final List<ArtifactOutput> writers = new CopyOnWriteArrayList<>();
        private final Map<String, Object> metadata = new LinkedHashMap<>();
        private final List<String> dependsOn = new CopyOnWriteArrayList<>();
        private final boolean synthesize;
        private final boolean dedup;
        private final StreamCodecs codecs;
        private List<BackupManifest> known;
        private String kind = "full";
        private String parent;
        // the target's lock keeps the catalog still while the backup runs: it is read once
        private Optional<BackupManifest> previous;

        Run(String target, String id, ProgressMeter meter, boolean synthesize, boolean dedup, StreamCodecs codecs) {
            this.dedup = dedup;
            this.codecs = codecs;
            this.target = target;
            this.id = id;
            this.meter = meter;
            this.synthesize = synthesize;
        }

        @Override
        public boolean synthesize() {
            return synthesize;
        }

        @Override
        public synchronized Optional<BackupManifest> earlier(String backupId) {
            if (known == null) {
                known = repository.catalog(target).backups(); // read once: the lock keeps it still
            }
            return known.stream().filter(m -> m.id().equals(backupId)).findFirst();
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
            ArtifactOutput w = repository.newArtifact(target, id, name, codecs, dedup, meter);
            writers.add(w);
            return w;
        }

        @Override
        public void discardArtifact(String name) {
            for (ArtifactOutput w : writers) {
                if (w.name().equals(name)) {
                    w.abort();
                    writers.remove(w);
                }
            }
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
        public synchronized Optional<BackupManifest> previous() {
            if (previous == null) {
                previous = repository.latest(target);
            }
            return previous;
        }

        @Override
        public InputStream openArtifact(BackupManifest earlier, String name) throws IOException {
            ArtifactInfo a = earlier.artifact(name)
                    .orElseThrow(() -> new BackupNotFoundException(
                            "backup " + earlier.target() + "/" + earlier.id() + " has no artifact '" + name + "'"));
            return repository.openDecoded(earlier, a, ctx.codecs(), null);
        }

        @Override
        public FileArchive archive(String area) {
            return ctx.archive(area);
        }

        @Override
        public void warn(String message) {
            WARNINGS.warn("{}: {}", target, message);
            ctx.emit(DrEvent.Type.BACKUP_WARNING, target, id, message, Map.of());
        }

        @Override
        public Clock clock() {
            return ctx.clock();
        }

        List<ArtifactInfo> finish() {
            if (writers.isEmpty()) {
                throw new DrException(ErrorCode.TARGET, "target " + target + " produced no artifact");
            }
            List<ArtifactInfo> out = new ArrayList<>();
            long[] dedup = null;
            for (ArtifactOutput w : writers) {
                out.add(w.info());
                long[] counts = w.dedupCounts();
                if (counts != null) {
                    dedup = dedup == null ? new long[3] : dedup;
                    for (int i = 0; i < 3; i++) {
                        dedup[i] += counts[i];
                    }
                }
            }
            if (dedup != null) {
                Map<String, Object> d = new LinkedHashMap<>();
                d.put("chunks", dedup[0]);
                d.put("new-chunks", dedup[1]);
                d.put("new-bytes", dedup[2]);
                metadata.put(BackupManifest.DEDUP, d);
            }
            return out;
        }

        void abort() {
            writers.forEach(ArtifactOutput::abort);
        }
    }
}
