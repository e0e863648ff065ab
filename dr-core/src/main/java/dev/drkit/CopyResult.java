package dev.drkit;

import java.util.List;

/**
 * The outcome of replicating backups to another repository.
 *
 * @param destination where they went (safe to print)
 * @param copied ids of backups copied now
 * @param skipped ids of backups the destination already had complete
 * @param bytes stored bytes transferred
 */
public record CopyResult(String destination, List<String> copied, List<String> skipped, long bytes) {
    public CopyResult {
        copied = List.copyOf(copied);
        skipped = List.copyOf(skipped);
    }
}
