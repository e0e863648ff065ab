package dev.drkit;

import java.util.List;
import java.util.Objects;

/**
 * The outcome of replicating backups to another repository.
 *
 * @param destination where they went (safe to print)
 * @param copied ids of backups copied now
 * @param skipped ids of backups the destination already had complete
 * @param bytes stored bytes transferred, archived files included
 * @param archiveFilesCopied files copied from the archive areas the backups need (PostgreSQL WAL)
 * @param notCopied backups of a copy of every backup that could not be copied because their
 *     stored data is damaged or missing; such a copy ends with a {@link CopyIncompleteException}
 *     that carries this result, so a result a copy returns has none
 */
public record CopyResult(
        String destination,
        List<String> copied,
        List<String> skipped,
        long bytes,
        long archiveFilesCopied,
        List<NotCopied> notCopied) {
    public CopyResult {
        copied = List.copyOf(copied);
        skipped = List.copyOf(skipped);
        notCopied = List.copyOf(notCopied);
    }

    public CopyResult(
            String destination, List<String> copied, List<String> skipped, long bytes, long archiveFilesCopied) {
        this(destination, copied, skipped, bytes, archiveFilesCopied, List.of());
    }

    public CopyResult(String destination, List<String> copied, List<String> skipped, long bytes) {
        this(destination, copied, skipped, bytes, 0);
    }

    /** Whether every backup asked for is in the destination. */
    public boolean complete() {
        return notCopied.isEmpty();
    }

    /**
     * A backup left out of a copy.
     *
     * @param id the backup's id
     * @param reason what was wrong with it (safe to print)
     */
    public record NotCopied(String id, String reason) {
        public NotCopied {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(reason, "reason");
        }
    }
}
