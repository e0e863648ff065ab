package dev.drkit;

import java.time.Instant;
import java.util.List;
import java.util.Objects;

/**
 * What a repository check found ({@link DrKit#check}).
 *
 * @param at when the check ran
 * @param repository where the repository is, safe to print
 * @param options what the check was asked to do
 * @param backups complete backups whose manifests were read (sound and damaged)
 * @param artifacts artifacts looked up
 * @param archiveFiles archived files (e.g. WAL) looked up
 * @param bytesRead stored bytes re-read and hashed
 * @param findings every problem, in the order found, each marked when it was repaired
 */
public record CheckReport(
        Instant at,
        String repository,
        CheckOptions options,
        int backups,
        int artifacts,
        int archiveFiles,
        long bytesRead,
        List<Finding> findings) {
    public CheckReport {
        findings = List.copyOf(findings);
    }

    /** Whether nothing is left to fix: no finding, or only repaired ones. */
    public boolean clean() {
        return findings.stream().allMatch(Finding::repaired);
    }

    /** What kind of problem a finding is. */
    public enum Kind {
        /** The repository configuration does not match its checksum file or does not parse. */
        CONFIG_DAMAGED,
        /** A manifest cannot be trusted; its backup is left out of every listing. */
        MANIFEST_DAMAGED,
        /** A manifest or archived file's record written before they had checksum files; repair adds one. */
        WITHOUT_CHECKSUM,
        /** An artifact a manifest lists is not in the storage. */
        ARTIFACT_MISSING,
        /** An artifact's stored size or content differs from what its manifest records. */
        ARTIFACT_DAMAGED,
        /** An artifact's {@code .sha256} file is missing or disagrees with the manifest. */
        CHECKSUM_FILE,
        /** An object in a backup's folder that its manifest does not account for. */
        ORPHAN_OBJECT,
        /** Objects of a backup that never got a manifest, older than the lock lease (a crashed run). */
        INCOMPLETE_BACKUP,
        /** An archived file (e.g. a WAL segment) that is missing, damaged, or left half-written. */
        ARCHIVE_DAMAGED,
        /** A lock whose holder is gone or whose lease has passed. */
        STALE_LOCK,
        /**
         * The marker of a prune cut short before it removed a listed backup's manifest: the
         * backup is whole and listed; the next prune finishes the delete if it still expires it.
         */
        INTERRUPTED_DELETE,
        /** A storage upload never committed (left by a killed writer), older than the lock lease. */
        INCOMPLETE_UPLOAD,
        /**
         * The deduplicated chunk store: an index that cannot be read, or a chunk a backup needs
         * that no index lists, whose pack is missing or short, or (when the check reads data)
         * whose stored bytes do not decode to it.
         */
        CHUNK_DAMAGED
    }

    /**
     * One problem.
     *
     * @param kind what kind of problem
     * @param object the repository object (key) it concerns
     * @param message what is wrong and what to do
     * @param repaired whether a repair fixed it
     */
    public record Finding(Kind kind, String object, String message, boolean repaired) {
        public Finding {
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(object, "object");
            Objects.requireNonNull(message, "message");
        }
    }
}
