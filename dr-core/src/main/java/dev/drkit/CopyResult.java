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
 * @param notCopied backups (of a copy of every backup) that could not be copied because their
 *     stored data is damaged or missing, by id
 * @param archiveFilesNotCopied archived files the backups may need (PostgreSQL WAL) that could
 *     not be copied because they are damaged or missing, by their path in the repository
 *     ({@code wal/...})
 *     <p>A copy that leaves anything out ends with a {@link CopyIncompleteException} that carries
 *     its result, so a result a copy returns has neither.
 */
public record CopyResult(
        String destination,
        List<String> copied,
        List<String> skipped,
        long bytes,
        long archiveFilesCopied,
        List<NotCopied> notCopied,
        List<NotCopied> archiveFilesNotCopied) {
    public CopyResult {
        copied = List.copyOf(copied);
        skipped = List.copyOf(skipped);
        notCopied = List.copyOf(notCopied);
        archiveFilesNotCopied = List.copyOf(archiveFilesNotCopied);
    }

    public CopyResult(
            String destination, List<String> copied, List<String> skipped, long bytes, long archiveFilesCopied) {
        this(destination, copied, skipped, bytes, archiveFilesCopied, List.of(), List.of());
    }

    public CopyResult(String destination, List<String> copied, List<String> skipped, long bytes) {
        this(destination, copied, skipped, bytes, 0);
    }

    /** Whether every backup asked for, and every archived file, is in the destination. */
    public boolean complete() {
        return notCopied.isEmpty() && archiveFilesNotCopied.isEmpty();
    }

    /**
     * A backup or archived file left out of a copy.
     *
     * @param id the backup's id, or the archived file's path
     * @param reason what was wrong with it, in words (it may quote what the repository holds)
     */
    public record NotCopied(String id, String reason) {
        public NotCopied {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(reason, "reason");
        }
    }
}
