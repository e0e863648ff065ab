package dev.drkit.internal.ops;

import dev.drkit.BackupManifest;
import dev.drkit.BackupNotFoundException;
import dev.drkit.ChecksumMismatchException;
import dev.drkit.CopyIncompleteException;
import dev.drkit.CopyResult;
import dev.drkit.CorruptDataException;
import dev.drkit.DamagedBackup;
import dev.drkit.DrException;
import dev.drkit.internal.pipeline.ProgressMeter;
import dev.drkit.internal.repo.ArchiveArea;
import dev.drkit.internal.repo.Repository;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.support.BackupIds;
import dev.drkit.spi.support.RepositoryLock;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A copy of backups of a target from this repository to another, checked byte for byte as it
 * streams, with the archived files (WAL) they may need. Thread-safe.
 */
public final class CopyOperation {
    private static final Logger LOG = LoggerFactory.getLogger(CopyOperation.class);
    /** What a copy leaves out, as it goes (the result and its exception list it all again at the end). */
    private static final Logger WARNINGS = LoggerFactory.getLogger("dev.drkit.warnings");

    private final OperationContext ctx;
    private final CatalogOperation catalog;

    public CopyOperation(OperationContext ctx, CatalogOperation catalog) {
        this.ctx = ctx;
        this.catalog = catalog;
    }

    /**
     * @param backupId the backup to copy, or null with {@code all} false for the newest
     * @param all copy every complete backup of the target
     * @param destination the other repository's storage (not closed)
     */
    public CopyResult copy(String target, String backupId, boolean all, StorageBackend destination) {
        List<BackupManifest> backups = all ? catalog.list(target) : List.of(catalog.manifest(target, backupId));
        List<CopyResult.NotCopied> notCopied = new ArrayList<>();
        Repository from = ctx.repository();
        Repository to = Repository.open(destination, ctx.clock().instant()); // after the source proved to be one
        if (from.trusted() != null) {
            // a destination manifest no trusted key signed is damaged there too, and put back
            to.trust(from.trusted());
        }
        List<String> copied = new ArrayList<>();
        List<String> skipped = new ArrayList<>();
        long bytes = 0;
        ProgressMeter meter = ctx.meter("copy", target);
        meter.total(backups.stream().mapToLong(BackupManifest::storedSize).sum());
        try (RepositoryLock lock = RepositoryLock.acquire(
                destination,
                BackupIds.checkTargetName(target),
                "copy",
                ctx.config().lockTtl(),
                ctx.config().lockWait(),
                ctx.clock(),
                holder -> {})) {
            if (all) {
                // listed as damaged in the source (a manifest that cannot be trusted): never copied, but
                // said, unless the destination holds it intact (copied before the damage)
                for (DamagedBackup d : catalog.damaged(target)) {
                    if (to.hasSoundManifest(target, d.id())) {
                        skipped.add(d.id());
                    } else {
                        notCopied.add(
                                new CopyResult.NotCopied(d.id(), "its manifest cannot be trusted: " + d.reason()));
                    }
                }
            }
            for (BackupManifest m : backups) {
                Runnable stillLocked = () -> lock.ensureHeld("writing the manifest of copied backup " + m.id());
                if (to.hasSoundManifest(m.target(), m.id())) {
                    skipped.add(m.id());
                } else if (!all) {
                    bytes += to.copyFrom(from, m, stillLocked);
                    copied.add(m.id());
                } else {
                    // one damaged backup must not keep the others from the offsite copy
                    try {
                        bytes += to.copyFrom(from, m, stillLocked);
                        copied.add(m.id());
                    } catch (CorruptDataException | ChecksumMismatchException | BackupNotFoundException e) {
                        if (!from.hasManifest(m.target(), m.id())) {
                            // deleted by a prune of the source since it was listed: nothing to copy
                            LOG.info(
                                    "backup {}/{} was removed from {} while it was copied",
                                    target,
                                    m.id(),
                                    from.describe());
                            continue;
                        }
                        WARNINGS.warn(
                                "backup {}/{} not copied to {}: {}", target, m.id(), to.describe(), e.getMessage());
                        notCopied.add(new CopyResult.NotCopied(m.id(), e.getMessage()));
                    }
                }
                meter.add(m.storedSize());
            }
            long archived = 0;
            List<CopyResult.NotCopied> filesNotCopied = new ArrayList<>();
            for (String area : archiveAreas(backups)) { // e.g. the WAL the copied base backups need
                var n = ArchiveArea.of(from, area, ctx.codecs()).copyTo(to);
                archived += n.files();
                bytes += n.bytes();
                for (CopyResult.NotCopied f : n.damaged()) {
                    WARNINGS.warn("archived file {} not copied to {}: {}", f.id(), to.describe(), f.reason());
                }
                filesNotCopied.addAll(n.damaged());
            }
            meter.finish();
            CopyResult result =
                    new CopyResult(to.describe(), copied, skipped, bytes, archived, notCopied, filesNotCopied);
            if (!result.complete()) {
                throw new CopyIncompleteException(target, from.describe(), result);
            }
            return result;
        } catch (IOException e) {
            throw from.storageError("copying the archive of " + target + " to " + to.describe(), e);
        }
    }

    private Set<String> archiveAreas(List<BackupManifest> backups) {
        Set<String> areas = new TreeSet<>();
        for (String type : backups.stream().map(BackupManifest::type).distinct().toList()) {
            try {
                areas.addAll(ctx.registry().target(type).archiveAreas());
            } catch (DrException e) {
                LOG.warn(
                        "copied backups of type {} without the files they may need besides (such as WAL): {}",
                        type,
                        e.getMessage());
            }
        }
        return areas;
    }
}
