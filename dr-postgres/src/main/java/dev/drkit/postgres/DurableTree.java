package dev.drkit.postgres;

import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.spi.support.SourceErrors;
import java.io.IOException;
import java.nio.channels.ClosedByInterruptException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Makes a restored tree durable before the restore reports it done, as pgBackRest does: every
 * regular file synced, a few at a time, then every directory, deepest first, so that names and
 * contents both survive a crash of the machine. Without it a restored data directory lives in
 * the page cache until PostgreSQL's own sync of its data directory at its first start (which
 * then delays recovery), and a crash before that start leaves files empty or missing under
 * names a recovery trusts.
 */
final class DurableTree {
    private static final Logger LOG = LoggerFactory.getLogger(DurableTree.class);
    /** Files synced at once: the disk takes several requests in flight, the CPU is idle meanwhile. */
    private static final int SYNC_THREADS = 4;

    private DurableTree() {}

    /**
     * Syncs every file and directory under {@code root} (itself included), not following
     * symbolic links; nothing for a path that does not exist.
     *
     * @return how many files it synced
     */
    static int sync(Path root) throws IOException {
        if (!Files.exists(root, LinkOption.NOFOLLOW_LINKS)) {
            return 0;
        }
        List<Path> files = new ArrayList<>();
        List<Path> dirs = new ArrayList<>();
        for (Path p : FileTrees.list(root, d -> true)) { // links are listed, never followed
            if (Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                dirs.add(p);
            } else if (Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                files.add(p);
            }
        }
        List<ParallelIo.IoTask> tasks = new ArrayList<>();
        int threads = Math.min(SYNC_THREADS, Math.max(1, files.size()));
        for (int t = 0; t < threads; t++) {
            int first = t;
            tasks.add(() -> {
                for (int i = first; i < files.size(); i += threads) {
                    force(files.get(i));
                }
            });
        }
        ParallelIo.runAll("drkit-pg-sync", tasks, "syncing the restored files");
        dirs.sort(Comparator.comparingInt(Path::getNameCount).reversed());
        for (Path dir : dirs) {
            force(dir);
        }
        return files.size();
    }

    /**
     * Syncs every directory above {@code entry} (which the restore made or moved in: its
     * destination, a tablespace's location), up to the root: the restore may have created
     * several levels, each a new entry in the one above. They may belong to someone else: one
     * this user may not open is left as it is, as PostgreSQL does, and symbolic links on the way
     * are followed ({@code /pgdata -> /mnt/vol} is a common layout).
     */
    static void forceParents(Path entry) {
        for (Path dir = entry.toAbsolutePath().getParent(); dir != null; dir = dir.getParent()) {
            try {
                force(dir, FileChannel.open(dir, StandardOpenOption.READ));
            } catch (AccessDeniedException e) {
                LOG.debug("{} may not be opened by this user; its entries are not synced", dir);
            } catch (IOException e) {
                throw failed(dir, e);
            }
        }
    }

    /** Syncs one file or directory of a restored tree, not following a symbolic link. */
    static void force(Path path) {
        try {
            force(path, open(path));
        } catch (IOException e) {
            throw failed(path, e);
        }
    }

    private static void force(Path path, FileChannel opened) {
        try (FileChannel ch = opened) {
            ch.force(true);
        } catch (IOException e) {
            throw failed(path, e);
        }
    }

