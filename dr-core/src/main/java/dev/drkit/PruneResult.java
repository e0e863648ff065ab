package dev.drkit;

import java.util.List;
import java.util.Map;

/**
 * The outcome of a prune.
 *
 * @param dryRun whether nothing was deleted
 * @param plans the retention plan per target name
 * @param deleted ids of the backups deleted (or that would be, in a dry run), per target
 * @param incompleteRemoved ids of incomplete backups removed, per target
 * @param archiveRemoved files removed from the repository's file archive (WAL no kept backup
 *        needs), per target
 * @param damaged backups whose manifests cannot be trusted, per target: never deleted, never
 *        counted by the policy; while any exists, archived files (WAL) are not pruned, since a
 *        damaged manifest cannot say what it needs
 * @param chunks what the garbage collection of the deduplicated chunk store did, or null when
 *        the repository has no chunk store
 */
public record PruneResult(
        boolean dryRun,
        Map<String, RetentionPlan> plans,
        Map<String, List<String>> deleted,
        Map<String, List<String>> incompleteRemoved,
        Map<String, List<String>> archiveRemoved,
        Map<String, List<DamagedBackup>> damaged,
        ChunkCollection chunks) {
    public PruneResult {
        plans = Map.copyOf(plans);
        deleted = Map.copyOf(deleted);
        incompleteRemoved = Map.copyOf(incompleteRemoved);
        archiveRemoved = archiveRemoved == null ? Map.of() : Map.copyOf(archiveRemoved);
        damaged = damaged == null ? Map.of() : Map.copyOf(damaged);
    }

    public PruneResult(
            boolean dryRun,
            Map<String, RetentionPlan> plans,
            Map<String, List<String>> deleted,
            Map<String, List<String>> incompleteRemoved,
            Map<String, List<String>> archiveRemoved,
            Map<String, List<DamagedBackup>> damaged) {
        this(dryRun, plans, deleted, incompleteRemoved, archiveRemoved, damaged, null);
    }

    public PruneResult(
            boolean dryRun,
            Map<String, RetentionPlan> plans,
            Map<String, List<String>> deleted,
            Map<String, List<String>> incompleteRemoved,
            Map<String, List<String>> archiveRemoved) {
        this(dryRun, plans, deleted, incompleteRemoved, archiveRemoved, Map.of());
    }

    public PruneResult(
            boolean dryRun,
            Map<String, RetentionPlan> plans,
            Map<String, List<String>> deleted,
            Map<String, List<String>> incompleteRemoved) {
        this(dryRun, plans, deleted, incompleteRemoved, Map.of());
    }
}
