package dev.drkit.postgres;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;

/**
 * The WAL a cluster waits to archive, for a limit on it: when archiving keeps failing (the
 * repository unreachable, a signing key expired), PostgreSQL keeps every WAL file it could not
 * archive, {@code pg_wal} fills, and the cluster stops. A {@code wal-push} given a limit reports
 * a file it could not push as archived once the files waiting add up to more than the limit
 * (pgBackRest's {@code archive-push-queue-max} does the same): the cluster stays up, and the
 * WAL archive has a gap, so that point-in-time recovery past the dropped file is impossible
 * until a base backup taken after it. Whoever drops a file says so loudly, and records it in the
 * spool where there is one ({@link WalSpool#recordDropped}).
 */
public final class WalBacklog {
    private WalBacklog() {}

    /**
     * The bytes of the WAL files PostgreSQL marks ready to archive ({@code pg_wal/archive_status/
     * *.ready}) in {@code dataDir}, each counted by its size in {@code pg_wal}; a file that went
     * meanwhile counts nothing.
     */
    public static long pendingBytes(Path dataDir) throws IOException {
        Path walDir = dataDir.resolve("pg_wal");
        long total = 0;
        for (String name : WalPushBatch.readyFiles(dataDir)) {
            try {
                BasicFileAttributes a = Files.readAttributes(
                        walDir.resolve(name), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
                if (a.isRegularFile()) {
                    total += a.size();
                }
            } catch (NoSuchFileException e) {
                // archived and removed meanwhile
            }
        }
        return total;
    }
}
