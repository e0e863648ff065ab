package dev.drkit.postgres;

import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.spi.BackupContext;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The end of a base backup: it is complete only once every WAL segment from its start to its
 * stop is in the repository's WAL archive.
 */
final class WalWait {
    private static final Logger LOG = LoggerFactory.getLogger(WalWait.class);

    private WalWait() {}

    /**
     * The segments a base backup from {@code start} to {@code stop} needs: up to the one holding
     * the last byte before {@code stop}, as PostgreSQL counts them. A stop exactly on a segment
     * boundary needs nothing of the segment that begins there (PostgreSQL did not switch to it:
     * in {@code pg_wal} it may be a recycled file that must never be stored under its name).
     */
    static List<String> segments(int timeline, long start, long stop, long segmentSize) {
        List<String> out = new ArrayList<>();
        for (long lsn = start - start % segmentSize; Long.compareUnsigned(lsn, stop) < 0; lsn += segmentSize) {
            out.add(WalArchive.segmentName(timeline, lsn, segmentSize));
        }
        return out;
    }

    /**
     * Waits until every segment from start to stop is archived in the repository. With
     * {@code pgWal} (a primary's, after pg_backup_stop switched WAL, so that these segments are
     * complete and final), a segment still there is stored from it directly: the same bytes
     * archive_command will push, which the archive then accepts as already stored.
     */
    static void await(
            BackupContext context,
            long systemId,
            int timeline,
            long start,
            long stop,
            long segmentSize,
            Duration timeout,
            Path pgWal,
            Path dataDir)
            throws IOException {
        WalArchive wal = new WalArchive(context.archive(WalArchive.AREA));
        long deadline = System.nanoTime() + timeout.toNanos();
        for (String segment : segments(timeline, start, stop, segmentSize)) {
            if (pgWal != null && !wal.contains(systemId, segment) && Files.isRegularFile(pgWal.resolve(segment))) {
                try {
                    wal.push(pgWal.resolve(segment), dataDir);
                } catch (NoSuchFileException e) {
                    LOG.debug("{} was archived and recycled meanwhile", segment);
                }
            }
            while (!wal.contains(systemId, segment)) {
                if (System.nanoTime() > deadline) {
                    throw new DrException(
                            ErrorCode.TARGET,
                            "WAL segment " + segment + ", which this base backup needs, "
                                    + "did not reach the repository within " + timeout.toSeconds() + " s; check that "
                                    + "archive_command runs WalArchive.push for this repository and succeeds "
                                    + "(pg_stat_archiver, the server log)");
                }
                try {
                    Thread.sleep(50);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new DrException(ErrorCode.INTERRUPTED, "interrupted while waiting for WAL " + segment);
                }
            }
        }
    }
}
