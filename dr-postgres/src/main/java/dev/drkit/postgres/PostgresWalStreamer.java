package dev.drkit.postgres;

import dev.drkit.ArtifactInfo;
import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.ObjectExistsException;
import dev.drkit.Settings;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.support.BoundedInputStream;
import dev.drkit.spi.support.PrivateFiles;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.postgresql.PGConnection;
import org.postgresql.PGProperty;
import org.postgresql.replication.LogSequenceNumber;
import org.postgresql.replication.PGReplicationStream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Streams WAL from a PostgreSQL server over the replication protocol into a repository, for
 * host services that want a recovery point objective of about a second without
 * {@code archive_command}: the way {@code pg_receivewal} works, from a physical replication
 * slot (created when missing), so the server keeps WAL the streamer has not stored yet.
 *
 * <p>The segment being received is written to a local spool directory and fsynced at least
 * every {@code flushInterval}. Complete segments go into the repository's WAL archive (same
 * layout as {@code wal-push}, so both may run at once) and leave the spool; a background thread
 * stores them in order, so that receiving never waits for the repository (during a burst of WAL,
 * such as a VACUUM after a mass delete, waiting would leave the streamer seconds behind the
 * server, and that is data a crash of the server loses). At most 64 complete
 * segments wait in the spool; beyond that receiving waits. The server is told a position is
 * flushed once it is fsynced in the spool and every segment before it is in the repository, so
 * its slot keeps whatever a crash of this process would lose. On {@link #close()} the waiting
 * segments are stored, then what was received of the current one as {@code <segment>.stream},
 * which {@code wal-fetch} serves when the full segment never came (not as {@code .partial}: a
 * promoted standby's archiver stores its own copy of the old timeline's last segment under
 * that name). The streamer reconnects after errors,
 * and after a timeline switch (a promotion) it stores the new timeline's history file and
 * follows the new timeline.
 *
 * <p>pgjdbc's replication API has no TIMELINE option and reports as flushed whatever it is
 * told: the streamer therefore always streams the server's current timeline from the start
 * of a segment, and sets the flushed position itself after each fsync.
 */
public final class PostgresWalStreamer implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(PostgresWalStreamer.class);

    /**
     * Complete segments that may wait in the spool for the repository before receiving waits:
     * 1 GiB of WAL with the default segment size, a VACUUM's worth after a mass delete.
     */
    static final int MAX_PENDING = 64;

    private static final FileAttribute<Set<PosixFilePermission>> PRIVATE_FILE =
            PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------"));

    private final PgConnection conn;
    private final String slot;
    private final WalArchive wal;
    private final FileArchive archive;
    private final Path spool;
    private final Duration flushInterval;
    private final Thread thread;
    private final AtomicLong flushed = new AtomicLong();
    // complete segments spooled but not yet stored, oldest first, and the one thread storing them
    private final LinkedBlockingDeque<Long> pending = new LinkedBlockingDeque<>();
    private final ExecutorService storer = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "drkit-wal-store");
        t.setDaemon(true);
        return t;
    });
    private volatile boolean running = true;
    private volatile Exception lastError;

    private long systemId;
    private int timeline;
    private long segmentSize;
    private String segmentName;
    private FileChannel segment;
    private long segmentStart;
    private long written;
    private long synced;
    private long resumeAt;

    /**
     * Starts streaming.
     *
     * @param settings {@code url}, {@code user}, {@code password-file}/{@code password-env},
     *        {@code slot} (default {@code drkit}), {@code flush-interval} (default 200ms)
     * @param archive the repository's WAL archive ({@code DrKit.archive("wal")})
     * @param spool a local directory for the segment being received
     */
    public static PostgresWalStreamer start(Settings settings, FileArchive archive, Path spool) throws IOException {
        PostgresWalStreamer s = new PostgresWalStreamer(settings, archive, spool);
        s.thread.start();
        return s;
    }

    private PostgresWalStreamer(Settings settings, FileArchive archive, Path spool) throws IOException {
        this.conn = PgConnection.from(settings);
        this.slot = settings.get("slot", "drkit");
        this.archive = archive;
        this.wal = new WalArchive(archive);
        // received WAL, the cluster's data in plain text, stays here after a crash
        this.spool = PrivateFiles.ownerOnlyDirectory(spool);
        this.flushInterval = settings.duration("flush-interval").orElse(Duration.ofMillis(200));
        this.thread = new Thread(this::run, "drkit-wal-streamer");
        this.thread.setDaemon(true);
    }

    /** The newest WAL position stored durably (spool or repository), as an LSN. */
    public long flushedLsn() {
        return flushed.get();
    }

    /** The last error the streamer recovered from, if any. */
    public Exception lastError() {
        return lastError;
    }

    private void run() {
        long backoff = 500;
        while (running) {
            try {
                stream();
                backoff = 500;
            } catch (Exception e) {
                if (!running) {
                    break;
                }
                lastError = e;
                LOG.warn(
                        "WAL streaming from {} stopped: {}; reconnecting in {} ms",
                        conn,
                        conn.redact(String.valueOf(e.getMessage())),
                        backoff);
                sleep(backoff);
                backoff = Math.min(backoff * 2, 10_000);
            }
        }
    }

    private void stream() throws SQLException, IOException {
        try (Connection c = replicationConnection();
                Connection sql = conn.open()) {
            identify(c);
            long start = startPosition(c);
            LOG.info("streaming WAL from {} timeline {} at {}", conn, timeline, LogSequenceNumber.valueOf(start));
            PGReplicationStream stream = c.unwrap(PGConnection.class)
                    .getReplicationAPI()
                    .replicationStream()
                    .physical()
                    .withSlotName(slot)
                    .withStartPosition(LogSequenceNumber.valueOf(start))
                    .withStatusInterval(1, TimeUnit.SECONDS)
                    .start();
            try {
                long lastSync = System.nanoTime();
                long lastTimelineCheck = System.nanoTime();
                while (running) {
                    ByteBuffer data = stream.readPending();
                    if (data == null) {
                        if (written > synced && System.nanoTime() - lastSync >= flushInterval.toNanos()) {
                            sync(stream);
                            lastSync = System.nanoTime();
                        }
                        if (stream.isClosed()) {
                            break;
                        }
                        if (System.nanoTime() - lastTimelineCheck > TimeUnit.SECONDS.toNanos(2)) {
                            lastTimelineCheck = System.nanoTime();
                            int now = serverTimeline(sql);
                            if (now > timeline) {
                                // pgjdbc drops the end-of-timeline message: notice the promotion here
                                LOG.info("{} moved to timeline {}; following it", conn, now);
                                break;
                            }
                        }
                        sleep(5);
                        continue;
                    }
                    // for physical streams pgjdbc reports the position after the message's data
                    write(stream.getLastReceiveLSN().asLong() - data.remaining(), data);
                    if (System.nanoTime() - lastSync >= flushInterval.toNanos()) {
                        sync(stream);
                        lastSync = System.nanoTime();
                    }
                }
                if (written > synced) {
                    sync(stream);
                }
            } finally {
                try {
                    stream.close();
                } catch (SQLException ignored) {
                    // the server may have ended the stream (timeline switch)
                }
            }
        }
    }

    private Connection replicationConnection() throws SQLException {
        Properties p = new Properties();
        PGProperty.USER.set(p, conn.user());
        if (conn.password() != null) {
            PGProperty.PASSWORD.set(p, conn.password());
        }
        PGProperty.ASSUME_MIN_SERVER_VERSION.set(p, "10");
        PGProperty.REPLICATION.set(p, "true");
        PGProperty.PREFER_QUERY_MODE.set(p, "simple");
        PGProperty.APPLICATION_NAME.set(p, "drkit-wal-streamer");
        return DriverManager.getConnection(conn.jdbcUrl(), p);
    }

    /** The timeline the server writes (a primary) or receives (a standby). */
    private static int serverTimeline(Connection sql) throws SQLException {
        try (Statement s = sql.createStatement();
                ResultSet rs = s.executeQuery(
                        "SELECT CASE WHEN pg_is_in_recovery() THEN (SELECT received_tli FROM pg_stat_wal_receiver) "
                                + "ELSE ('x' || substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8))::bit(32)::int END")) {
            rs.next();
            return rs.getInt(1);
        }
    }

    /** IDENTIFY_SYSTEM; a new timeline closes the old one and stores its history file. */
    private void identify(Connection c) throws SQLException, IOException {
        long sys;
        int tli;
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("IDENTIFY_SYSTEM")) {
            rs.next();
            sys = Long.parseUnsignedLong(rs.getString(1));
            tli = rs.getInt(2);
        }
        if (segmentSize == 0) {
            try (Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery("SHOW wal_segment_size")) {
                rs.next();
                segmentSize = parseSize(rs.getString(1));
            }
        }
        if (systemId != 0 && sys != systemId) {
            throw new ConfigException(conn + " is now another cluster (system identifier " + Long.toUnsignedString(sys)
                    + ", was " + Long.toUnsignedString(systemId) + "); stopping");
        }
        systemId = sys;
        if (tli != timeline) {
            long switchPoint = tli > 1 ? storeHistory(c, tli) : 0;
            if (timeline != 0 && segment != null) {
                switchSegment(tli, switchPoint);
            } else if (timeline != 0) {
                resumeAt = switchPoint;
            }
            timeline = tli;
        }
    }

    /**
     * At a timeline switch the old timeline's last segment is stored as {@code .stream}, and the
     * new timeline's segment starts as a copy of it up to the switch point: streaming resumes
     * there (the server renamed its own copy of the old segment, so it could not send it).
     */
    private void switchSegment(int newTimeline, long switchPoint) throws IOException {
        long keep = Math.max(0, Math.min(written, switchPoint - segmentStart));
        String name = WalArchive.segmentName(newTimeline, segmentStart, segmentSize);
        Path next = spool.resolve(name + ".partial");
        try (FileChannel to = FileChannel.open(
                next,
                Set.of(StandardOpenOption.CREATE, StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING),
                PRIVATE_FILE)) {
            segment.transferTo(0, keep, to);
            to.force(false);
        }
        long start = segmentStart;
        closeSegment(true);
        segmentStart = start;
        segmentName = name;
        segment = FileChannel.open(next, StandardOpenOption.READ, StandardOpenOption.WRITE);
        written = keep;
        synced = keep;
    }

    /** Stores the history file of {@code tli} and returns the point where it branched off. */
    private long storeHistory(Connection c, int tli) throws SQLException, IOException {
        try (Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("TIMELINE_HISTORY " + tli)) {
            rs.next();
            String name = rs.getString(1);
            byte[] content = rs.getBytes(2);
            Path tmp = spool.resolve(name);
            Files.write(tmp, content);
            try (InputStream in = Files.newInputStream(tmp)) {
                archive.put(
                        WalArchive.path(systemId, name), in, stored -> Arrays.equals(stored.readAllBytes(), content));
            } finally {
                Files.deleteIfExists(tmp);
            }
            LOG.info("stored {} (timeline {} began)", name, tli);
            List<WalArchive.TimelineSwitch> switches =
                    WalArchive.timelineSwitches(new String(content, StandardCharsets.UTF_8));
            // the last line: where tli branched off
            return switches.isEmpty() ? 0 : switches.get(switches.size() - 1).at();
        }
    }

    /** Where to start: the spooled segment's end, else the slot's restart point, at a segment start. */
    private long startPosition(Connection c) throws SQLException, IOException {
        if (segment != null) {
            return segmentStart + written;
        }
        if (resumeAt != 0) {
            return resumeAt;
        }
        long restart;
        try (Connection sql = conn.open();
                Statement s = sql.createStatement()) {
            try (ResultSet rs = s.executeQuery("SELECT restart_lsn::text FROM pg_replication_slots WHERE slot_name = '"
                    + slot.replace("'", "''") + "'")) {
                if (rs.next() && rs.getString(1) != null) {
                    restart = WalArchive.parseLsn(rs.getString(1));
                } else {
                    try (ResultSet created =
                            s.executeQuery("SELECT lsn::text FROM pg_create_physical_replication_slot('"
                                    + slot.replace("'", "''") + "', true)")) {
                        created.next();
                        restart = WalArchive.parseLsn(created.getString(1));
                    }
                }
            }
        }
        return restart - Long.remainderUnsigned(restart, segmentSize);
    }

    private void write(long lsn, ByteBuffer data) throws IOException {
        while (data.hasRemaining()) {
            long segStart = lsn - Long.remainderUnsigned(lsn, segmentSize);
            if (segment == null || segStart != segmentStart) {
                if (segment != null) {
                    closeSegment(false);
                }
                openSegment(segStart);
            }
            int room = (int) Math.min(data.remaining(), segmentStart + segmentSize - lsn);
            ByteBuffer part = data.slice(data.position(), room);
            long offset = lsn - segmentStart;
            while (part.hasRemaining()) {
                offset += segment.write(part, offset);
            }
            data.position(data.position() + room);
            lsn += room;
            written = Math.max(written, lsn - segmentStart);
            if (written == segmentSize) {
                closeSegment(false);
            }
        }
    }

    private void openSegment(long start) throws IOException {
        resumeAt = 0;
        segmentStart = start;
        segmentName = WalArchive.segmentName(timeline, start, segmentSize);
        Path file = spool.resolve(segmentName + ".partial");
        segment = FileChannel.open(
                file,
                Set.of(StandardOpenOption.CREATE, StandardOpenOption.READ, StandardOpenOption.WRITE),
                PRIVATE_FILE);
        written = 0;
        synced = 0;
    }

    /**
     * Syncs the spooled segment and reports its end as flushed, or only the start of the oldest
     * segment still waiting for the repository.
     */
    private void sync(PGReplicationStream stream) throws IOException, SQLException {
        if (segment != null) {
            segment.force(false);
            synced = written;
            flushed.set(segmentStart + written);
            Long oldest = pending.peekFirst();
            report(stream, oldest == null ? segmentStart + written : Math.min(oldest, segmentStart + written));
        }
    }

    private void report(PGReplicationStream stream, long lsn) throws SQLException {
        if (stream != null) {
            stream.setFlushedLSN(LogSequenceNumber.valueOf(lsn));
            stream.setAppliedLSN(LogSequenceNumber.valueOf(lsn));
            stream.forceUpdateStatus();
        }
    }

    /**
     * Closes the spooled segment: a complete one is renamed to its segment name and handed to
     * the storing thread (receiving resumes after it), an incomplete one is stored as {@code
     * .stream} at once, after the complete ones before it.
     */
    private void closeSegment(boolean partial) throws IOException {
        segment.force(false);
        segment.close();
        segment = null;
        Path file = spool.resolve(segmentName + ".partial");
        flushed.set(segmentStart + written);
        if (written == segmentSize && !partial) {
            Path complete = spool.resolve(segmentName);
            Files.move(file, complete, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            awaitRoom();
            long start = segmentStart;
            String path = WalArchive.path(systemId, segmentName);
            pending.addLast(start);
            resumeAt = start + segmentSize;
            storer.execute(() -> storeInBackground(path, complete, start));
            return;
        }
        awaitStored(Duration.ofMinutes(10));
        String path = WalArchive.path(systemId, WalArchive.streamedName(segmentName));
        for (int attempt = 0; ; attempt++) {
            if (storedHoldsMore(path, file)) {
                Files.delete(file);
                return;
            }
            archive.delete(path); // an older, shorter copy of the same segment
            try {
                store(path, file);
                return;
            } catch (ObjectExistsException raced) {
                if (attempt == 1) {
                    throw raced;
                }
                // a wal-push set an earlier streamer's copy aside under this name meanwhile
            }
        }
    }

    /**
     * Whether the repository's copy of the segment is longer than {@code file} and starts with
     * its bytes (an earlier run of the streamer, or a wal-push setting such a copy aside, stored
     * more): then it is kept. A copy that cannot be read here (encrypted, no key), has a damaged
     * record or other bytes is replaced.
     */
    private boolean storedHoldsMore(String path, Path file) throws IOException {
        long received = Files.size(file);
        try {
            Optional<ArtifactInfo> stored = archive.info(path);
            if (stored.isEmpty() || stored.get().rawSize() <= received) {
                return false;
            }
            Optional<InputStream> in = archive.open(path);
            if (in.isEmpty()) {
                return false;
            }
            try (InputStream prefix = new BoundedInputStream(in.get(), received)) {
                if (!WalArchive.sameBytes(prefix, file)) {
                    return false;
                }
            }
            LOG.info(
                    "kept the stored {} ({} bytes): it holds the {} bytes received now and more",
                    path,
                    stored.get().rawSize(),
                    received);
            return true;
        } catch (DrException | IOException e) {
            LOG.debug("replacing the stored {}: {}", path, e.getMessage());
            return false;
        }
    }

    private void store(String path, Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            archive.put(path, in, stored -> WalArchive.sameBytes(stored, file));
        }
        Files.delete(file);
        LOG.debug("stored {}", path);
    }

    /** Stores a complete segment, retrying until it is in the repository or the streamer is closed for good. */
    private void storeInBackground(String path, Path file, long start) {
        long backoff = 500;
        while (true) {
            try {
                store(path, file);
                pending.remove(start);
                return;
            } catch (IOException | RuntimeException e) {
                lastError = e;
                LOG.warn("storing {} failed: {}; retrying in {} ms", path, e.getMessage(), backoff);
                if (storer.isShutdown()) {
                    return; // closed: the segment stays in the spool and the slot keeps its WAL
                }
                sleep(backoff);
                backoff = Math.min(backoff * 2, 10_000);
            }
        }
    }

    /** Waits while {@link #MAX_PENDING} complete segments wait for the repository. */
    private void awaitRoom() {
        while (pending.size() >= MAX_PENDING && !Thread.currentThread().isInterrupted()) {
            sleep(10);
        }
    }

    /** Waits until every complete segment is in the repository. */
    private void awaitStored(Duration timeout) throws IOException {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!pending.isEmpty()) {
            if (System.nanoTime() - deadline > 0) {
                throw new IOException(pending.size() + " complete WAL segments are still not in the repository after "
                        + timeout.toSeconds() + " s" + (lastError != null ? ": " + lastError.getMessage() : ""));
            }
            sleep(10);
        }
    }

    private static long parseSize(String text) {
        String t = text.trim().toUpperCase(Locale.ROOT);
        long unit = t.endsWith("GB") ? 1L << 30 : t.endsWith("MB") ? 1L << 20 : t.endsWith("KB") ? 1L << 10 : 1;
        return Long.parseLong(t.replaceAll("[^0-9]", "")) * unit;
    }

    private static void sleep(long ms) {
        try {
            Thread.sleep(ms);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Stops streaming, stores the complete segments still in the spool and then what was
     * received of the current segment as {@code .stream}, and returns once they are in the
     * repository.
     */
    @Override
    public void close() throws IOException {
        running = false;
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        try {
            if (segment != null && written > 0) {
                closeSegment(true);
            } else {
                if (segment != null) {
                    segment.close();
                }
                awaitStored(Duration.ofMinutes(10));
            }
        } finally {
            storer.shutdownNow();
        }
    }
}
