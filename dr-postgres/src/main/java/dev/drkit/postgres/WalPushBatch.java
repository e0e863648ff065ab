package dev.drkit.postgres;

import dev.drkit.ConfigException;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
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
 * <p>One call at a time per spool (PostgreSQL's archiver runs one {@code archive_command} at a
 * time); a call's own pushes run on its own threads, ended before it returns.
 */
public final class WalPushBatch {
    /** Files pushed per call unless set: PostgreSQL's 64 MiB of 16 MiB segments four times over. */
    public static final int DEFAULT_QUEUE_SIZE = 64;

    /** Parallel pushes unless set. */
    public static final int DEFAULT_JOBS = 2;

    private static final Logger LOG = LoggerFactory.getLogger(WalPushBatch.class);

    private final WalArchive wal;
    private final Path dataDir;
    private final WalSpool spool;
    private final int queueSize;
    private final int jobs;
    private final Consumer<WalSpool.Failure> failureReporter;

    private WalPushBatch(Builder b, WalSpool spool) {
        this.wal = b.wal;
        this.dataDir = b.dataDir;
        this.spool = spool;
        this.queueSize = b.queueSize;
        this.jobs = b.jobs;
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
        if (spool.isAcknowledged(name, Files.size(file))) {
            return new Result(name, true, List.of(), List.of());
        }
        List<WalSpool.Failure> earlier = spool.failures();
        earlier.forEach(failureReporter);
        spool.cleanUp();
        List<Path> batch = new ArrayList<>();
        batch.add(file);
        for (String next : readyFiles()) {
            if (batch.size() >= queueSize) {
                break;
            }
            Path p = dataDir.resolve("pg_wal").resolve(next);
            if (!next.equals(name) && Files.isRegularFile(p) && !spool.isAcknowledged(next, Files.size(p))) {
                batch.add(p);
            }
        }
        return pushAll(name, batch);
    }

    private Result pushAll(String name, List<Path> batch) throws IOException {
        ExecutorService pool = Executors.newFixedThreadPool(Math.min(jobs, batch.size()), r -> {
            Thread t = new Thread(r, "drkit-wal-push");
            t.setDaemon(true);
            return t;
        });
        List<String> pushed = new ArrayList<>();
        List<WalSpool.Failure> failed = new ArrayList<>();
        Throwable askedFailure = null;
        try {
            List<Future<?>> futures = new ArrayList<>();
            for (Path p : batch) {
                futures.add(pool.submit(() -> pushOne(p)));
            }
            for (int i = 0; i < batch.size(); i++) {
                String n = batch.get(i).getFileName().toString();
                try {
                    futures.get(i).get();
                    pushed.add(n);
                } catch (ExecutionException e) {
                    Throwable cause = e.getCause() instanceof UncheckedIOException u ? u.getCause() : e.getCause();
                    if (i == 0) {
                        askedFailure = cause;
                    } else {
                        failed.add(new WalSpool.Failure(n, String.valueOf(cause.getMessage())));
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while pushing WAL", e);
        } finally {
            pool.shutdownNow();
        }
        if (askedFailure instanceof IOException io) {
            throw io;
        }
        if (askedFailure instanceof RuntimeException re) {
            throw re;
        }
        if (askedFailure instanceof Error err) {
            throw err;
        }
        return new Result(name, false, pushed, failed);
    }

    /** Pushes one file and acknowledges it, or records why it failed. */
    private Void pushOne(Path p) throws IOException {
        String n = p.getFileName().toString();
        try {
            long size = Files.size(p);
            wal.push(p, dataDir);
            spool.acknowledge(n, size);
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
    private List<String> readyFiles() throws IOException {
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
        private int queueSize = DEFAULT_QUEUE_SIZE;
        private int jobs = DEFAULT_JOBS;
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
            return new WalPushBatch(this, WalSpool.open(spoolDir, dataDir));
        }
    }
}
