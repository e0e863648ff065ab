package dev.drkit.postgres;

import dev.drkit.ConfigException;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * An asynchronous, parallel {@code archive_command}: the WAL file PostgreSQL asks for is pushed
 * together with the next files PostgreSQL marks {@code .ready} in {@code pg_wal/archive_status}
 * (oldest first, timeline history files before the rest, as PostgreSQL's archiver orders them;
 * at most {@link Builder#queueSize} in all), {@link Builder#jobs} at a time, each with
 * {@link WalArchive#push} (durable before it returns; the same bytes again are accepted, other
 * bytes under an archived name refused). Each file stored is acknowledged in the
 * {@link WalSpool}, so that PostgreSQL's later calls for it return at once.
 *
 * <p>Durability is that of {@link WalArchive#push}: {@link #push} returns normally for the file
 * asked for only once that file is durable in the repository, and an acknowledgement is written
 * only after the repository confirmed its file. A failure of another file of the batch does not
 * fail the call: it is recorded in the spool, reported to {@link Builder#failureReporter} on
 * the next call, and that file is pushed again when PostgreSQL asks for it.
 *
 * <p>The ready files are looked up again whenever the call's queue runs dry (and, when set, for
 * {@link Builder#linger} once all are pushed), so that one call drains a write burst that goes
 * on while it pushes. One call at a time per spool (PostgreSQL's
 * archiver runs one {@code archive_command} at a time); a call's own pushes run on its own
 * threads, ended before it returns.
 */
public final class WalPushBatch {
    /** Files pushed per call unless set: PostgreSQL's 64 MiB of 16 MiB segments four times over. */
    public static final int DEFAULT_QUEUE_SIZE = 64;

    /** Parallel pushes unless set. */
    public static final int DEFAULT_JOBS = 2;

    /**
     * How long a call waits for more ready files once it has pushed all, unless set: none, since
     * PostgreSQL's archiver waits for the call meanwhile.
     */
    public static final Duration DEFAULT_LINGER = Duration.ZERO;

    private static final long LINGER_POLL_MILLIS = 20;

    /** With {@link Builder#lingerWhileWriting}: how long no WAL written ends a call's wait, by default. */
    static final long WRITING_QUIET_MILLIS = 150;

    private static final Logger LOG = LoggerFactory.getLogger(WalPushBatch.class);

    private final WalArchive wal;
    private final Path dataDir;
    private final WalSpool spool;
    private final int queueSize;
    private final int jobs;
    private final long lingerNanos;
    private final boolean lingerWhileWriting;
    private final long writingQuietMillis;
    private final Consumer<WalSpool.Failure> failureReporter;

    private WalPushBatch(Builder b, WalSpool spool) {
        this.wal = b.wal;
        this.dataDir = b.dataDir;
        this.spool = spool;
        this.queueSize = b.queueSize;
        this.jobs = b.jobs;
        this.lingerNanos = b.linger.toNanos();
        this.lingerWhileWriting = b.lingerWhileWriting;
        this.writingQuietMillis = b.writingQuietMillis;
        this.failureReporter = b.failureReporter;
    }

    /** A builder; archive, data directory and spool are required. */
    public static Builder builder() {
        return new Builder();
    }

    /** The spool this batch acknowledges in. */
    public WalSpool spool() {
        return spool;
    }

    /**
     * Makes {@code file} durable in the repository, pushing the next {@code .ready} files with it.
     *
     * @param file the WAL file PostgreSQL asks for ({@code %p} resolved against the data directory)
     * @return what the call did
     * @throws dev.drkit.DrException when {@code file} could not be stored (as {@link WalArchive#push}
     *     throws); PostgreSQL keeps it and asks again
     */
    public Result push(Path file) throws IOException {
        String name = file.getFileName().toString();
        if (!WalArchive.isWalFileName(name)) {
            throw new ConfigException(name + " is not a WAL file name (segment, .partial, .backup or .history)");
        }
        if (spool.isAcknowledged(name, file)) {
            return new Result(name, true, List.of(), List.of());
        }
        List<WalSpool.Failure> earlier = spool.failures();
        earlier.forEach(failureReporter);
        spool.cleanUp();
        Batch batch = new Batch(file);
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < jobs; i++) {
            Thread t = new Thread(batch::work, "drkit-wal-push-" + i);
            t.setDaemon(true);
            t.start();
            workers.add(t);
        }
        try {
            for (Thread t : workers) {
                t.join();
            }
        } catch (InterruptedException e) {
            workers.forEach(Thread::interrupt);
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while pushing WAL", e);
        }
        return batch.result();
    }

    /**
     * The files one call pushes: the asked one, then what PostgreSQL marks ready, looked up again
     * whenever the queue runs dry (a write burst keeps marking segments ready while the first
     * ones are pushed), up to the queue size in all; the workers take them in that order.
     */
    private final class Batch {
        private final Path asked;
        private final ArrayDeque<Path> queue = new ArrayDeque<>();
        private final Set<String> taken = new HashSet<>();
        private final List<String> order = new ArrayList<>();
        private final Map<String, Throwable> failures = new HashMap<>();
        private int active;
        private long idleSince;

        Batch(Path asked) {
            this.asked = asked;
            queue.add(asked);
            taken.add(asked.getFileName().toString());
        }

        void work() {
            Path p;
            while ((p = next()) != null) {
                try {
                    pushOne(p);
                } catch (IOException | RuntimeException | Error e) {
                    failed(p, e);
                } finally {
                    finished();
                }
            }
        }

        /**
         * The next file to push, or null once nothing is queued, nothing more is ready and no
         * other worker is pushing (whose push gives PostgreSQL time to mark more ready).
         */
        private synchronized Path next() {
            while (true) {
                if (queue.isEmpty() && taken.size() < queueSize) {
                    try {
                        refill();
                    } catch (IOException | RuntimeException e) {
                        LOG.warn("could not list the WAL files PostgreSQL marks ready: {}", e.getMessage());
                    }
                }
                Path p = queue.poll();
                if (p != null) {
                    order.add(p.getFileName().toString());
                    idleSince = 0;
                    active++;
                    return p;
                }
                try {
                    if (active == 0) {
                        long now = System.nanoTime();
                        idleSince = idleSince == 0 ? now : idleSince;
                        if (now - idleSince >= lingerNanos
                                || taken.size() >= queueSize
                                || (lingerWhileWriting
                                        && now - idleSince >= writingQuietMillis * 1_000_000
                                        && !walWrittenRecently())) {
                            notifyAll();
                            return null;
                        }
                        wait(LINGER_POLL_MILLIS); // a burst marks the next segment ready any moment
                    } else {
                        wait();
                    }
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    return null;
                }
            }
        }

        /**
         * Whether PostgreSQL wrote WAL within the quiet period: to the segment it
         * fills now, the first one after those taken (recycled segments further on keep old
         * times). No answer counts as no.
         */
        private boolean walWrittenRecently() {
            String last = taken.stream()
                    .filter(WalSegment::isSegmentName)
                    .max(Comparator.naturalOrder())
                    .orElse(null);
            if (last == null) {
                return false;
            }
            List<String> after = new ArrayList<>();
            try (DirectoryStream<Path> files = Files.newDirectoryStream(dataDir.resolve("pg_wal"))) {
                for (Path f : files) {
                    String n = f.getFileName().toString();
                    if (WalSegment.isSegmentName(n) && n.compareTo(last) > 0) {
                        after.add(n);
                    }
                }
                after.sort(Comparator.naturalOrder());
                long newest = 0;
                for (String n : after.subList(0, Math.min(2, after.size()))) {
                    newest = Math.max(
                            newest,
                            Files.getLastModifiedTime(dataDir.resolve("pg_wal").resolve(n), LinkOption.NOFOLLOW_LINKS)
                                    .toMillis());
                }
                return System.currentTimeMillis() - newest < writingQuietMillis;
            } catch (IOException | RuntimeException e) {
                return false;
            }
        }

        private synchronized void finished() {
            active--;
            notifyAll();
        }

        private void refill() throws IOException {
            for (String next : readyFiles(dataDir)) {
                if (taken.size() >= queueSize) {
                    return;
                }
                Path p = dataDir.resolve("pg_wal").resolve(next);
                if (!taken.contains(next) && Files.isRegularFile(p) && !spool.isAcknowledged(next, p)) {
                    taken.add(next);
                    queue.add(p);
                }
            }
        }

        private synchronized void failed(Path p, Throwable e) {
            failures.put(p.getFileName().toString(), e);
        }

        synchronized Result result() throws IOException {
            String name = asked.getFileName().toString();
            Throwable askedFailure = failures.get(name);
            if (askedFailure instanceof IOException io) {
                throw io;
            }
            if (askedFailure instanceof RuntimeException re) {
                throw re;
            }
            if (askedFailure instanceof Error err) {
                throw err;
            }
            List<String> pushed = new ArrayList<>();
            List<WalSpool.Failure> failed = new ArrayList<>();
            for (String n : order) {
                Throwable f = failures.get(n);
                if (f == null) {
                    pushed.add(n);
                } else {
                    failed.add(new WalSpool.Failure(n, String.valueOf(f.getMessage())));
                }
            }
            return new Result(name, false, pushed, failed);
        }
    }

    /** Pushes one file and acknowledges it, or records why it failed. */
    private Void pushOne(Path p) throws IOException {
        String n = p.getFileName().toString();
        try {
            String before =
                    WalSpool.identity(p); // taken before the bytes are read: the acknowledgement names the file read
            wal.push(p, dataDir);
            if (!spool.acknowledge(n, p, before)) {
                LOG.debug("{} changed or went while it was pushed; not acknowledged", n);
            }
            return null;
        } catch (IOException | RuntimeException e) {
            try {
                spool.recordFailure(n, e.getMessage());
            } catch (IOException | RuntimeException recordFailed) {
                LOG.warn("could not record in {} that pushing {} failed: {}", spool, n, recordFailed.getMessage());
            }
            throw e;
        }
    }

    /** The files PostgreSQL marks ready to archive, in the order its archiver takes them. */
    static List<String> readyFiles(Path dataDir) throws IOException {
        List<String> out = new ArrayList<>();
        Path status = dataDir.resolve("pg_wal").resolve("archive_status");
        try (DirectoryStream<Path> s = Files.newDirectoryStream(status, "*.ready")) {
            for (Path p : s) {
                String n = p.getFileName().toString();
                String name = n.substring(0, n.length() - ".ready".length());
                if (WalArchive.isWalFileName(name) && Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                    out.add(name);
                }
            }
        } catch (NoSuchFileException e) {
            return out;
        }
        out.sort(ARCHIVER_ORDER);
        return out;
    }

    /** Timeline history files first, then by name: the order of PostgreSQL's archiver. */
    static final Comparator<String> ARCHIVER_ORDER =
            Comparator.comparing((String n) -> !n.endsWith(".history")).thenComparing(Comparator.naturalOrder());

    /**
     * What one call did.
     *
     * @param name the file asked for
     * @param alreadyAcknowledged it was acknowledged by an earlier call; nothing was pushed
     * @param pushed the files stored (or found stored) and acknowledged by this call, the asked one first
     * @param failed the other files of the batch that failed, recorded in the spool
     */
    public record Result(String name, boolean alreadyAcknowledged, List<String> pushed, List<WalSpool.Failure> failed) {
        public Result {
            pushed = List.copyOf(pushed);
            failed = List.copyOf(failed);
        }
    }

    /** Builds a {@link WalPushBatch}; arguments are checked at the call. Not thread-safe. */
    public static final class Builder {
        private WalArchive wal;
        private Path dataDir;
        private Path spoolDir;
        private String repository;
        private int queueSize = DEFAULT_QUEUE_SIZE;
        private int jobs = DEFAULT_JOBS;
        private Duration linger = DEFAULT_LINGER;
        private boolean lingerWhileWriting;
        private long writingQuietMillis = WRITING_QUIET_MILLIS;
        private Consumer<WalSpool.Failure> failureReporter =
                f -> LOG.warn("an earlier push of {} failed: {}", f.name(), f.message());

        private Builder() {}

        /** Where WAL is archived. */
        public Builder archive(WalArchive wal) {
            this.wal = Objects.requireNonNull(wal, "archive");
            return this;
        }

        /** The cluster's data directory ({@code archive_command} runs in it). */
        public Builder dataDirectory(Path dataDir) {
            this.dataDir = Objects.requireNonNull(dataDir, "dataDirectory").toAbsolutePath();
            return this;
        }

        /** The spool directory; see {@link WalSpool#open}. */
        public Builder spool(Path spoolDir) {
            this.spoolDir = Objects.requireNonNull(spoolDir, "spool");
            return this;
        }

        /**
         * What names the repository (its location), recorded in the spool as a hash: a spool
         * that last served another repository forgets its acknowledgements ({@link
         * WalSpool#forgotAnotherRepository()}). Optional.
         */
        public Builder repository(String repository) {
            this.repository = repository;
            return this;
        }

        /** Most files pushed by one call, the asked one included; 1 to 10000. */
        public Builder queueSize(int queueSize) {
            if (queueSize < 1 || queueSize > 10_000) {
                throw new ConfigException("WalPushBatch's queueSize must be 1 to 10000, not " + queueSize);
            }
            this.queueSize = queueSize;
            return this;
        }

        /** Files pushed at once; 1 to 64. */
        public Builder jobs(int jobs) {
            if (jobs < 1 || jobs > 64) {
                throw new ConfigException("WalPushBatch's jobs must be 1 to 64, not " + jobs);
            }
            this.jobs = jobs;
            return this;
        }

        /**
         * How long a call that has pushed every ready file waits for PostgreSQL to mark more
         * ready before it returns (0 to 60 s): during a write burst the next segment is ready
         * within moments, and taking it in the same call saves PostgreSQL's next call a start.
         */
        public Builder linger(Duration linger) {
            if (linger.isNegative() || linger.compareTo(Duration.ofSeconds(60)) > 0) {
                throw new ConfigException("WalPushBatch's linger must be 0 to 60 seconds, not " + linger);
            }
            this.linger = linger;
            return this;
        }

        /**
         * Whether a lingering call stops waiting as soon as PostgreSQL has written no WAL for a
         * moment (150 ms), instead of waiting out the whole {@link #linger}: with a long linger,
         * one call then follows a write burst segment by segment (no new start per segment) and
         * still returns promptly once the burst ends. Default false.
         */
        public Builder lingerWhileWriting(boolean lingerWhileWriting) {
            this.lingerWhileWriting = lingerWhileWriting;
            return this;
        }

        /**
         * How long no WAL written counts as the end of writing for {@link #lingerWhileWriting}
         * (150 ms); for tests, whose stand-in for PostgreSQL may stall longer than that on a
         * loaded machine.
         */
        Builder writingQuiet(Duration quiet) {
            this.writingQuietMillis = quiet.toMillis();
            return this;
        }

        /** Told of each failure an earlier call recorded (default: a warning in the log). */
        public Builder failureReporter(Consumer<WalSpool.Failure> failureReporter) {
            this.failureReporter = Objects.requireNonNull(failureReporter, "failureReporter");
            return this;
        }

        /**
         * Opens the spool and builds.
         *
         * @throws ConfigException when archive, data directory or spool is missing, or the spool
         *     is refused ({@link WalSpool#open})
         */
        public WalPushBatch build() throws IOException {
            List<String> missing = new ArrayList<>();
            if (wal == null) {
                missing.add("archive");
            }
            if (dataDir == null) {
                missing.add("dataDirectory");
            }
            if (spoolDir == null) {
                missing.add("spool");
            }
            if (!missing.isEmpty()) {
                throw new ConfigException("WalPushBatch needs " + String.join(", ", missing));
            }
            return new WalPushBatch(this, WalSpool.open(spoolDir, dataDir, repository));
        }
    }
}