    /** Opened to be synced: for reading, or for writing (never truncated) when the file's mode forbids reading. */
    private static FileChannel open(Path path) throws IOException {
        try {
            return FileChannel.open(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
        } catch (AccessDeniedException unreadable) {
            if (Files.isDirectory(path, LinkOption.NOFOLLOW_LINKS)) {
                throw unreadable;
            }
            return FileChannel.open(path, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
        }
    }

    /**
     * Syncs files as they are written, on threads of its own, so the disk writes one file while
     * the restore decompresses the next, instead of all of them at the end. Best effort: a file
     * it could not sync is left to {@link #sync(Path)}, which syncs every file again (cheap for
     * one already clean) and reports what fails; so its failures are only logged.
     */
    static final class WriteBehind implements AutoCloseable {
        private final ExecutorService pool;
        private final AtomicInteger synced = new AtomicInteger();
        private final AtomicInteger missed = new AtomicInteger();
        private final AtomicInteger partsSynced = new AtomicInteger();
        private final Consumer<Path> partSync;
        /**
         * Files with a sync of what is written so far queued or running (those dropped by
         * {@link #abandon} stay: the write-behind is not used after that).
         */
        private final Set<Path> inPart = ConcurrentHashMap.newKeySet();

        WriteBehind() {
            this(DurableTree::force);
        }

        /** With {@code partSync} syncing the files written in part; for tests. */
        WriteBehind(Consumer<Path> partSync) {
            this.partSync = partSync;
            pool = Executors.newFixedThreadPool(SYNC_THREADS, r -> {
                Thread t = new Thread(r, "drkit-pg-write-behind");
                t.setDaemon(true);
                return t;
            });
        }

        /** Queues a file that was written and closed. */
        void written(Path file) {
            try {
                pool.execute(() -> {
                    // a pipe put in its place would block the open
                    if (!Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) {
                        missed.incrementAndGet();
                        return;
                    }
                    try {
                        force(file);
                        synced.incrementAndGet();
                    } catch (RuntimeException e) {
                        missed.incrementAndGet();
                        LOG.debug("write-behind sync of {} failed ({}); the final sync retries", file, e.getMessage());
                    }
                });
            } catch (RejectedExecutionException closed) {
                missed.incrementAndGet(); // abandoned after a failure: the restore removes what it wrote
            }
        }

        /**
         * Starts syncing a file that is still being written (what of it is written so far), unless
         * such a sync of it is queued or running: the sync at {@link #written} or the final one
         * then finds less to write.
         */
        void writtenInPart(Path file) {
            if (!inPart.add(file)) {
                return;
            }
            try {
                pool.execute(() -> {
                    try {
                        if (Files.isRegularFile(file, LinkOption.NOFOLLOW_LINKS)) { // not a pipe put there
                            partSync.accept(file);
                            partsSynced.incrementAndGet();
                        }
                    } catch (RuntimeException e) {
                        LOG.debug(
                                "write-behind sync of part of {} failed ({}); the final sync retries",
                                file,
                                e.getMessage());
                    } finally {
                        inPart.remove(file);
                    }
                });
            } catch (RejectedExecutionException closed) {
                inPart.remove(file);
            }
        }

        /** Waits for the queued syncs; interrupted, it stops them and keeps the interrupt. */
        @Override
        public void close() {
            pool.shutdown();
            try {
                while (!pool.awaitTermination(1, TimeUnit.MINUTES)) {
                    LOG.debug("still syncing restored files");
                }
            } catch (InterruptedException e) {
                pool.shutdownNow();
                Thread.currentThread().interrupt();
            }
        }

        /** Stops without waiting for what is queued (the restore failed and removes what it wrote). */
        void abandon() {
            pool.shutdownNow();
        }

        /** Files synced so far. */
        int synced() {
            return synced.get();
        }

        /** Whether a sync of what is written of {@code file} so far is queued or running. */
        boolean syncingInPart(Path file) {
            return inPart.contains(file);
        }

        /** Syncs of files written in part that ran. */
        int partsSynced() {
            return partsSynced.get();
        }

        /** Files it could not sync (left to the final sync). */
        int missed() {
            return missed.get();
        }
    }

    private static DrException failed(Path path, IOException e) {
        if (e instanceof ClosedByInterruptException) {
            Thread.currentThread().interrupt();
            return new DrException(ErrorCode.INTERRUPTED, "interrupted while syncing the restored files", e);
        }
        return new DrException(
                ErrorCode.TARGET,
                "could not sync restored " + path + " to disk (" + SourceErrors.reason(e)
                        + "); check the disk and the permissions there, then restore again",
                e);
    }
}
