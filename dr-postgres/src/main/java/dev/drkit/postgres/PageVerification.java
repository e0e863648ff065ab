package dev.drkit.postgres;

import dev.drkit.spi.support.TarWriter;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Checks the data page checksums of the relation pages a base backup reads, when the cluster
 * has data checksums, as pgBackRest and {@code pg_basebackup} do: a page whose checksum fails
 * is read again (it may have been torn by a concurrent write) and is reported only when it
 * still fails and its LSN is before the backup's start (a page written since is replaced by
 * WAL replay, so its checksum proves nothing) or past the backup's end (which no page on disk
 * can have: its LSN field is damaged), or cannot be read again for another reason than its file
 * no longer reaching it (truncated or dropped since: replay does that again).
 * Thread-safe: the copy streams share one.
 */
final class PageVerification {
    /** At most this many failures are named; the count covers them all. */
    static final int MAX_NAMED = 100;

    private static final Logger LOG = LoggerFactory.getLogger(PageVerification.class);

    /** What {@link #reread} gives for a page its file no longer holds. */
    private static final byte[] GONE = new byte[0];

    private final boolean enabled;
    private final long startLsn;
    /** Blocks per relation segment file ({@code RELSEG_SIZE}, setting {@code segment_size}). */
    private final long segmentBlocks;

    private final AtomicLong failures = new AtomicLong();
    private final List<String> named = new ArrayList<>();
    /** Guarded by {@link #named}. */
    private final List<Deferred> deferred = new ArrayList<>();

    /** Checks pages when {@code enabled} (the cluster's {@code data_checksums}); {@code startLsn} is the backup's start. */
    PageVerification(boolean enabled, long startLsn) {
        this(enabled, startLsn, PageChecksum.PAGES_PER_SEGMENT);
    }

    private PageVerification(boolean enabled, long startLsn, long segmentBlocks) {
        this.enabled = enabled;
        this.startLsn = startLsn;
        this.segmentBlocks = segmentBlocks;
    }

    /**
     * The checks for a cluster with these {@code data_checksums}, {@code block_size} and
     * {@code segment_size} (in blocks): none when its pages are not of the 8 KiB that
     * {@link PageChecksum} computes over (every page would fail), and the block number of a
     * segment file's first page from the cluster's own segment size (with another than 1 GiB, every
     * page past the first segment would fail).
     */
    static PageVerification forCluster(boolean dataChecksums, int blockSize, long segmentBlocks, long startLsn) {
        if (dataChecksums && blockSize != PageChecksum.PAGE_SIZE) {
            LOG.info(
                    "pages are not checked against their data checksums: the cluster's pages are {} bytes, and "
                            + "drkit checks pages of {}",
                    blockSize,
                    PageChecksum.PAGE_SIZE);
        }
        return new PageVerification(
                dataChecksums && blockSize == PageChecksum.PAGE_SIZE && segmentBlocks > 0, startLsn, segmentBlocks);
    }

    /** Checks the pages of one data file as they are read; see {@link #forFile}. */
    interface FilePages {
        /** Checks the page at {@code offset} of {@code buffer}, block {@code block} of the file. */
        void check(byte[] buffer, int offset, long block);
    }

    /**
     * The checker for the pages of data file {@code item} (named relative to the data
     * directory): one that checks nothing when this backup does not check pages or the file is
     * no relation file. Resolved once per file, so that a page costs only its checksum.
     */
    FilePages forFile(TarWriter.Item item) {
        String fileName = item.name().substring(item.name().lastIndexOf('/') + 1);
        if (!enabled || !PageChecksum.isRelationFile(fileName)) {
            return (buffer, offset, block) -> {};
        }
        long firstBlock = PageChecksum.segmentNumber(fileName) * segmentBlocks;
        return (buffer, offset, block) -> check(buffer, offset, item.name(), item.path(), firstBlock, block);
    }

