package dev.drkit.postgres;

import dev.drkit.BackupManifest;
import dev.drkit.spi.FileArchive;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * WAL retention: per cluster (system identifier), WAL positioned before the start of the
 * oldest kept base backup is removed, on every timeline; timeline history files stay. WAL of
 * clusters without a kept backup is left alone.
 */
final class WalPruning {
    private static final Logger LOG = LoggerFactory.getLogger(WalPruning.class);

    private WalPruning() {}

    /** Removes (unless {@code dryRun}) what no kept backup needs; returns the paths, area included. */
    static List<String> prune(List<BackupManifest> kept, FileArchive archive, boolean dryRun) throws IOException {
        List<String> doomed = new ArrayList<>();
        for (Map.Entry<String, String> e : oldestStarts(kept).entrySet()) {
            for (String path : archive.list(e.getKey() + "/")) {
                String name = path.substring(path.lastIndexOf('/') + 1);
                if (name.endsWith(".history") || name.length() < 24) {
                    continue;
                }
                if (name.substring(8, 24).compareTo(e.getValue()) < 0) {
                    doomed.add(path);
                }
            }
        }
        if (!dryRun) {
            archive.deleteAll(doomed);
        }
        List<String> removed = new ArrayList<>();
        doomed.forEach(path -> removed.add(WalArchive.AREA + "/" + path));
        if (!removed.isEmpty()) {
            LOG.info(
                    "{} {} WAL files older than the oldest kept base backup",
                    dryRun ? "would remove" : "removed",
                    removed.size());
        }
        return removed;
    }

    /** Per system identifier, the position (segment name without timeline) of its oldest kept backup's start. */
    private static Map<String, String> oldestStarts(List<BackupManifest> kept) {
        Map<String, String> oldestStart = new TreeMap<>();
        for (BackupManifest m : kept) {
            Object sys = m.metadata().get("systemIdentifier");
            Object start = m.metadata().get("walStart");
            if (sys != null && start != null) {
                oldestStart.merge(sys.toString(), start.toString().substring(8), (a, b) -> a.compareTo(b) <= 0 ? a : b);
            }
        }
        return oldestStart;
    }
}
