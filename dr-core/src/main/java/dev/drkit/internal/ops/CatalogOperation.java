package dev.drkit.internal.ops;

import dev.drkit.BackupManifest;
import dev.drkit.BackupNotFoundException;
import dev.drkit.DamagedBackup;
import dev.drkit.DrEvent;
import dev.drkit.internal.repo.Repository;
import dev.drkit.spi.support.BackupIds;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Reading the catalog: the backups of targets, the damaged ones, one backup's manifest. Thread-safe. */
public final class CatalogOperation {
    private static final Logger LOG = LoggerFactory.getLogger(CatalogOperation.class);

    private final OperationContext ctx;
    private final Repository repository;

    public CatalogOperation(OperationContext ctx) {
        this.ctx = ctx;
        this.repository = ctx.repository();
    }

    /** Complete backups of one target (or of every target when null), oldest first. */
    public List<BackupManifest> list(String target) {
        List<BackupManifest> out = new ArrayList<>();
        for (String t : targets(target)) {
            out.addAll(repository.manifests(t));
        }
        return out;
    }

    /** Backups of one target (or of every target when null) whose manifests cannot be trusted. */
    public List<DamagedBackup> damaged(String target) {
        List<DamagedBackup> out = new ArrayList<>();
        for (String t : targets(target)) {
            out.addAll(repository.catalog(t).damaged());
        }
        return out;
    }

    private List<String> targets(String target) {
        return target == null ? repository.targets() : List.of(BackupIds.checkTargetName(target));
    }

    /**
     * One backup's manifest; {@code backupId} null means the newest sound backup, and damaged
     * backups newer than it are passed over with a warning and an event.
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
                                + "; listing the repository (DrKit.list) shows the targets and backups"));
        for (DamagedBackup d : catalog.damaged()) {
            if (d.id().compareTo(newest.id()) > 0) {
                String message = "passed over damaged backup " + target + "/" + d.id() + " (" + d.reason()
                        + "); the newest sound backup is " + newest.id();
                LOG.warn(message);
                ctx.emit(DrEvent.Type.DAMAGED_BACKUP_SKIPPED, target, d.id(), message, Map.of("reason", d.reason()));
            }
        }
        return newest;
    }
}