    private void check(byte[] buffer, int offset, String name, Path file, long firstBlock, long block) {
        long relationBlock = firstBlock + block;
        if (relationBlock > PageChecksum.MAX_BLOCK_NUMBER || PageChecksum.verify(buffer, offset, relationBlock)) {
            return;
        }
        if (PageChecksum.pageLsn(buffer, offset) >= startLsn) {
            later(name, block, relationBlock, buffer, offset); // written since the backup started, if its LSN is true
            return;
        }
        byte[] again = reread(file, block);
        if (again == GONE) {
            // truncated or dropped since it was read, so after the backup started: WAL replay
            // does that again, and the page is not in the restored cluster (as pg_basebackup)
            return;
        }
        if (again != null && PageChecksum.verify(again, 0, relationBlock)) {
            return; // torn by a write while it was read
        }
        if (again != null && PageChecksum.pageLsn(again, 0) >= startLsn) {
            later(name, block, relationBlock, again, 0);
            return;
        }
        byte[] page = again != null ? again : buffer;
        fail(describe(name, block, relationBlock, page, again != null ? 0 : offset));
    }

    /**
     * A failing page whose LSN says it was written since the backup started, so that WAL replay
     * replaces it: judged by {@link #afterStop} once the backup's end is known, since no page on
     * disk can have an LSN past it (WAL is flushed before the page that it describes is written),
     * and a damaged LSN field would otherwise hide a damaged page.
     */
    private void later(String name, long block, long relationBlock, byte[] page, int at) {
        synchronized (named) {
            if (deferred.size() < MAX_NAMED) {
                deferred.add(
                        new Deferred(PageChecksum.pageLsn(page, at), describe(name, block, relationBlock, page, at)));
            }
        }
    }

    /** Reports the pages {@link #later} kept whose LSN is past {@code stopLsn}, the backup's end. */
    void afterStop(long stopLsn) {
        List<Deferred> kept;
        synchronized (named) {
            kept = List.copyOf(deferred);
            deferred.clear();
        }
        for (Deferred d : kept) {
            if (d.lsn() > stopLsn) {
                fail(d.described() + ", an LSN after the backup's end " + lsn(stopLsn));
            }
        }
    }

    private record Deferred(long lsn, String described) {}

    private static String describe(String name, long block, long relationBlock, byte[] page, int at) {
        return name + " block " + block + " (relation block " + relationBlock + ", LSN "
                + lsn(PageChecksum.pageLsn(page, at)) + ", checksum " + PageChecksum.storedChecksum(page, at)
                + " instead of " + PageChecksum.compute(page, at, relationBlock) + ")";
    }

    private void fail(String described) {
        failures.incrementAndGet();
        synchronized (named) {
            if (named.size() < MAX_NAMED) {
                named.add(described);
            }
        }
    }

    /** How many pages failed. */
    long failures() {
        return failures.get();
    }

    /** The first {@link #MAX_NAMED} failures: file, block, LSN. */
    List<String> named() {
        synchronized (named) {
            return List.copyOf(named);
        }
    }

    /**
     * The failures of {@code named} (a backup's {@code sourceCorruption}, as {@link #named()} gave
     * it; anything else counts as none) in the files {@code files} names.
     */
    static List<String> inFiles(Object named, Set<String> files) {
        List<String> in = new ArrayList<>();
        if (named instanceof List<?> list) {
            for (Object o : list) {
                String failure = String.valueOf(o);
                int end = failure.indexOf(" block ");
                if (end > 0 && files.contains(failure.substring(0, end))) {
                    in.add(failure);
                }
            }
        }
        return in;
    }

    /** An LSN as PostgreSQL prints it. */
    static String lsn(long lsn) {
        return Long.toHexString(lsn >>> 32).toUpperCase(Locale.ROOT) + "/"
                + Long.toHexString(lsn & 0xFFFFFFFFL).toUpperCase(Locale.ROOT);
    }

    /** The page read again: {@link #GONE} when the file no longer holds it, null when it cannot be read. */
    private static byte[] reread(Path file, long block) {
        ByteBuffer page = ByteBuffer.allocate(PageMaps.PAGE);
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS)) {
            long position = block * PageMaps.PAGE;
            while (page.hasRemaining()) {
                int n = ch.read(page, position + page.position());
                if (n < 0) {
                    return GONE;
                }
            }
        } catch (NoSuchFileException e) {
            return GONE;
        } catch (IOException e) {
            return null; // the first read is what there is to report
        }
        return page.array();
    }
}
