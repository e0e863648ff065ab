package dev.drkit.examples;

import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.PruneResult;
import dev.drkit.RestoreRequest;
import dev.drkit.TargetSpec;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.retention.GfsRetentionPolicy;
import java.nio.file.Path;

/**
 * The README's Java example: back up a configuration directory, verify it, restore it and
 * apply retention, from a host service's own code.
 */
public final class EmbeddingExample {
    private EmbeddingExample() {}

    /** Runs the example against {@code repository}, protecting {@code configDir}. */
    public static Path run(Path repository, Path configDir, Path restoreInto) {
        try (DrKit dr = DrKit.builder()
                .repository(repository.toString()) // or "file:/var/backups/drkit"
                .onProgress(p -> System.err.printf("%s %s: %d bytes%n", p.operation(), p.target(), p.bytesDone()))
                .build()) {

            BackupResult backup = dr.backup(TargetSpec.files("config", configDir.toString()));

            VerifyReport report = dr.verify("config", backup.id(), VerifyLevel.DECODE);
            if (!report.passed()) {
                throw new IllegalStateException("backup is not restorable: " + report.problems());
            }

            dr.restore(RestoreRequest.files("config", backup.id(), restoreInto));

            PruneResult pruned = dr.prune(
                    "config",
                    GfsRetentionPolicy.builder()
                            .keepDaily(7)
                            .keepWeekly(4)
                            .keepMonthly(12)
                            .build(),
                    false);
            System.err.println("expired: " + pruned.deleted().get("config"));
        }
        return restoreInto.resolve(configDir.toAbsolutePath().toString().substring(1));
    }
}
