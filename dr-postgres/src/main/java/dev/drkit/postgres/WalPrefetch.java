package dev.drkit.postgres;

import dev.drkit.ConfigException;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.spi.support.PrivateFiles;
import dev.drkit.spi.support.SideFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code restore_command} with read-ahead: a request for a WAL segment the spool directory does
 * not hold fetches it from the repository (as {@link WalArchive#fetch} does) and, in the same
 * call, the segments after it on its timeline into the spool, {@link Builder#jobs} at a time,
 * up to {@link Builder#prefetch} segments and {@link Builder#queueMaxBytes} bytes. The
 * following requests find their segment in the spool, so a restore_command that first moves
 * {@code SPOOL/%f} to {@code %p} in the shell ({@link #restoreCommand}) serves them without
 * starting Java at all. A call returns only once its batch is in the spool, so nothing keeps
 * running after it. With {@link Builder#background} a call returns as soon as its segment is
 * at the target, and a {@link #fill} in a process of the host's that outlives the call keeps
 * the spool filled while PostgreSQL replays; segments appear in the spool only by an atomic
 * rename, so the shell's move never takes a partial one.
 *
 * <p>A spooled segment is complete under its name only: it is written under a temporary name,
 * read to the end through the repository's checksums, checked (cluster, segment size, its
 * first page's address), synced and then renamed, with a CRC-32C of its bytes beside it that a
 * request served from the spool checks again; a damaged one is fetched again. A spool used for
 * another cluster or repository is emptied, and segments before the requested one (or on an
 * earlier timeline) are removed. A segment the repository does not hold ends the read-ahead
 * quietly: that is the end of the archive. Timeline history, {@code .partial} and backup
 * history files are fetched directly, never read ahead, and an incomplete segment ({@code
 * .stream} or {@code .partial}) is never spooled under its segment's name.
 *
 * <p>Instances are immutable; one call at a time per spool (a lock file in the spool makes
 * concurrent callers wait). The spool is created readable by its owner only.
 */
public final class WalPrefetch {
    private static final Logger LOG = LoggerFactory.getLogger(WalPrefetch.class);
    private static final String MARKER = ".drkit-spool";
    private static final String LOCK = ".lock";
    private static final String CHECKSUM = ".crc32c";
    private static final String INCOMING = ".incoming";
    private static final String AGAIN = ".again";
    private static final String FILL = ".fill";
    private static final String POSITION = ".position";
    /** The spools a fill of this process holds. */
    private static final Set<Path> FILLING = ConcurrentHashMap.newKeySet();
    /** Where a CLI may send a background fill's messages; kept by the clean-up. */
    public static final String FILL_LOG = ".fill.log";

    private static final String MISSING = ".missing";
    /**
     * How long, in polls 50 ms apart, the shell waits for a segment a fill is downloading
     * before it starts Java for it (a segment of 16 MiB arrives in well under a second).
     */
    private static final int IN_FLIGHT_POLLS = 40;
    /** How many later timelines {@link #prime} looks up history files for, at most. */
    private static final int MAX_HISTORY_PROBES = 64;

    private static final int XLP_LONG_HEADER = 0x0002;
    private static final Pattern LABEL_START =
            Pattern.compile("^START WAL LOCATION: [0-9A-F]+/[0-9A-F]+ \\(file ([0-9A-F]{24})\\)$", Pattern.MULTILINE);

    private final FileArchive archive;
    private final WalArchive wal;
    private final Path spool;
    private final int prefetch;
    private final int jobs;
    private final long queueMaxBytes;
    private final FillStarter starter;
    private final Duration fillIdle;

    private WalPrefetch(Builder b) {
        this.archive = b.archive;
        this.wal = new WalArchive(b.archive).following(b.follow);
        this.spool = b.spool.toAbsolutePath();
        this.prefetch = b.prefetch;
        this.jobs = b.jobs;
        this.queueMaxBytes = b.queueMaxBytes;
        this.starter = b.starter;
        this.fillIdle = b.fillIdle;
    }

    /**
     * A builder for the WAL of {@code archive} (the repository's {@link WalArchive#AREA}) read
     * ahead into {@code spool}.
     *
     * @throws NullPointerException when an argument is null
     */
    public static Builder builder(FileArchive archive, Path spool) {
        return new Builder(archive, spool);
    }

    /**
     * The restore_command that moves a spooled segment in the shell and runs {@code fetchCommand}
     * (which must use this spool) only when the spool does not hold it: {@code mv SPOOL/%f %p},
     * else the second copy of the archive's last segment ({@code %f.again}), else exit 1 for a
     * segment or history file the read-ahead found missing at the end of the archive less than a
     * minute ago (a {@code %f.missing} marker: PostgreSQL asks for the first missing segment
     * twice and probes history files; a standby using this spool sees newly archived WAL up to a
     * minute late), else, while a fill is downloading the segment, waits for it (up to 2 s) and
     * moves it, else {@code fetchCommand}.
     */
    public static String restoreCommand(Path spool, String fetchCommand) {
        String dir = "'" + commandPath(spool.toAbsolutePath().toString());
        return "mv " + dir + "/%f' '%p' 2>/dev/null || mv " + dir + "/%f" + AGAIN
                + "' '%p' 2>/dev/null || { [ -n \"$(find "
                + dir + "' -maxdepth 1 -name '%f" + MISSING + "' -mmin -1 2>/dev/null)\" ] && exit 1; } || { i=0; "
                + "while [ $i -lt " + IN_FLIGHT_POLLS + " ] && set -- " + dir + "/%f" + INCOMING
                + "'* && [ -e \"$1\" ]; do sleep 0.05; i=$((i+1)); done; mv " + dir + "/%f' '%p' 2>/dev/null; } || { "
                + fetchCommand + "; }";
    }

    /**
     * {@code path} for a restore_command, inside single quotes: each {@code '} closes, escapes
     * and reopens the quotes, and each {@code %} is doubled, which PostgreSQL turns back into one
     * (it would expand {@code %f}, {@code %p} or {@code %r} in a path, and since 16 refuses any
     * other {@code %}).
     */
    static String commandPath(String path) {
        return path.replace("%", "%%").replace("'", "'\\''");
    }

    /** What one {@link #fetch} did. */
    public record Result(boolean found, boolean fromSpool, int prefetched, boolean endOfArchive) {}

    /**
     * Starts a process that runs {@link #fill} on the same spool with the same settings from a
     * segment, and returns without waiting for it.
     */
    @FunctionalInterface
    public interface FillStarter {
        /** Starts the fill from segment {@code from}. */
        void start(String from) throws IOException;
    }

    /**
     * Restores WAL file {@code name} for the cluster in {@code dataDir} to {@code target}, from
     * the spool when it holds it intact, else from the repository, then reads ahead.
     *
     * @return {@code found()} false when the repository does not hold the file
     * @throws dev.drkit.DrException when the file is damaged in the repository or belongs to another cluster
     * @throws IOException when the spool or target cannot be written
     */
    public Result fetch(String name, Path target, Path dataDir) throws IOException {
        if (!WalSegment.isSegmentName(name)) {
            boolean found = wal.fetch(name, target, dataDir);
            if (starter != null) {
                firstFill(dataDir);
                return new Result(found, false, 0, false);
            }
            headStart(dataDir);
            return new Result(found, false, 0, false);
        }
        long systemId = WalArchive.systemIdentifier(dataDir);
        openSpool();
        try (FileChannel lockFile = FileChannel.open(
                        spool.resolve(LOCK),
                        StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE,
                        LinkOption.NOFOLLOW_LINKS);
                FileLock lock = lockFile.lock()) {
            OptionalLong segmentSize = readMarker(systemId);
            removeStale(name);
            boolean hit = segmentSize.isPresent() && fromSpool(name, target, systemId, segmentSize.getAsLong());
            if (starter == null) {
                return hit
                        ? new Result(true, true, 0, false)
                        : fetchAndReadAhead(name, target, dataDir, systemId, segmentSize);
            }
            // a fill behind recovery skips to here
            Files.writeString(spool.resolve(POSITION), name, StandardCharsets.US_ASCII);
            boolean started = segmentSize.isPresent() && startFill(name, segmentSize.getAsLong());
            if (!hit && !wal.fetch(name, target, dataDir)) {
                return new Result(false, false, 0, false);
            }
            if (segmentSize.isEmpty()) {
                segmentSize = headerSegmentSize(target);
                if (segmentSize.isEmpty()) {
                    return new Result(true, hit, 0, false);
                }
                writeMarker(systemId, segmentSize.getAsLong());
            }
            if (!started) {
                startFill(name, segmentSize.getAsLong());
            }
            return new Result(true, hit, 0, false);
        }
    }

    /** Starts a fill after segment {@code name} unless one runs; whether it started one. */
    private boolean startFill(String name, long segmentSize) throws IOException {
        Optional<WalSegment> s = WalSegment.parse(name, segmentSize);
        if (s.isEmpty() || fillerRunning()) {
            return false;
        }
        starter.start(s.get().next().name());
        return true;
    }

    /**
     * In background mode, the first history lookup of a recovery starts a fill at the
     * backup_label's segment and spools that segment itself, which recovery asks for next, then
     * returns: PostgreSQL waits on this call, and the fill reads ahead from there (spooling more
     * here kept recovery from starting: 16 segments ahead made the call 1.1 s instead of 0.6 s,
     * and replay of 50 segments 0.25 s slower).
     */
    private void firstFill(Path dataDir) throws IOException {
        try {
            onFreshSpool(dataDir, (first, systemId) -> {
                // the fill waits for this lock, then goes on after what is spooled here
                starter.start(first);
                spoolFirst(first, dataDir, systemId);
                return Optional.empty();
            });
        } catch (IOException | RuntimeException e) {
            // the history file was the request; the segments are fetched by their own requests
            LOG.warn("reading WAL ahead into {} failed: {}", spool, e.getMessage());
        }
    }

    /** A step on a fresh spool, given the segment the backup_label names and the cluster's system identifier. */
    @FunctionalInterface
    private interface FreshSpoolStep {
        Optional<String> run(String first, long systemId) throws IOException;
    }

    /**
     * Runs {@code step} under the spool's lock when {@code dataDir} has a backup_label and the
     * spool is fresh (no marker, no fill running); empty otherwise.
     */
    private Optional<String> onFreshSpool(Path dataDir, FreshSpoolStep step) throws IOException {
        Optional<String> first = labelStart(dataDir);
        if (first.isEmpty()) {
            return Optional.empty();
        }
        long systemId = WalArchive.systemIdentifier(dataDir);
        openSpool();
        try (FileChannel lockFile = openLock(LOCK);
                FileLock lock = lockFile.lock()) {
            if (readMarker(systemId).isPresent() || fillerRunning()) {
                return Optional.empty();
            }
            return step.run(first.get(), systemId);
        }
    }

    /**
     * Prepares a fresh spool for a recovery of {@code dataDir} that has not started yet (a
     * restore calls it once the data directory is in place), so that recovery's first calls
     * need no Java: spools the segment the backup_label names, which recovery asks for first,
     * and answers the timeline history lookups recovery makes before it: the history files of
     * the backup's timeline and of the later ones the repository holds are spooled, and the
     * first later one it lacks gets a {@code .missing} marker (which, as any, answers for a
     * minute). Does nothing without a backup_label, or on a spool already in use.
     *
     * @return the segment spooled, after which a {@link #fill} goes on; empty when none was
     * @throws dev.drkit.DrException when the segment is damaged in the repository or belongs to another cluster
     * @throws IOException when the spool cannot be written
     */
    public Optional<String> prime(Path dataDir) throws IOException {
        return onFreshSpool(dataDir, (first, systemId) -> {
            Optional<WalSegment> spooled = spoolFirst(first, dataDir, systemId);
            if (spooled.isEmpty()) {
                return Optional.empty();
            }
            long timeline = spooled.get().timeline();
            if (timeline > 1) {
                String own = WalArchive.history(timeline);
                wal.fetch(own, spool.resolve(own), dataDir);
            }
            // recovery_target_timeline 'latest' probes each later timeline up to the first one missing
            for (long t = timeline + 1; t <= timeline + MAX_HISTORY_PROBES; t++) {
                String history = WalArchive.history(t);
                if (!wal.fetch(history, spool.resolve(history), dataDir)) {
                    markMissing(history);
                    break;
                }
            }
            return Optional.of(first);
        });
    }

    /**
     * For a fill started alongside a restore (so that its JVM starts while the restore runs):
     * waits while {@code restore}, the process restoring {@code dataDir}, runs, until it has
     * {@link #prime primed} {@code spool}, and returns the segment recovery starts at, which the
     * fill goes on from; empty when the restore ended without priming (it failed, or found
     * nothing to spool). A spool primed before the restore started (an earlier recovery's) does
     * not count.
     */
    public static Optional<String> awaitPrimed(Path spool, Path dataDir, Optional<ProcessHandle> restore)
            throws IOException {
        Optional<Instant> since = restore.flatMap(p -> p.info().startInstant());
        while (true) {
            boolean running = restore.map(ProcessHandle::isAlive).orElse(false);
            Path marker = spool.resolve(MARKER);
            if (Files.isRegularFile(marker, LinkOption.NOFOLLOW_LINKS)
                    && Files.isRegularFile(dataDir.resolve("global").resolve("pg_control"), LinkOption.NOFOLLOW_LINKS)
                    && (since.isEmpty()
                            || !Files.getLastModifiedTime(marker, LinkOption.NOFOLLOW_LINKS)
                                    .toInstant()
                                    .isBefore(since.get().minusSeconds(1)))) {
                return labelStart(dataDir);
            }
            if (!running) {
                return Optional.empty();
            }
            try {
                Thread.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return Optional.empty();
            }
        }
    }

    private static Optional<String> labelStart(Path dataDir) throws IOException {
        Path label = dataDir.resolve("backup_label");
        if (!Files.isRegularFile(label, LinkOption.NOFOLLOW_LINKS) || Files.size(label) > 65536) {
            return Optional.empty();
        }
        Matcher m = LABEL_START.matcher(Files.readString(label, StandardCharsets.UTF_8));
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    private FileChannel openLock(String name) throws IOException {
        return FileChannel.open(
                spool.resolve(name), StandardOpenOption.CREATE, StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS);
    }

    /** Whether a {@link #fill} runs on this spool (in any process). */
    private boolean fillerRunning() throws IOException {
        if (FILLING.contains(spool)) {
            // never probe from the process holding the lock: closing any channel on the file drops it
            return true;
        }
        if (!Files.exists(spool.resolve(FILL), LinkOption.NOFOLLOW_LINKS)) {
            return false; // no fill ever ran here
        }
        try (FileChannel ch = openLock(FILL)) {
            FileLock probe = ch.tryLock();
            if (probe == null) {
                return true;
            }
            probe.release();
            return false;
        } catch (OverlappingFileLockException sameProcess) {
            return true;
        }
    }

    /**
     * Keeps the spool filled from segment {@code from} on, for a process that outlives the
     * restore_command call which started it ({@link Builder#background}): fetches the next
     * segments {@link Builder#jobs} at a time while the spool holds fewer than its bound, waits
     * while it is full, and returns at the end of the archive (leaving the same answers for the
     * shell as a read-ahead), after an error, or once the spool has stayed full for the idle
     * time (recovery stopped reading). Returns at once when another fill runs on the spool.
     *
     * @return how many segments it spooled
     * @throws IOException when the spool cannot be written
     */
    public int fill(String from, Path dataDir) throws IOException {
        if (!WalSegment.isSegmentName(from)) {
            return 0;
        }
        long systemId = WalArchive.systemIdentifier(dataDir);
        openSpool();
        // this process first: a second channel on the lock file, once closed, would drop the lock
        if (!FILLING.add(spool)) {
            return 0;
        }
        try (FileChannel fillFile = openLock(FILL);
                FileLock running = tryLock(fillFile)) {
            return running == null ? 0 : fillHolding(from, dataDir, systemId);
        } finally {
            FILLING.remove(spool);
        }
    }

    private static FileLock tryLock(FileChannel ch) throws IOException {
        try {
            return ch.tryLock();
        } catch (OverlappingFileLockException sameProcess) {
            return null;
        }
    }

    private int fillHolding(String from, Path dataDir, long systemId) throws IOException {
        OptionalLong size;
        try (FileChannel lockFile = openLock(LOCK);
                FileLock lock = lockFile.lock()) {
            size = readMarker(systemId);
        }
        if (size.isEmpty()) {
            Optional<WalSegment> first = spoolFirst(from, dataDir, systemId);
            return first.isEmpty() ? 0 : 1 + fillFrom(first.get().next(), dataDir, systemId);
        }
        Optional<WalSegment> next = WalSegment.parse(from, size.getAsLong());
        return next.isEmpty() ? 0 : fillFrom(next.get(), dataDir, systemId);
    }

    /** Spools the first segment of a fresh spool, learning the segment size from its header. */
    private Optional<WalSegment> spoolFirst(String name, Path dataDir, long systemId) throws IOException {
        Path incoming = spool.resolve(name + INCOMING);
        try {
            if (!wal.fetch(name, incoming, dataDir, false)) {
                return Optional.empty();
            }
            OptionalLong size = headerSegmentSize(incoming);
            Optional<WalSegment> first = size.isPresent() ? WalSegment.parse(name, size.getAsLong()) : Optional.empty();
            if (first.isPresent()) {
                finishSpooled(incoming, first.get(), systemId);
                writeMarker(systemId, size.getAsLong());
            }
            return first;
        } finally {
            Files.deleteIfExists(incoming);
        }
    }

    private int fillFrom(WalSegment next, Path dataDir, long systemId) throws IOException {
        long bound = Math.min(prefetch, queueMaxBytes / next.segmentSize());
        ExecutorService pool = Executors.newFixedThreadPool(jobs, r -> {
            Thread t = new Thread(r, "drkit-wal-fill");
            t.setDaemon(true);
            return t;
        });
        int fetched = 0;
        try {
            long idleSince = System.nanoTime();
            int lastCount = -1;
            while (true) {
                if (markedSize(systemId).isEmpty()) {
                    return fetched; // the spool was emptied or taken for another recovery
                }
                int spooled = spooledSegments().size();
                if (spooled >= bound) {
                    if (spooled != lastCount) {
                        idleSince = System.nanoTime();
                        lastCount = spooled;
                    }
                    if (System.nanoTime() - idleSince > fillIdle.toNanos()) {
                        return fetched;
                    }
                    Thread.sleep(50);
                    continue;
                }
                lastCount = -1;
                next = notBehindRecovery(next);
                List<WalSegment> batch = new ArrayList<>();
                while (batch.size() < Math.min(jobs, bound - spooled)) {
                    // a checksum without its segment: recovery took it already (or another call spools it)
                    if (!Files.exists(spool.resolve(next.name()), LinkOption.NOFOLLOW_LINKS)
                            && !Files.exists(spool.resolve(next.name() + CHECKSUM), LinkOption.NOFOLLOW_LINKS)) {
                        batch.add(next);
                    }
                    next = next.next();
                }
                List<Future<Boolean>> fetches = new ArrayList<>();
                for (WalSegment segment : batch) {
                    fetches.add(pool.submit(() -> spoolSegment(segment, dataDir, systemId)));
                }
                WalSegment end = null;
                for (int i = 0; i < batch.size(); i++) {
                    if (await(fetches.get(i))) {
                        fetched++;
                    } else if (end == null) {
                        end = batch.get(i);
                    }
                }
                if (end != null) {
                    Path last =
                            spool.resolve(new WalSegment(end.timeline(), end.number() - 1, end.segmentSize()).name());
                    writeEnd(end, Files.exists(last, LinkOption.NOFOLLOW_LINKS) ? last : null, dataDir);
                    return fetched;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return fetched;
        } finally {
            pool.shutdownNow();
        }
    }

    /** {@code next}, or the segment after the one recovery last asked Java for when that is further. */
    private WalSegment notBehindRecovery(WalSegment next) throws IOException {
        try {
            String asked = Files.readString(spool.resolve(POSITION), StandardCharsets.US_ASCII);
            Optional<WalSegment> at = WalSegment.parse(asked, next.segmentSize());
            return at.isPresent()
                            && at.get().timeline() == next.timeline()
                            && at.get().number() >= next.number()
                    ? at.get().next()
                    : next;
        } catch (NoSuchFileException e) {
            return next;
        }
    }

    /**
     * PostgreSQL's first call is for a history file; the backup_label names the segment it asks
     * for next, so a fresh spool starts with it and the read-ahead after it.
     */
    private void headStart(Path dataDir) throws IOException {
        Optional<String> label = labelStart(dataDir);
        if (label.isEmpty()) {
            return;
        }
        String first = label.get();
        long systemId = WalArchive.systemIdentifier(dataDir);
        openSpool();
        try (FileChannel lockFile = FileChannel.open(
                        spool.resolve(LOCK),
                        StandardOpenOption.CREATE,
                        StandardOpenOption.WRITE,
                        LinkOption.NOFOLLOW_LINKS);
                FileLock lock = lockFile.lock()) {
            if (readMarker(systemId).isPresent()) {
                return; // not the recovery's first call
            }
            Path incoming = spool.resolve(first + INCOMING);
            try {
                if (fetchAndReadAhead(first, incoming, dataDir, systemId, OptionalLong.empty())
                        .found()) {
                    OptionalLong size = readMarker(systemId);
                    Optional<WalSegment> segment =
                            size.isPresent() ? WalSegment.parse(first, size.getAsLong()) : Optional.empty();
                    if (segment.isPresent()) {
                        finishSpooled(incoming, segment.get(), systemId);
                    }
                }
            } catch (IOException | RuntimeException e) {
                // the history file was the request; the segments are fetched by their own requests
                LOG.warn("reading WAL {} ahead into {} failed: {}", first, spool, e.getMessage());
            } finally {
                Files.deleteIfExists(incoming);
            }
        }
    }

    private Result fetchAndReadAhead(String name, Path target, Path dataDir, long systemId, OptionalLong knownSize)
            throws IOException {
        ExecutorService pool = Executors.newFixedThreadPool(jobs, r -> {
            Thread t = new Thread(r, "drkit-wal-prefetch");
            t.setDaemon(true);
            return t;
        });
        try {
            if (knownSize.isEmpty()) {
                // the first call on this spool learns the segment size from the requested segment's header
                if (!wal.fetch(name, target, dataDir)) {
                    return new Result(false, false, 0, false);
                }
                OptionalLong size = headerSegmentSize(target);
                if (size.isEmpty()) {
                    return new Result(true, false, 0, false);
                }
                writeMarker(systemId, size.getAsLong());
                ReadAhead ahead = readAhead(pool, name, dataDir, systemId, size.getAsLong());
                prepareEnd(ahead, target, dataDir, systemId);
                return new Result(true, false, ahead.fetched(), ahead.end() != null);
            }
            Future<Boolean> requested = pool.submit(() -> wal.fetch(name, target, dataDir));
            ReadAhead ahead = readAhead(pool, name, dataDir, systemId, knownSize.getAsLong());
            boolean found = await(requested);
            if (!found) {
                // what was read ahead stays valid; the end is only known from a segment that exists
                return new Result(false, false, 0, false);
            }
            prepareEnd(ahead, target, dataDir, systemId);
            return new Result(true, false, ahead.fetched(), ahead.end() != null);
        } finally {
            pool.shutdownNow();
        }
    }

    /** What a read-ahead fetched, and the first segment after the requested one the repository lacks, if met. */
    private record ReadAhead(WalSegment requested, int fetched, WalSegment end) {}

    private ReadAhead readAhead(ExecutorService pool, String name, Path dataDir, long systemId, long segmentSize)
            throws IOException {
        Optional<WalSegment> requested = WalSegment.parse(name, segmentSize);
        if (requested.isEmpty()
                || Files.exists(spool.resolve(requested.get().next().name()), LinkOption.NOFOLLOW_LINKS)) {
            // the spool holds what follows: a segment asked for again (PostgreSQL re-reads the last one)
            return new ReadAhead(requested.orElse(null), 0, null);
        }
        long budget = Math.min(prefetch, queueMaxBytes / segmentSize)
                - spooledSegments().size();
        List<WalSegment> wanted = new ArrayList<>();
        WalSegment s = requested.get();
        for (int i = 0; i < prefetch && wanted.size() < budget; i++) {
            s = s.next();
            if (!Files.exists(spool.resolve(s.name()), LinkOption.NOFOLLOW_LINKS)) {
                wanted.add(s);
            }
        }
        AtomicLong end = new AtomicLong(Long.MAX_VALUE);
        AtomicBoolean failed = new AtomicBoolean();
        List<Future<Boolean>> fetches = new ArrayList<>();
        for (WalSegment segment : wanted) {
            fetches.add(pool.submit(() -> {
                if (segment.number() > end.get() || failed.get()) {
                    return false;
                }
                try {
                    boolean got = spoolSegment(segment, dataDir, systemId);
                    if (!got) {
                        end.accumulateAndGet(segment.number(), Math::min);
                    }
                    return got;
                } catch (IOException | RuntimeException e) {
                    // the requested segment is fine; this one fails again, clearly, when it is requested
                    failed.set(true);
                    LOG.warn(
                            "reading WAL {} ahead into {} failed, left for its own request: {}",
                            segment.name(),
                            spool,
                            e.getMessage());
                    return false;
                }
            }));
        }
        int fetched = 0;
        for (Future<Boolean> f : fetches) {
            if (await(f)) {
                fetched++;
            }
        }
        long first = end.get();
        return new ReadAhead(
                requested.get(),
                fetched,
                first == Long.MAX_VALUE ? null : new WalSegment(requested.get().timeline(), first, segmentSize));
    }

    /**
     * At the end of the archive, answers the calls PostgreSQL makes next without starting Java:
     * a second copy of the last segment (recovery reads it again to start the new timeline),
     * {@code END.missing} for the first segment the repository lacks, and for the timeline's
     * history file and the next one's either the file or a {@code .missing} marker. The next
     * call here removes the markers.
     */
    private void prepareEnd(ReadAhead ahead, Path target, Path dataDir, long systemId) throws IOException {
        WalSegment end = ahead.end();
        if (end == null || ahead.requested() == null) {
            return;
        }
        // only a gapless run up to the end: a segment left out after an error is fetched by its own request
        WalSegment s = ahead.requested().next();
        while (s.number() < end.number()) {
            if (!Files.exists(spool.resolve(s.name()), LinkOption.NOFOLLOW_LINKS)) {
                return;
            }
            s = s.next();
        }
        String last = new WalSegment(end.timeline(), end.number() - 1, end.segmentSize()).name();
        writeEnd(end, last.equals(ahead.requested().name()) ? target : spool.resolve(last), dataDir);
    }

    /** The answers at the end of the archive; {@code lastCopy} (the last segment) may be null. */
    private void writeEnd(WalSegment end, Path lastCopy, Path dataDir) throws IOException {
        if (lastCopy != null) {
            writeAgain(end, lastCopy);
        }
        // an incomplete copy of the first missing segment (streamed, or a promoted standby's
        // .partial) is recovery's last WAL: its own request (Java) serves it padded, so no marker
        // may answer "missing" for it
        if (!wal.containsIncomplete(WalArchive.systemIdentifier(dataDir), end.name())) {
            markMissing(end.name());
        }
        for (long timeline : new long[] {end.timeline(), end.timeline() + 1}) {
            String history = WalArchive.history(timeline);
            if (!wal.fetch(history, spool.resolve(history), dataDir)) {
                markMissing(history);
            }
        }
    }

    private void writeAgain(WalSegment end, Path lastCopy) throws IOException {
        String last = new WalSegment(end.timeline(), end.number() - 1, end.segmentSize()).name();
        Path again = spool.resolve(last + AGAIN);
        Path tmp = spool.resolve(last + AGAIN + INCOMING);
        try {
            Files.copy(lastCopy, tmp, StandardCopyOption.REPLACE_EXISTING);
            try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                ch.force(true);
            }
            Files.move(tmp, again, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private void markMissing(String name) throws IOException {
        Files.write(spool.resolve(name + MISSING), new byte[0]);
    }

    /** Fetches one segment into the spool, complete under its name only; false when the repository lacks it. */
    private boolean spoolSegment(WalSegment segment, Path dataDir, long systemId) throws IOException {
        String name = segment.name();
        Path incoming = spool.resolve(name + INCOMING);
        try {
            if (!wal.fetch(name, incoming, dataDir, false)) {
                return false;
            }
            finishSpooled(incoming, segment, systemId);
            return true;
        } finally {
            Files.deleteIfExists(incoming);
        }
    }

    /** Checks a fetched segment, records its CRC-32C beside it and renames it to its name. */
    private void finishSpooled(Path incoming, WalSegment segment, long systemId) throws IOException {
        String name = segment.name();
        long crc = check(incoming, segment, systemId)
                .orElseThrow(() -> new IOException(
                        "archived " + name + " is not a complete segment of " + segment.segmentSize() + " bytes"));
        Path sum = spool.resolve(name + CHECKSUM);
        try (FileChannel ch = FileChannel.open(
                sum,
                StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING,
                StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS)) {
            ch.write(ByteBuffer.wrap(Long.toHexString(crc).getBytes(StandardCharsets.US_ASCII)));
            ch.force(true);
        }
        Files.move(incoming, spool.resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }

    /** Serves the requested segment from the spool when it is there and intact; removes it when damaged. */
    private boolean fromSpool(String name, Path target, long systemId, long segmentSize) throws IOException {
        Path spooled = spool.resolve(name);
        if (!Files.isRegularFile(spooled, LinkOption.NOFOLLOW_LINKS)) {
            return false;
        }
        Optional<WalSegment> segment = WalSegment.parse(name, segmentSize);
        Path sum = spool.resolve(name + CHECKSUM);
        String recorded = Files.isRegularFile(sum, LinkOption.NOFOLLOW_LINKS)
                ? Files.readString(sum, StandardCharsets.US_ASCII).trim()
                : "";
        OptionalLong crc = segment.isPresent() ? check(spooled, segment.get(), systemId) : OptionalLong.empty();
        if (crc.isEmpty() || !Long.toHexString(crc.getAsLong()).equals(recorded)) {
            LOG.warn("spooled WAL {} in {} is damaged or incomplete; fetching it from the repository", name, spool);
            Files.delete(spooled);
            Files.deleteIfExists(sum);
            return false;
        }
        moveTo(spooled, target);
        Files.deleteIfExists(sum);
        return true;
    }

    private static void moveTo(Path spooled, Path target) throws IOException {
        try {
            Files.move(spooled, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException crossDevice) {
            SideFiles.removeAbandoned(target, "a WAL fetch");
            Path tmp = SideFiles.beside(target);
            try {
                Files.copy(spooled, tmp);
                try (FileChannel ch = FileChannel.open(tmp, StandardOpenOption.WRITE)) {
                    ch.force(true);
                }
                Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
            Files.delete(spooled);
        }
    }

    /**
     * The CRC-32C of a spooled segment when it is whole: exactly the segment size, a long page
     * header naming this cluster, this segment size and the segment's own start address.
     */
    static OptionalLong check(Path file, WalSegment segment, long systemId) throws IOException {
        try (InputStream in = Files.newInputStream(file, LinkOption.NOFOLLOW_LINKS)) {
            byte[] buf = new byte[1 << 16];
            int n = in.readNBytes(buf, 0, buf.length);
            if (n < 40) {
                return OptionalLong.empty();
            }
            ByteBuffer header = ByteBuffer.wrap(buf, 0, n).order(ByteOrder.LITTLE_ENDIAN);
            if ((header.getShort(2) & XLP_LONG_HEADER) == 0
                    || header.getLong(8) != segment.startLsn()
                    || header.getLong(24) != systemId
                    || (header.getInt(32) & 0xFFFFFFFFL) != segment.segmentSize()) {
                return OptionalLong.empty();
            }
            CRC32C crc = new CRC32C();
            long total = 0;
            while (n > 0) {
                crc.update(buf, 0, n);
                total += n;
                n = in.readNBytes(buf, 0, buf.length);
            }
            return total == segment.segmentSize() ? OptionalLong.of(crc.getValue()) : OptionalLong.empty();
        }
    }

    /** The segment size in the long page header at the start of a fetched segment. */
    private static OptionalLong headerSegmentSize(Path file) throws IOException {
        byte[] first = new byte[64];
        int n;
        try (InputStream in = Files.newInputStream(file)) {
            n = in.readNBytes(first, 0, first.length);
        }
        Optional<Long> size = WalArchive.segmentSize(first, n);
        return size.isPresent() && WalSegment.validSize(size.get())
                ? OptionalLong.of(size.get())
                : OptionalLong.empty();
    }

    /**
     * Creates {@code spool} empty and owner-only for the recovery of {@code dataDir}; when run as
     * root, owned by the data directory's owner, who runs restore_command.
     */
    static void resetSpool(Path spool, Path dataDir) throws IOException {
        if (Files.exists(spool, LinkOption.NOFOLLOW_LINKS)) {
            FileTrees.delete(spool);
        }
        Files.createDirectories(
                spool, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        giveToClusterOwner(spool, dataDir);
    }

    /**
     * Resets the spool of a restore that reads ahead and {@link #prime primes} it from
     * {@code archive} for the recovery of {@code dataDir}, along timeline {@code follow}. Priming
     * only spares recovery's first calls: when it fails, the restore goes on and they fetch.
     *
     * @return the segment spooled, as {@link #prime}
     */
    static Optional<String> resetAndPrime(FileArchive archive, Path spool, Path dataDir, long follow)
            throws IOException {
        resetSpool(spool, dataDir);
        Optional<String> first = Optional.empty();
        try {
            first = builder(archive, spool).following(follow).build().prime(dataDir);
        } catch (IOException | RuntimeException e) {
            LOG.warn(
                    "reading WAL ahead into {} before recovery failed; recovery fetches it: {}", spool, e.getMessage());
        }
        try (Stream<Path> files = Files.list(spool)) {
            for (Path f : files.toList()) {
                giveToClusterOwner(f, dataDir);
            }
        }
        return first;
    }

    /** Run as root, gives {@code path} to the owner of the cluster in {@code dataDir}, whose restore_command uses it. */
    private static void giveToClusterOwner(Path path, Path dataDir) throws IOException {
        if (PgProcesses.root() && Files.exists(dataDir.resolve("PG_VERSION"))) {
            Object uid = Files.getAttribute(dataDir.resolve("PG_VERSION"), "unix:uid", LinkOption.NOFOLLOW_LINKS);
            Files.setAttribute(path, "unix:uid", uid, LinkOption.NOFOLLOW_LINKS);
        }
    }

    private void openSpool() throws IOException {
        if (Files.isSymbolicLink(spool)) {
            throw new ConfigException("the WAL spool " + spool + " is a symbolic link; give WalPrefetch a directory");
        }
        PrivateFiles.ownerOnlyDirectory(spool);
    }

    /**
     * The segment size the spool was filled with; empties the spool first when it was filled
     * for another cluster or repository (the same segment names hold other bytes there).
     */
    private OptionalLong readMarker(long systemId) throws IOException {
        OptionalLong known = markedSize(systemId);
        if (known.isPresent()) {
            return known;
        }
        boolean filling = fillerRunning();
        try (Stream<Path> files = Files.list(spool)) {
            for (Path f : files.toList()) {
                String n = f.getFileName().toString();
                boolean keep = n.equals(LOCK)
                        || n.equals(FILL)
                        || n.equals(FILL_LOG)
                        || (filling && (n.endsWith(INCOMING) || n.contains(".drkit-")));
                if (!keep) {
                    Files.delete(f);
                }
            }
        }
        return OptionalLong.empty();
    }

    /** The segment size the marker records when it names this cluster and repository. */
    private OptionalLong markedSize(long systemId) throws IOException {
        Properties p = new Properties();
        try (InputStream in = Files.newInputStream(spool.resolve(MARKER), LinkOption.NOFOLLOW_LINKS)) {
            p.load(in);
        } catch (NoSuchFileException e) {
            // a new spool, or one whose owner is unknown: nothing in it is trusted
        }
        String size = p.getProperty("segment-size", "");
        if (Long.toUnsignedString(systemId).equals(p.getProperty("system-identifier"))
                && repositoryId().equals(p.getProperty("repository"))
                && size.matches("[0-9]{1,10}")
                && WalSegment.validSize(Long.parseLong(size))) {
            return OptionalLong.of(Long.parseLong(size));
        }
        return OptionalLong.empty();
    }

    private void writeMarker(long systemId, long segmentSize) throws IOException {
        String text = "system-identifier=" + Long.toUnsignedString(systemId) + "\nrepository=" + repositoryId()
                + "\nsegment-size=" + segmentSize + "\n";
        Path tmp = spool.resolve(MARKER + INCOMING);
        Files.writeString(tmp, text, StandardCharsets.US_ASCII);
        Files.move(tmp, spool.resolve(MARKER), StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    /** The repository, by a digest of its description (which may name a bucket or host, kept out of the file). */
    private String repositoryId() {
        try {
            return HexFormat.of()
                    .formatHex(MessageDigest.getInstance("SHA-256")
                            .digest(archive.describe().getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /**
     * Removes what no later request wants: leftovers of an interrupted call, and segments before
     * the requested one or on an earlier timeline (recovery only moves forward).
     */
    private void removeStale(String requested) throws IOException {
        String timeline = requested.substring(0, 8);
        String position = requested.substring(8);
        boolean filling = fillerRunning();
        try (Stream<Path> files = Files.list(spool)) {
            for (Path f : files.toList()) {
                String n = f.getFileName().toString();
                if (n.equals(LOCK) || n.equals(MARKER) || n.equals(FILL) || n.equals(FILL_LOG) || n.equals(POSITION)) {
                    continue;
                }
                if (filling && (n.endsWith(INCOMING) || n.contains(".drkit-"))) {
                    continue; // the filler's segments in flight
                }
                String segment = n;
                for (String suffix : List.of(CHECKSUM, AGAIN, MISSING)) {
                    segment = segment.endsWith(suffix)
                            ? segment.substring(0, segment.length() - suffix.length())
                            : segment;
                }
                boolean stale = n.endsWith(MISSING)
                        || !WalSegment.isSegmentName(segment)
                        || segment.substring(8).compareTo(position) < 0
                        || segment.substring(0, 8).compareTo(timeline) < 0;
                if (stale) {
                    Files.delete(f);
                }
            }
        }
    }

    /** The complete segments in the spool. */
    private List<Path> spooledSegments() throws IOException {
        try (Stream<Path> files = Files.list(spool)) {
            return files.filter(f -> WalSegment.isSegmentName(f.getFileName().toString()))
                    .toList();
        }
    }

    private static boolean await(Future<Boolean> f) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while fetching WAL", e);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) {
                throw io;
            }
            if (e.getCause() instanceof RuntimeException re) {
                throw re;
            }
            throw new IOException(e.getCause());
        }
    }

    /** Builds a {@link WalPrefetch}; rejects bad values at the call. Not thread-safe. */
    public static final class Builder {
        private final FileArchive archive;
        private final Path spool;
        private int prefetch = 32;
        private int jobs = 2;
        private long queueMaxBytes = 1L << 30;
        private FillStarter starter;
        private Duration fillIdle = Duration.ofSeconds(60);
        private long follow = WalArchive.LATEST;

        private Builder(FileArchive archive, Path spool) {
            if (archive == null || spool == null) {
                throw new NullPointerException("WalPrefetch needs the archive and the spool directory");
            }
            this.archive = archive;
            this.spool = spool;
        }

        /** How many segments after a requested one to read ahead (default 32; 0 reads none). */
        public Builder prefetch(int segments) {
            if (segments < 0) {
                throw new ConfigException("WalPrefetch prefetch must be 0 or more segments, not " + segments);
            }
            this.prefetch = segments;
            return this;
        }

        /** How many segments to fetch at once (default 2). */
        public Builder jobs(int jobs) {
            if (jobs < 1) {
                throw new ConfigException("WalPrefetch jobs must be 1 or more, not " + jobs);
            }
            this.jobs = jobs;
            return this;
        }

        /** The timeline the recovery follows ({@link WalArchive#following}; default the latest). */
        public Builder following(long timeline) {
            this.follow = WalArchive.checkTimeline(timeline);
            return this;
        }

        /** The most bytes of segments the spool holds (default 1 GiB), whatever {@link #prefetch} says. */
        public Builder queueMaxBytes(long bytes) {
            if (bytes < 0) {
                throw new ConfigException("WalPrefetch queueMaxBytes must be 0 or more, not " + bytes);
            }
            this.queueMaxBytes = bytes;
            return this;
        }

        /**
         * Leaves reading ahead to a {@link #fill} in another process that outlives the call,
         * which {@code starter} starts when none runs (default null: each call that misses
         * reads its batch ahead before it returns).
         */
        public Builder background(FillStarter starter) {
            this.starter = starter;
            return this;
        }

        /** How long a {@link #fill} waits on a full spool before it ends (default a minute). */
        Builder fillIdle(Duration idle) {
            this.fillIdle = idle;
            return this;
        }

        public WalPrefetch build() {
            return new WalPrefetch(this);
        }
    }
}
