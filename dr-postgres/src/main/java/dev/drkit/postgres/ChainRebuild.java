package dev.drkit.postgres;

import com.github.luben.zstd.ZstdDecompressCtx;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.spi.support.FileWrites;
import dev.drkit.spi.support.InterruptAside;
import dev.drkit.spi.support.TarExtractor;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.BitSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Rebuilds the files of a restore that are stored page by page, writing each page once: a
 * page comes from the newest backup of the chain whose page deltas hold it (frames of pages
 * that newer backups all replaced are read past without being decompressed), else from the
 * file's base version (the whole copy an earlier backup holds). Frames are decompressed and
 * written by a few worker threads while the artifacts are read. The CRC-32C of every page
 * written is kept (4 bytes per 8 KiB page the artifacts hold; pages none holds read as zeros
 * and cost nothing), so that each file is checked against the CRC-32C its backup recorded
 * without reading it back.
 *
 * <p>All artifacts are read side by side, as a wavefront: whoever reads a file's pages (the
 * deltas of one backup, or the base version) waits, block by block, until the readers of that
 * file's newer deltas have passed that block, so that the newest holder of a page claims it
 * first. The newest deltas never wait; so reading them as {@link #inOrder} does, newest first,
 * can never deadlock, however few of them run at a time. Pages of the deltas are kept (still
 * compressed, within a memory budget) for the base version's writer, which writes them with
 * its own pages front to back in large writes; a frame beyond the budget goes to the workers,
 * which write its pages where they belong at once.
 *
 * <p>Use: {@link #delta} for each artifact of page deltas, and {@link #base} as the content
 * writer of the tars that hold the base versions, all side by side (or one after the other,
 * newest deltas first, then the bases); then {@link #finish}. Close it in any case: that also
 * releases every reader still waiting.
 */
final class ChainRebuild implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(ChainRebuild.class);
    private static final int PAGE = PageMaps.PAGE;
    private static final int CRC_CHUNK = 256;
    /** How many bytes a base version's writer writes between two calls of the restore's {@code inPart}. */
    static final long WRITTEN_IN_PART = 32L << 20;

    private final Path staging;
    private final Consumer<Path> whole;
    private final Consumer<Path> inPart;
    private final Path realStaging;
    private final Map<String, Target> targets = new HashMap<>();
    private final BlockingQueue<Job> jobs = new LinkedBlockingQueue<>();
    /** Compressed bytes read ahead of the workers, in KiB: bounds the memory of frames waiting. */
    private final Semaphore budget;
    /**
     * Compressed bytes of frames held for the base writers, in KiB. Taken without waiting: a
     * frame that finds none goes to the workers instead (a reader must never wait on the base,
     * which waits on the readers).
     */
    private final Semaphore held;

    private final int budgetKib;
    private final List<Thread> workers = new ArrayList<>();
    private final AtomicReference<Throwable> failure = new AtomicReference<>();
    private final AtomicInteger pending = new AtomicInteger();
    /** What the rebuild did, for the log: frames passed over and decompressed, pages taken from each source. */
    private final AtomicLong framesSkipped = new AtomicLong();

    private final AtomicLong framesDecompressed = new AtomicLong();
    private final AtomicLong pagesDecompressed = new AtomicLong();
    private final AtomicLong deltaPages = new AtomicLong();
    private final AtomicLong basePages = new AtomicLong();
    private final Object idle = new Object();

    /**
     * One file being rebuilt. Its claims ({@link #written}, {@link #limit}) and the progress of
     * its readers are guarded by its monitor, which readers wait on.
     */
    private static final class Target {
        final FileList.FileEntry entry;
        final int pages;
        /** Pages at and past this were cut off by a newer backup: older versions of them are not taken. */
        int limit;

        final PageSet written = new PageSet();
        /**
         * Frames claimed but not handed to the workers, by the first block taken from each: the
         * base version's writer decompresses them and writes their pages with its own, in
         * order, so that the file is written front to back in large writes.
         */
        final TreeMap<Integer, Held> held = new TreeMap<>();
        /**
         * Per delta of the file's chain (oldest first, as the file list gives them): every block
         * below this is claimed (or known not held) by that delta's reader; -1 before its record
         * starts, {@link Integer#MAX_VALUE} once it ended.
         */
        final int[] progress;
        /**
         * The CRC-32C of each page written, in chunks made as pages are: memory follows the pages
         * the artifacts hold, not the size a (possibly forged) file list claims.
         */
        private final Map<Integer, int[]> crcs = new ConcurrentHashMap<>();

        boolean created;
        boolean based;
        /** The base version still to come plus the frames of it still to write; at 0 the file is whole. */
        final AtomicInteger outstanding = new AtomicInteger(1);

        Target(FileList.FileEntry entry) {
            this.entry = entry;
            this.pages = (int) (entry.size() / PAGE);
            this.limit = pages;
            this.progress = new int[entry.deltas().size()];
            Arrays.fill(progress, -1);
        }

        /** Whether the readers of every delta after {@code position} have passed {@code block} (-1: started). */
        boolean passed(int position, int block) {
            for (int j = position + 1; j < progress.length; j++) {
                if (progress[j] <= block) {
                    return false;
                }
            }
            return true;
        }

        synchronized void advance(int position, int to) {
            if (to > progress[position]) {
                progress[position] = to;
                notifyAll();
            }
        }

        void crc(int block, int crc) {
            crcs.computeIfAbsent(block / CRC_CHUNK, k -> new int[CRC_CHUNK])[block % CRC_CHUNK] = crc;
        }

        int crc(int block) {
            return crcs.get(block / CRC_CHUNK)[block % CRC_CHUNK];
        }
    }

    /**
     * The pages of a file written so far, in chunks made as pages are, so that a forged page far
     * out costs no more than a near one; used by one thread at a time.
     */
    static final class PageSet {
        private static final int CHUNK = 4096;
        private final TreeMap<Integer, BitSet> chunks = new TreeMap<>();

        boolean get(int page) {
            BitSet chunk = chunks.get(page / CHUNK);
            return chunk != null && chunk.get(page % CHUNK);
        }

        void set(int page) {
            chunks.computeIfAbsent(page / CHUNK, k -> new BitSet(CHUNK)).set(page % CHUNK);
        }

        /** The first page set at or after {@code from}; -1 if none. */
        int nextSetBit(int from) {
            for (Map.Entry<Integer, BitSet> c = chunks.ceilingEntry(from / CHUNK);
                    c != null;
                    c = chunks.higherEntry(c.getKey())) {
                int first = c.getKey() * CHUNK;
                int next = c.getValue().nextSetBit(Math.max(0, from - first));
                if (next >= 0) {
                    return first + next;
                }
            }
            return -1;
        }
    }

    /** An open file shared by the jobs of one record; closed by whoever releases it last. */
    private static final class Open {
        final FileChannel channel;
        final AtomicInteger users = new AtomicInteger(1);

        Open(FileChannel channel) {
            this.channel = channel;
        }

        void release() throws IOException {
            if (users.decrementAndGet() == 0) {
                channel.close();
            }
        }
    }

    /** A frame to decompress; {@code take} marks (bit i) the pages of it to write. */
    private record Job(Target target, Open file, int[] blocks, int count, long take, byte[] compressed, String what) {}

    /** A frame kept for the base version's writer to merge into its sequential writes. */
    private record Held(int[] blocks, int count, long take, byte[] compressed, String what, int kib) {}

    private static final Job STOP = new Job(null, null, null, 0, 0, null, null);

    /**
     * @param paged the file list's entries of the files stored page by page (each with deltas)
     */
    ChainRebuild(Path staging, List<FileList.FileEntry> paged) throws IOException {
        this(staging, paged, file -> {});
    }

    /**
     * @param paged the file list's entries of the files stored page by page (each with deltas)
     * @param whole told of each rebuilt file once every page of it is written (its size and
     *     date are set by {@link #finish} after that), so that it can be synced while others are rebuilt
     */
    ChainRebuild(Path staging, List<FileList.FileEntry> paged, Consumer<Path> whole) throws IOException {
        this(staging, paged, whole, -1);
    }

    /**
     * @param whole as for {@link #ChainRebuild(Path, List, Consumer)}
     * @param inPart told of a rebuilt file each time its base version's writer, which writes it
     *     front to back, has written another {@link #WRITTEN_IN_PART} bytes of it, so that writing
     *     them to disk can start before the file is whole: the largest files are whole only at
     *     the end of a chain restore, and syncing all of one then would come after everything else
     */
    ChainRebuild(Path staging, List<FileList.FileEntry> paged, Consumer<Path> whole, Consumer<Path> inPart)
            throws IOException {
        this(staging, paged, whole, inPart, -1);
    }

    /** With {@code heldKib} KiB of compressed frames held for the base writers (-1: the default); for tests. */
    ChainRebuild(Path staging, List<FileList.FileEntry> paged, Consumer<Path> whole, int heldKib) throws IOException {
        this(staging, paged, whole, file -> {}, heldKib);
    }

    private ChainRebuild(
            Path staging, List<FileList.FileEntry> paged, Consumer<Path> whole, Consumer<Path> inPart, int heldKib)
            throws IOException {
        this.staging = staging;
        this.whole = whole;
        this.inPart = inPart;
        this.realStaging = staging.toRealPath();
        for (FileList.FileEntry e : paged) {
            if (e.size() < 0 || e.size() % PAGE != 0 || e.size() / PAGE > PageMaps.MAX_PAGES) {
                throw new CorruptDataException("the file list gives " + e.name() + ", stored page by page, an "
                        + "impossible size of " + e.size()
                        + " bytes (negative, not a whole number of pages, or more than "
                        + PageMaps.MAX_PAGES + " pages); the backup is damaged, restore another one");
            }
            if (new HashSet<>(e.deltas()).size() != e.deltas().size()) {
                throw new CorruptDataException("the file list names the same page deltas twice for " + e.name()
                        + "; the backup is damaged, restore another one");
            }
            targets.put(e.name(), new Target(e));
        }
        int threads = Math.max(1, Math.min(4, Runtime.getRuntime().availableProcessors()));
        budgetKib =
                (int) Math.max(1024, Math.min(256 * 1024, Runtime.getRuntime().maxMemory() / 8 / 1024));
        budget = new Semaphore(budgetKib);
        held = new Semaphore(heldKib < 0 ? budgetKib : heldKib);
        for (int i = 0; i < threads; i++) {
            Thread t = new Thread(this::work, "drkit-pg-frames-" + i);
            t.setDaemon(true);
            workers.add(t);
            t.start();
        }
    }

    /**
     * Applies one artifact of page deltas: {@code wanted} names the files it must hold, each
     * with the size its record must give the file when these are the file's newest deltas (else
     * -1); it may hold other files, which are read past.
     */
    void delta(InputStream in, String what, Map<String, Long> wanted) throws IOException {
        Set<String> seen = new HashSet<>();
        class Applier implements PageDeltas.Sink {
            private Target target;
            private int position;
            private Open open;
            private int limit;

            @Override
            public boolean file(String name, long size) throws IOException {
                Long recorded = wanted.get(name);
                if (recorded == null) {
                    return false;
                }
                if (recorded >= 0 && recorded != size) {
                    throw PageDeltas.damaged(
                            what,
                            "they give file " + name + " a size of " + size + " bytes, but the file list records "
                                    + recorded);
                }
                if (!seen.add(name)) {
                    throw PageDeltas.damaged(what, "it holds file " + name + " twice");
                }
                target = targets.get(name);
                position = target == null ? -1 : target.entry.deltas().indexOf(what);
                if (position < 0) {
                    throw new IllegalArgumentException(name + " is not rebuilt from " + what);
                }
                synchronized (target) {
                    awaitPassed(target, position, -1); // the newer deltas' cuts are known
                    limit = target.limit;
                    target.limit = (int) Math.min(target.limit, size / PAGE);
                }
                open = new Open(open(target, what));
                target.advance(position, 0);
                return true;
            }

            @Override
            public boolean wantsAny(int[] blocks, int count) throws IOException {
                if (claim(blocks, count, false) != 0) {
                    return true;
                }
                framesSkipped.incrementAndGet();
                target.advance(position, blocks[count - 1] + 1);
                return false;
            }

            @Override
            public void frame(int[] blocks, int count, byte[] compressed) throws IOException {
                int kib = kib(compressed.length);
                boolean hold = held.tryAcquire(kib);
                long take;
                synchronized (target) { // held before the progress moves: the base finds it when it gets there
                    take = claim(blocks, count, true);
                    if (hold && take != 0) {
                        int first = blocks[Long.numberOfTrailingZeros(take)];
                        target.held.put(first, new Held(blocks.clone(), count, take, compressed, what, kib));
                    }
                }
                target.advance(position, blocks[count - 1] + 1);
                deltaPages.addAndGet(Long.bitCount(take));
                if (hold) {
                    if (take == 0) {
                        held.release(kib);
                    }
                    return;
                }
                framesDecompressed.incrementAndGet();
                pagesDecompressed.addAndGet(count);
                open.users.incrementAndGet();
                target.outstanding.incrementAndGet();
                try {
                    submit(new Job(target, open, blocks.clone(), count, take, compressed, what));
                } catch (IOException | RuntimeException e) {
                    open.release();
                    throw e; // the restore fails: the file is never whole
                }
            }

            @Override
            public void page(int block, byte[] page) throws IOException {
                boolean take = claim(new int[] {block}, 1, true) != 0;
                target.advance(position, block + 1);
                if (take) {
                    deltaPages.incrementAndGet();
                    target.crc(block, PageCrc.crc(page, 0));
                    write(open.channel, page, 0, PAGE, (long) block * PAGE);
                }
            }

            @Override
            public void endFile() throws IOException {
                target.advance(position, Integer.MAX_VALUE);
                open.release();
                open = null;
            }

            /**
             * Once the newer deltas have passed these blocks: the pages of a group to write (bit i
             * for blocks[i]), those below the limit and not claimed by a newer backup.
             */
            private long claim(int[] blocks, int count, boolean mark) throws IOException {
                synchronized (target) {
                    awaitPassed(target, position, blocks[count - 1]);
                    long take = 0;
                    for (int i = 0; i < count; i++) {
                        int b = blocks[i];
                        if (b < limit && !target.written.get(b)) {
                            take |= 1L << i;
                            if (mark) {
                                target.written.set(b);
                            }
                        }
                    }
                    return take;
                }
            }
        }
        Applier applier = new Applier();
        try {
            PageDeltas.read(in, what, applier);
            for (String name : wanted.keySet()) {
                if (!seen.contains(name)) {
                    throw new CorruptDataException("the page deltas " + what + " lack " + name + ", which the file "
                            + "list says they rebuild; the backup chain is damaged, restore a full backup");
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            failed(e); // the readers waiting on this one give up, rather than wait for it forever
            throw e;
        } finally {
            if (applier.open != null) { // a record cut short: its file is not left open
                applier.open.release();
            }
            for (String name : wanted.keySet()) {
                Target t = targets.get(name);
                int p = t == null ? -1 : t.entry.deltas().indexOf(what);
                if (p >= 0) {
                    t.advance(p, Integer.MAX_VALUE);
                }
            }
        }
        rethrow();
    }

    /**
     * Waits, holding the target's monitor, until the readers of every delta of its chain after
     * {@code position} (-1: all of them) have passed {@code block}; gives up when the rebuild failed.
     */
    private void awaitPassed(Target target, int position, int block) throws IOException {
        while (!target.passed(position, block)) {
            waitOn(target, "waiting for the newer page deltas");
        }
        rethrow(); // a reader that failed is marked passed, so that no one waits for it
    }

    /** One wait of at most 100 ms on a monitor held, failing first if the rebuild failed. */
    private void waitOn(Object monitor, String doing) throws IOException {
        rethrow();
        try {
            monitor.wait(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while " + doing);
        }
    }

    /**
     * Runs the readers of page deltas ({@code readers}, index 0 reading the newest backup's) on
     * a few tasks that take them in index order, one at a time each: a reader only waits on
     * newer ones, which were all taken before it and are running or done, so the chain always
     * moves, and a file list naming thousands of artifacts costs no more threads. No reader
     * starts once the rebuild failed.
     */
    List<ParallelIo.IoTask> inOrder(List<ParallelIo.IoTask> readers) {
        int threads = Math.min(
                readers.size(),
                Math.max(4, Math.min(16, 2 * Runtime.getRuntime().availableProcessors())));
        AtomicInteger next = new AtomicInteger();
        List<ParallelIo.IoTask> tasks = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            tasks.add(() -> {
                for (int i; (i = next.getAndIncrement()) < readers.size(); ) {
                    rethrow();
                    readers.get(i).run();
                }
            });
        }
        return tasks;
    }

    /**
     * A reader of deltas failed outside {@link #delta} (its artifact did not open), or a base
     * version's tar failed: no one waits for them, and no reader starts any more.
     */
    void failed(Throwable t) {
        failure.compareAndSet(null, t instanceof IOException io ? new UncheckedIOException(io) : t);
    }

    /**
     * The content writer for the base versions, for {@link TarExtractor#unpack(InputStream, Path,
     * java.util.function.Predicate, java.util.function.Function)}: null for a name not rebuilt here.
     */
    TarExtractor.ContentWriter base(String name) {
        Target target = targets.get(name);
        if (target == null) {
            return null;
        }
        return (path, content) -> {
            int limit;
            synchronized (target) {
                if (target.based) {
                    throw new CorruptDataException("the backup chain holds two base versions of " + name + "; it is "
                            + "damaged, restore a full backup");
                }
                target.based = true;
                awaitPassed(target, -1, -1); // every delta's cut is known
                limit = target.limit;
            }
            try (FileChannel channel = open(target, "the base version of " + name);
                    Merger merger = new Merger(target, channel)) {
                byte[] buffer = new byte[128 * PAGE];
                boolean[] write = new boolean[128];
                int first = 0; // the block at buffer[0]
                long taken = 0;
                long unannounced = 0; // bytes written since inPart was last told
                while (first < limit) {
                    int got = content.readNBytes(buffer, 0, buffer.length);
                    if (got <= 0) {
                        break;
                    }
                    int n = (got + PAGE - 1) / PAGE;
                    Arrays.fill(buffer, got, n * PAGE, (byte) 0); // a last partial page reads as zeros after it
                    List<Held> due;
                    synchronized (target) { // once every delta has passed these pages: those none claimed
                        awaitPassed(target, -1, first + n - 1);
                        for (int i = 0; i < n; i++) {
                            int block = first + i;
                            write[i] = block < limit && !target.written.get(block);
                            if (write[i]) {
                                target.written.set(block);
                            }
                        }
                        due = takeHeld(target, first + n);
                    }
                    for (int i = 0; i < n; i++) {
                        if (write[i]) {
                            taken++;
                            target.crc(first + i, PageCrc.crc(buffer, i * PAGE));
                        }
                    }
                    for (Held h : due) { // the newer pages of these blocks, into the buffer
                        merger.merge(h, buffer, first, n, write);
                    }
                    int runStart = -1;
                    for (int i = 0; i <= n; i++) {
                        if (i < n && write[i]) {
                            if (runStart < 0) {
                                runStart = i;
                            }
                        } else if (runStart >= 0) {
                            write(
                                    channel,
                                    buffer,
                                    runStart * PAGE,
                                    (i - runStart) * PAGE,
                                    (long) (first + runStart) * PAGE);
                            unannounced += (long) (i - runStart) * PAGE;
                            runStart = -1;
                        }
                    }
                    if (unannounced >= WRITTEN_IN_PART && got == buffer.length && first + n < limit) { // not at its end
                        unannounced = 0;
                        inPart.accept(staging.resolve(target.entry.name()));
                    }
                    first += n;
                    if (got < buffer.length) {
                        break;
                    }
                }
                basePages.addAndGet(taken);
                List<Held> rest;
                synchronized (target) { // every delta of the file has handed on its frames: the count is complete
                    awaitPassed(target, -1, Integer.MAX_VALUE - 1);
                    rest = takeHeld(target, Integer.MAX_VALUE);
                }
                for (Held h : rest) { // past the base version's end (the file grew)
                    merger.merge(h, null, 0, 0, null);
                }
            }
            done(target);
        };
    }

    /** Removes and returns the held frames of a target whose first page is below {@code end}. */
    private static List<Held> takeHeld(Target target, int end) {
        Map<Integer, Held> due = target.held.headMap(end);
        List<Held> list = new ArrayList<>(due.values());
        due.clear();
        return list;
    }

    /**
     * Decompresses held frames for a base version's writer; one per writer, its context and
     * buffer (on the heap, 512 KiB) made when the first frame comes.
     */
    private final class Merger implements AutoCloseable {
        private final Target target;
        private final FileChannel channel;
        private ZstdDecompressCtx zstd;
        private byte[] pages;

        Merger(Target target, FileChannel channel) {
            this.target = target;
            this.channel = channel;
        }

        /**
         * Puts the pages of a held frame that fall in the buffer's {@code n} blocks from {@code
         * first} into it (marking them to be written) and writes the others at once, where they
         * belong (no base page is written there: they are claimed).
         */
        void merge(Held h, byte[] buffer, int first, int n, boolean[] write) throws IOException {
            if (zstd == null) {
                pages = new byte[PageDeltas.MAX_GROUP * PAGE];
                zstd = new ZstdDecompressCtx();
            }
            PageDeltas.decompress(zstd, h.compressed(), h.count(), pages, h.what());
            framesDecompressed.incrementAndGet();
            pagesDecompressed.addAndGet(h.count());
            int[] blocks = h.blocks();
            for (int i = 0; i < h.count(); i++) {
                if ((h.take() & (1L << i)) == 0) {
                    continue;
                }
                int b = blocks[i];
                target.crc(b, PageCrc.crc(pages, i * PAGE));
                if (buffer != null && b >= first && b < first + n) {
                    System.arraycopy(pages, i * PAGE, buffer, (b - first) * PAGE, PAGE);
                    write[b - first] = true;
                } else {
                    write(channel, pages, i * PAGE, PAGE, (long) b * PAGE);
                }
            }
            held.release(h.kib());
        }

        @Override
        public void close() {
            if (zstd != null) {
                zstd.close();
            }
        }
    }

    /**
     * Gives each rebuilt file its recorded size, checks it against the CRC-32C its backup
     * recorded and dates it as recorded.
     */
    void finish() throws IOException {
        awaitJobs();
        for (Target t : targets.values()) {
            String name = t.entry.name();
            if (!t.based) {
                throw new CorruptDataException(name + " should come from backup " + t.entry.backup() + "/"
                        + t.entry.artifact() + " but is not in it; the backup chain is damaged, restore a full backup");
            }
            Path file = staging.resolve(name);
            try (FileChannel ch = FileChannel.open(file, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
                if (ch.size() > t.entry.size()) {
                    ch.truncate(t.entry.size());
                } else if (ch.size() < t.entry.size()) {
                    ch.write(ByteBuffer.wrap(new byte[1]), t.entry.size() - 1); // the rest reads as zeros
                }
            }
            int crc = PageCrc.empty();
            for (int b = 0; b < t.pages; ) { // runs of pages never written are zeros, folded at once
                int set = t.written.nextSetBit(b);
                int next = set < 0 ? t.pages : Math.min(set, t.pages);
                crc = PageCrc.appendZeroPages(crc, next - b);
                for (b = next; b < t.pages && t.written.get(b); b++) {
                    crc = PageCrc.append(crc, t.crc(b));
                }
            }
            String got = String.format("%08x", crc);
            if (!t.entry.crc32c().equals(got)) {
                throw new CorruptDataException(name + " rebuilt from page deltas has CRC-32C " + got + ", but its "
                        + "backup recorded " + t.entry.crc32c() + "; the backup chain is damaged, restore a full "
                        + "backup");
            }
            Files.setLastModifiedTime(file, FileTime.fromMillis(t.entry.mtime()));
        }
        LOG.debug(
                "rebuilt {} files from page deltas: {} pages from the deltas ({} frames of {} pages decompressed, {} "
                        + "frames passed over), {} pages from base versions",
                targets.size(),
                deltaPages.get(),
                framesDecompressed.get(),
                pagesDecompressed.get(),
                framesSkipped.get(),
                basePages.get());
    }

    /** One part of a file written (its base version, or a frame); the last tells {@link #whole}. */
    private void done(Target target) {
        if (target.outstanding.decrementAndGet() == 0 && failure.get() == null) {
            whole.accept(staging.resolve(target.entry.name()));
        }
    }

    /** Stops the workers; a job still queued is dropped. */
    @Override
    public void close() {
        failure.compareAndSet(null, new CorruptDataException("the chain restore was stopped"));
        List<Job> dropped = new ArrayList<>();
        jobs.drainTo(dropped);
        for (Job job : dropped) {
            if (job != STOP) {
                try {
                    job.file().release();
                } catch (IOException ignored) {
                    // the restore failed or ended; its staging directory goes
                }
            }
        }
        for (Thread ignored : workers) {
            jobs.offer(STOP);
        }
        // joined even when the restore was interrupted (the flag is set again after): a worker
        // only finishes the frame in hand before it takes STOP
        try (InterruptAside aside = InterruptAside.setAside()) {
            if (joinWorkers(TimeUnit.SECONDS.toNanos(30))) {
                aside.keep();
            }
            if (workers.stream().anyMatch(Thread::isAlive)) {
                // a write that does not end (stuck storage): interrupting closes its channel, the worker then ends
                workers.forEach(Thread::interrupt);
                if (joinWorkers(TimeUnit.SECONDS.toNanos(10))) {
                    aside.keep();
                }
                for (Thread t : workers) {
                    if (t.isAlive()) {
                        LOG.warn("{} did not end after it was interrupted; it is left running", t.getName());
                    }
                }
            }
        }
    }

    /** Joins the workers for at most {@code nanos}; true when this thread was interrupted meanwhile. */
    private boolean joinWorkers(long nanos) {
        boolean interrupted = false;
        long until = System.nanoTime() + nanos;
        for (Thread t : workers) {
            while (t.isAlive() && System.nanoTime() < until) {
                try {
                    t.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime())));
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
        }
        return interrupted;
    }

    /** Opens the file of a target: created by the first record that reaches it, which must find nothing there. */
    private FileChannel open(Target target, String what) throws IOException {
        String name = target.entry.name();
        Path file = staging.resolve(name).normalize();
        if (!file.startsWith(staging) || file.equals(staging) || name.startsWith("/")) {
            throw PageDeltas.damaged(what, "it names " + name + ", outside the data directory");
        }
        Path parent = file.getParent();
        if (!Files.isDirectory(parent, LinkOption.NOFOLLOW_LINKS)
                || !parent.toRealPath()
                        .equals(realStaging.resolve(staging.relativize(parent).toString()))) {
            throw new CorruptDataException("the directory of " + name + " is missing or not a plain directory of the "
                    + "restore; the backup chain is damaged, restore a full backup");
        }
        synchronized (target) {
            if (target.created) {
                return FileChannel.open(file, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
            }
            try {
                FileChannel channel = FileChannel.open(
                        file, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
                target.created = true;
                return channel;
            } catch (FileAlreadyExistsException e) {
                throw new CorruptDataException(name + " is rebuilt from page deltas, but something else of the backup "
                        + "already stands at its place; the backup chain is damaged, restore a full backup");
            } catch (NoSuchFileException e) {
                throw new CorruptDataException("the directory of " + name + " is missing; the backup chain is damaged, "
                        + "restore a full backup");
            }
        }
    }

    private void submit(Job job) throws IOException {
        try {
            // polled: a worker that stopped early leaves the budget of its queued frames taken for good
            do {
                rethrow();
            } while (!budget.tryAcquire(kib(job), 100, TimeUnit.MILLISECONDS));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while applying page deltas", e);
        }
        pending.incrementAndGet();
        jobs.add(job);
    }

    private int kib(Job job) {
        return kib(job.compressed().length);
    }

    private int kib(int bytes) {
        return Math.min(budgetKib, bytes / 1024 + 1);
    }

    /** A worker that stops before it is told to (it cannot start, or it is interrupted) fails the restore. */
    private void work() {
        try {
            drain();
        } catch (InterruptedException e) {
            failure.compareAndSet(
                    null, new DrException(ErrorCode.INTERRUPTED, "interrupted while applying page deltas"));
        } catch (RuntimeException | Error e) {
            failure.compareAndSet(null, e);
        }
    }

    private void drain() throws InterruptedException {
        byte[] pages = new byte[PageDeltas.MAX_GROUP * PAGE];
        try (ZstdDecompressCtx zstd = new ZstdDecompressCtx()) {
            while (true) {
                Job job = jobs.take();
                if (job == STOP) {
                    return;
                }
                try {
                    if (failure.get() == null) {
                        run(job, zstd, pages);
                    }
                } catch (IOException e) {
                    failure.compareAndSet(null, new UncheckedIOException(e));
                } catch (RuntimeException | Error e) {
                    failure.compareAndSet(null, e);
                } finally {
                    budget.release(kib(job));
                    try {
                        job.file().release();
                        done(job.target());
                    } catch (IOException e) {
                        failure.compareAndSet(null, new UncheckedIOException(e));
                    }
                    if (pending.decrementAndGet() == 0) {
                        synchronized (idle) {
                            idle.notifyAll();
                        }
                    }
                }
            }
        }
    }

    private static void run(Job job, ZstdDecompressCtx zstd, byte[] pages) throws IOException {
        PageDeltas.decompress(zstd, job.compressed(), job.count(), pages, job.what());
        int[] blocks = job.blocks();
        int runStart = -1;
        for (int i = 0; i <= job.count(); i++) {
            boolean take = i < job.count() && (job.take() & (1L << i)) != 0;
            if (take) {
                job.target().crc(blocks[i], PageCrc.crc(pages, i * PAGE));
            }
            boolean joins = take && runStart >= 0 && blocks[i] == blocks[i - 1] + 1;
            if (runStart >= 0 && !joins) {
                write(
                        job.file().channel,
                        pages,
                        runStart * PAGE,
                        (i - runStart) * PAGE,
                        (long) blocks[runStart] * PAGE);
                runStart = -1;
            }
            if (take && runStart < 0) {
                runStart = i;
            }
        }
    }

    /** Waits until every frame handed to the workers is written. */
    private void awaitJobs() throws IOException {
        synchronized (idle) {
            while (pending.get() > 0 && failure.get() == null) {
                try {
                    idle.wait(100);
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new IOException("interrupted while applying page deltas", e);
                }
            }
        }
        rethrow();
    }

    private void rethrow() throws IOException {
        Throwable f = failure.get();
        if (f instanceof UncheckedIOException u) {
            throw u.getCause();
        }
        if (f instanceof RuntimeException r) {
            throw r;
        }
        if (f instanceof Error e) {
            throw e;
        }
    }

    private static void write(FileChannel channel, byte[] bytes, int offset, int length, long position)
            throws IOException {
        write(channel, ByteBuffer.wrap(bytes, offset, length), position);
    }

    /** In pieces of at most {@link FileWrites#MAX_WRITE}: a larger write call costs the kernel more. */
    private static void write(FileChannel channel, ByteBuffer b, long position) throws IOException {
        FileWrites.write(channel, b, position);
    }
}
