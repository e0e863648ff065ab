package dev.drkit.internal.ops;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.BackupNotFoundException;
import dev.drkit.ChecksumMismatchException;
import dev.drkit.CorruptDataException;
import dev.drkit.DrEvent;
import dev.drkit.DrException;
import dev.drkit.RestoreRequest;
import dev.drkit.RestoreResult;
import dev.drkit.Settings;
import dev.drkit.internal.pipeline.ProgressMeter;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.RestoreContext;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** A restore of a backup into the destination its request names. Thread-safe. */
public final class RestoreOperation {
    private static final Logger WARNINGS = LoggerFactory.getLogger("dev.drkit.warnings");

    private final OperationContext ctx;
    private final CatalogOperation catalog;

    public RestoreOperation(OperationContext ctx, CatalogOperation catalog) {
        this.ctx = ctx;
        this.catalog = catalog;
    }

    public RestoreResult restore(RestoreRequest request) {
        BackupManifest m = catalog.manifest(request.target(), request.backupId());
        BackupTarget target = ctx.targetFor(m);
        long start = System.nanoTime();
        ProgressMeter meter = ctx.meter("restore", request.target());
        meter.total(m.rawSize());
        ctx.emit(DrEvent.Type.RESTORE_STARTED, m.target(), m.id(), "restore of " + m.id() + " started", Map.of());
        try {
            target.restore(new Run(m, request, meter));
            meter.finish();
        } catch (IOException | RuntimeException e) {
            Exception cause = e;
            if (e instanceof CorruptDataException && !(e instanceof ChecksumMismatchException)) {
                // the target's parser may have met damaged bytes before the stored checksum's turn
                Optional<ChecksumMismatchException> mismatch = ctx.repository().storedMismatch(m);
                if (mismatch.isPresent()) {
                    mismatch.get().addSuppressed(e);
                    cause = mismatch.get();
                }
            }
            DrException error = ctx.asDrException(
                    cause,
                    "restore of " + m.target() + "/" + m.id(),
                    "writing its destination",
                    "check that the destination is reachable, writable and has space, " + "then restore again");
            ctx.emit(
                    DrEvent.Type.RESTORE_FAILED,
                    m.target(),
                    m.id(),
                    error.getMessage(),
                    Map.of(DrEvent.TARGET_TYPE, m.type(), DrEvent.SECONDS, OperationContext.secondsSince(start)));
            throw error;
        }
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        ctx.emit(
                DrEvent.Type.RESTORE_SUCCEEDED,
                m.target(),
                m.id(),
                "restore of " + m.id() + " complete",
                Map.of(DrEvent.TARGET_TYPE, m.type(), DrEvent.SECONDS, took.toNanos() / 1e9));
        return new RestoreResult(m.target(), m.id(), meter.snapshot().bytesDone(), took);
    }

    /**
     * Artifact {@code name} of backup {@code backupId}, which {@code manifest}'s backup must
     * depend on (its parent or one it lists), decoded and checked as it streams: for a restore of
     * an incremental backup, or a restore test of one.
     */
    static InputStream openDependency(
            OperationContext ctx,
            CatalogOperation catalog,
            BackupManifest manifest,
            String backupId,
            String name,
            ProgressMeter meter)
            throws IOException {
        if (!backupId.equals(manifest.parent()) && !manifest.dependsOn().contains(backupId)) {
            throw new BackupNotFoundException(backupId + " is not a dependency of backup " + manifest.id());
        }
        BackupManifest other = catalog.manifest(manifest.target(), backupId);
        ArtifactInfo a = other.artifact(name)
                .orElseThrow(() -> new BackupNotFoundException(
                        "backup " + other.target() + "/" + other.id() + " has no artifact '" + name + "'"));
        return ctx.repository().openDecoded(other, a, ctx.codecs(), meter);
    }

    /** What the target reads one restore through. */
    private final class Run implements RestoreContext {
        private final BackupManifest manifest;
        private final RestoreRequest request;
        private final ProgressMeter meter;

        Run(BackupManifest manifest, RestoreRequest request, ProgressMeter meter) {
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
            return ctx.repository().openDecoded(manifest, a, ctx.codecs(), meter);
        }

        @Override
        public InputStream openArtifact(String backupId, String name) throws IOException {
            return openDependency(ctx, catalog, manifest, backupId, name, meter);
        }

        @Override
        public Settings options() {
            return request.options();
        }

        @Override
        public FileArchive archive(String area) {
            return ctx.archive(area);
        }

        @Override
        public boolean force() {
            return request.force();
        }

        @Override
        public void warn(String message) {
            WARNINGS.warn("{}: {}", manifest.target(), message);
            ctx.emit(DrEvent.Type.RESTORE_WARNING, manifest.target(), manifest.id(), message, Map.of());
        }
    }
}
