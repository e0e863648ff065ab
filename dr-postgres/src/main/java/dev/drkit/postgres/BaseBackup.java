package dev.drkit.postgres;

import dev.drkit.spi.BackupContext;
import dev.drkit.spi.support.TarWriter;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One base backup on a JDBC session held open from {@code pg_backup_start} to
 * {@code pg_backup_stop}: starting it, storing what the stop returns (the backup label and
 * tablespace map; the on-disk copies are never used), recording where it started and stopped,
 * and waiting for its WAL. Not thread-safe: one per backup.
 */
final class BaseBackup {
    private static final Logger LOG = LoggerFactory.getLogger(BaseBackup.class);

    /**
     * What the backup learns of the cluster before it starts; {@code segmentSize} is the WAL's,
     * {@code blockSize} and {@code relationSegmentBlocks} (blocks per file) its relation files'.
     */
    record Cluster(
            Path dataDir,
            String archiveMode,
            long systemId,
            long segmentSize,
            boolean dataChecksums,
            int blockSize,
            long relationSegmentBlocks) {}

    private final BackupContext context;
    private final Connection jdbc;
    private final PgConnection conn;
    private final Cluster cluster;
    private Instant started;
    private String startLsn;
    private int timeline;
    private String stopLsn;

    BaseBackup(BackupContext context, Connection jdbc, PgConnection conn, Cluster cluster) {
        this.context = context;
        this.jdbc = jdbc;
        this.conn = conn;
        this.cluster = cluster;
    }

    /**
     * {@code pg_backup_start}, with a checkpoint as fast as possible when {@code fast}; a spread
     * checkpoint (minutes) is cancelled when this thread is interrupted.
     */
    void start(boolean fast) throws SQLException, InterruptedIOException {
        String label = "drkit " + context.backupId();
        jdbc.setAutoCommit(true);
        started = context.clock().instant();
        startLsn = PgSql.singleInterruptibly(
                jdbc,
                "SELECT pg_backup_start('" + label.replace("'", "''") + "', " + fast + ")::text",
                "waiting for the checkpoint that starts the base backup of " + conn);
        timeline = Integer.parseInt(PgSql.single(jdbc, "SELECT timeline_id FROM pg_control_checkpoint()"));
        LOG.info(
                "base backup of {} started at {} on timeline {} (checkpoint took {} ms)",
                conn,
                startLsn,
                timeline,
                Duration.between(started, context.clock().instant()).toMillis());
    }

    /**
     * {@code pg_backup_stop}: stores the label (and tablespace map) and records where the
     * backup started and stopped and what it holds.
     */
    void stop(List<TarWriter.Item> items, int jobs) throws SQLException, IOException {
        try (ResultSet rs = jdbc.createStatement()
                .executeQuery(
                        // PostgreSQL switches to a new segment either way; its own wait polls once a
                        // second, so the WAL is awaited here instead, in the repository itself
                        "SELECT lsn::text, labelfile, spcmapfile FROM pg_backup_stop(false)")) {
            rs.next();
            stopLsn = rs.getString(1);
            writeText(context, PostgresPhysicalTarget.BACKUP_LABEL, rs.getString(2));
            String map = rs.getString(3);
            if (map != null && !map.isEmpty()) {
                writeText(context, PostgresPhysicalTarget.TABLESPACE_MAP, map);
            }
        }
        Instant stoppedAt = context.clock().instant();
        if ("off".equals(cluster.archiveMode())) {
            // streamed WAL: close the stop segment so that the streamer stores it whole
            PgSql.single(jdbc, "SELECT pg_switch_wal()::text");
        }
        context.metadata("timeline", timeline);
        context.metadata("startLsn", startLsn);
        context.metadata("stopLsn", stopLsn);
        context.metadata("walStart", segment(startLsn));
        context.metadata("walStop", segment(stopLsn));
        context.metadata("startTime", started.toString());
        context.metadata("stopTime", stoppedAt.toString());
        context.metadata(
                "files",
                items.stream().filter(i -> i.kind() == TarWriter.Item.Kind.FILE).count());
        context.metadata("bytes", total(items));
        context.metadata("jobs", jobs);
    }

    /** Where the backup started (its checkpoint's redo point), after {@link #start}. */
    long startLsn() {
        return WalArchive.parseLsn(startLsn);
    }

    /** Where the backup ended, after {@link #stop}. */
    long stopLsn() {
        return WalArchive.parseLsn(stopLsn);
    }

    /** Whether {@code pg_backup_stop} has ended the backup on the server. */
    boolean stopped() {
        return stopLsn != null;
    }

    /**
     * Waits until the WAL from the backup's start to its stop is in the repository; with WAL
     * archived by archive_command, records and warns when that is failing.
     */
    void awaitWal(boolean streamed, Duration walTimeout) throws SQLException, IOException {
        long t0 = System.nanoTime();
        // on a primary every segment up to the stop is complete now (pg_backup_stop switched WAL):
        // drkit stores them itself rather than wait for archive_command to get round to it
        Path ownWal = !streamed && "false".equals(PgSql.single(jdbc, "SELECT pg_is_in_recovery()::text"))
                ? cluster.dataDir().resolve("pg_wal")
                : null;
        WalWait.await(
                context,
                cluster.systemId(),
                timeline,
                WalArchive.parseLsn(startLsn),
                WalArchive.parseLsn(stopLsn),
                cluster.segmentSize(),
                walTimeout,
                ownWal,
                cluster.dataDir());
        LOG.info(
                "stopped at {}; WAL {} to {} in the repository after {} ms",
                stopLsn,
                segment(startLsn),
                segment(stopLsn),
                (System.nanoTime() - t0) / 1_000_000);
        if (!streamed) {
            warnIfArchiverFails();
        }
    }

    /** Ends a base backup that failed before pg_backup_stop, so the server does not wait for it. */
    void abort() {
        try (Statement s = jdbc.createStatement()) {
            s.execute("SELECT pg_backup_stop(false)");
        } catch (SQLException e) {
            LOG.warn("could not end the failed base backup: {}", conn.redact(e.getMessage()));
        }
    }

    private void warnIfArchiverFails() throws SQLException {
        String failing = PgSql.single(
                jdbc,
                "SELECT coalesce(last_failed_time > coalesce(last_archived_time, '-infinity'), false)::text "
                        + "FROM pg_stat_archiver");
        if ("true".equals(failing)) {
            context.metadata("archiverFailing", true);
            LOG.warn("archive_command is failing (pg_stat_archiver): this backup holds the WAL it needs, "
                    + "but recovery to any later point needs the WAL that is not being archived; fix "
                    + "archive_command and check the server log");
        }
    }

    private String segment(String lsn) {
        return WalArchive.segmentName(timeline, WalArchive.parseLsn(lsn), cluster.segmentSize());
    }

    static long total(List<TarWriter.Item> items) {
        return items.stream().mapToLong(TarWriter.Item::size).sum();
    }

    static void writeText(BackupContext context, String name, String text) throws IOException {
        try (OutputStream out = context.newArtifact(name)) {
            out.write(text.getBytes(StandardCharsets.UTF_8));
        }
    }
}
