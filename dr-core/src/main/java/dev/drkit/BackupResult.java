package dev.drkit;

import java.util.List;

/**
 * A completed backup.
 *
 * <p>A backup can be complete as a backup (stored, listed, restorable) yet hold some source
 * files that changed or vanished while they were copied: a target records them in its
 * manifest's metadata under {@link #INCOMPLETE_FILES} and {@link #INCOMPLETE_FILE_COUNT}, and
 * {@link #incomplete()} says so. Such a file is stored as far as it could be read (a file that
 * shrank ends in zeros, since the size in the archive was fixed before it was read).
 *
 * @param manifest its manifest, as stored
 */
public record BackupResult(BackupManifest manifest) {
    /**
     * Metadata key: the source paths (strings) of files that changed or vanished while they
     * were copied, at most the first 100.
     */
    public static final String INCOMPLETE_FILES = "incompleteFiles";
    /** Metadata key: how many files changed or vanished while they were copied, all of them. */
    public static final String INCOMPLETE_FILE_COUNT = "incompleteFileCount";

    public String id() {
        return manifest.id();
    }

    /** Whether some source files changed or vanished while they were copied; see {@link #incompleteFiles()}. */
    public boolean incomplete() {
        return incompleteFileCount() > 0;
    }

    /** How many source files changed or vanished while they were copied; 0 for a consistent backup. */
    public long incompleteFileCount() {
        Object count = manifest.metadata().get(INCOMPLETE_FILE_COUNT);
        return count instanceof Number n ? n.longValue() : incompleteFiles().size();
    }

    /**
     * The source paths of files that changed or vanished while they were copied, possibly only
     * the first of {@link #incompleteFileCount()}; empty for a consistent backup. Never null.
     */
    public List<String> incompleteFiles() {
        Object files = manifest.metadata().get(INCOMPLETE_FILES);
        if (!(files instanceof List<?> list)) {
            return List.of();
        }
        return list.stream().map(String::valueOf).toList();
    }
}
