package dev.drkit.internal.ops;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.ChecksumMismatchException;
import dev.drkit.DrEvent;
import dev.drkit.DrException;
import dev.drkit.Settings;
import dev.drkit.VerificationResult;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.internal.pipeline.ProgressMeter;
import dev.drkit.internal.repo.VerificationLog;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.VerificationContext;
import dev.drkit.spi.Verifier;
import dev.drkit.spi.VerifierProvider;
import dev.drkit.verify.StreamVerifier;
import java.io.IOException;
import java.io.InputStream;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A verification of one backup by every verifier of a level and below that applies to its
 * type, recorded in the repository for status. Thread-safe.
 */
public final class VerifyOperation {
    private static final Logger LOG = LoggerFactory.getLogger(VerifyOperation.class);

    private final OperationContext ctx;
    private final CatalogOperation catalog;

    public VerifyOperation(OperationContext ctx, CatalogOperation catalog) {
        this.ctx = ctx;
        this.catalog = catalog;
    }

    /** Problems in the backup are in the report, not thrown. */
    public VerifyReport verify(String target, String backupId, VerifyLevel level, Settings options) {
        BackupManifest m = catalog.manifest(target, backupId);
        List<VerifierProvider> providers = ctx.registry().verifiers(m.type(), level);
        List<VerificationResult> results = new ArrayList<>();
        ProgressMeter meter = ctx.meter("verify", target);
        Run run = new Run(m, options, meter);
        for (VerifierProvider p : providers) {
            try {
                results.add(explained(m, p.create(options).verify(run)));
            } catch (IOException e) {
                // the repository's failures are StorageIOExceptions; any other is the verifier's own
                // work failing (a scratch server, a temporary file), not the repository's storage
                throw ctx.asDrException(
                        e,
                        "verifying " + target + "/" + m.id() + " with " + p.name(),
                        "doing its own work (a scratch server or temporary files)",
                        "check what the verifier needs (its tools, free ports, temporary space), then verify again");
            }
        }
        if (!m.recordedDependencies().isEmpty()) {
            try {
                results.add(chain(m, options, meter));
            } catch (IOException e) {
                throw ctx.asDrException(e, "verifying the backups " + target + "/" + m.id() + " depends on");
            }
        }
        meter.finish();
        VerifyReport report = new VerifyReport(target, m.id(), level, results);
        double seconds =
                results.stream().mapToLong(r -> r.duration().toMillis()).sum() / 1000.0;
        record(report, seconds);
        Map<String, Object> details = new HashMap<>();
        details.put(DrEvent.LEVEL, level.name());
        details.put(DrEvent.TARGET_TYPE, m.type());
        details.put(DrEvent.SECONDS, seconds);
        // only a passed restore-level verification is a restore test, as status counts them
        if (report.passed() && level == VerifyLevel.RESTORE) {
            details.put(DrEvent.RESTORE_TEST_SECONDS, VerificationLog.restoreSeconds(report, seconds));
        }
        ctx.emit(
                report.passed() ? DrEvent.Type.VERIFY_SUCCEEDED : DrEvent.Type.VERIFY_FAILED,
                target,
                m.id(),
                report.passed()
                        ? "backup " + m.id() + " verified at level " + level
                        : "backup " + m.id() + " failed verification: " + String.join("; ", report.problems()),
                details);
        return report;
    }

    /**
     * The backups {@code m} depends on (its parent, and the earlier backups its incremental data
     * refers to), each checked at level checksum: their stored artifacts' sizes and SHA-256.
     * Restoring {@code m} reads them, so a damaged one fails that restore, and a verification of
     * {@code m} alone passed: status called the newest backup verified while its chain could not
     * be restored, which only a restore test or a synthetic full found.
     */
    private VerificationResult chain(BackupManifest m, Settings options, ProgressMeter meter) throws IOException {
        VerificationResult.Timer timer = VerificationResult.start(CHAIN);
        List<String> problems = new ArrayList<>();
        Verifier checksum = new StreamVerifier.ChecksumProvider().create(options);
        long artifacts = 0;
        for (String id : m.recordedDependencies()) {
            BackupManifest d;
            try {
                d = catalog.manifest(m.target(), id);
            } catch (DrException e) {
                problems.add("backup " + id + ", which " + m.id() + " depends on: " + e.getMessage());
                continue;
            }
            artifacts += d.artifacts().size();
            for (String p : checksum.verify(new Run(d, options, meter)).problems()) {
                problems.add("backup " + id + ", which " + m.id() + " depends on: " + p);
            }
        }
        return timer.result(problems, Map.of("backups", m.recordedDependencies().size(), "artifacts", artifacts));
    }

    /** The name of the check of a backup's dependencies in its verification report. */
    static final String CHAIN = "chain";

    /**
     * A failed result, with the damaged stored object named first when the stored bytes no longer
     * match (a verifier's parser may meet damaged bytes before the stored checksum's turn).
     */
    private VerificationResult explained(BackupManifest m, VerificationResult r) {
        if (r.status() != VerificationResult.Status.FAILED
                || r.problems().stream().anyMatch(p -> p.contains("sha256"))
                || r.problems().stream().noneMatch(p -> p.contains("corrupt") || p.contains("damaged"))) {
            return r; // passed, already explained, or failed for another reason (a validation query)
        }
        Optional<ChecksumMismatchException> mismatch = ctx.repository().storedMismatch(m);
        if (mismatch.isEmpty()) {
            return r;
        }
        List<String> problems = new ArrayList<>();
        problems.add(mismatch.get().getMessage());
        problems.addAll(r.problems());
        return new VerificationResult(r.verifier(), r.status(), problems, r.duration(), r.details());
    }

    private void record(VerifyReport report, double seconds) {
        try {
            new VerificationLog(ctx.storage()).record(report, ctx.clock().instant(), seconds);
        } catch (IOException | RuntimeException e) {
            LOG.warn(
                    "could not record the verification of {}/{} in the repository (status will not show it): {}",
                    report.target(),
                    report.backupId(),
                    e.toString());
        }
    }

    /** What the verifiers read one backup through. */
    private final class Run implements VerificationContext {
        private final BackupManifest manifest;
        private final Settings options;
        private final ProgressMeter meter;

        Run(BackupManifest manifest, Settings options, ProgressMeter meter) {
            this.manifest = manifest;
            this.options = options;
            this.meter = meter;
        }

        @Override
        public FileArchive archive(String area) {
            return ctx.archive(area);
        }

        @Override
        public BackupManifest manifest() {
            return manifest;
        }

        @Override
        public InputStream openStored(ArtifactInfo artifact) throws IOException {
            return ctx.repository().openStored(manifest, artifact);
        }

        @Override
        public InputStream openDecoded(ArtifactInfo artifact) throws IOException {
            return ctx.repository().openDecoded(manifest, artifact, ctx.codecs(), meter);
        }

        @Override
        public void checkStoredChunks(ArtifactInfo artifact) throws IOException {
            ctx.repository().checkStoredChunks(manifest, artifact);
        }

        @Override
        public InputStream openDecoded(String backupId, String name) throws IOException {
            return RestoreOperation.openDependency(ctx, catalog, manifest, backupId, name, meter);
        }

        @Override
        public List<BackupManifest> backupsOfTarget() {
            return catalog.list(manifest.target());
        }

        @Override
        public byte[] checksumFile(ArtifactInfo artifact) throws IOException {
            return ctx.repository().checksumFile(manifest, artifact);
        }

        @Override
        public Settings options() {
            return options;
        }
    }
}
