package dev.drkit;

import java.util.List;

/**
 * The outcome of replicating backups to another repository.
 *
 * @param destination where they went (safe to print)
 * @param copied ids of backups copied now
 * @param skipped ids of backups the destination already had complete
 * @param bytes stored bytes transferred, archived files included
 * @param archiveFilesCopied files copied from the archive areas the backups need (PostgreSQL WAL)
 */
public record CopyResult(
        String destination, List<String> copied, List<String> skipped, long bytes, long archiveFilesCopied) {
    public CopyResult {
        copied = List.copyOf(copied);
        skipped = List.copyOf(skipped);
    }

    public CopyResult(String destination, List<String> copied, List<String> skipped, long bytes) {
        this(destination, copied, skipped, bytes, 0);
    }
}
