package dev.drkit.postgres;

import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Starts a restored cluster with {@code pg_ctl}, as the data's owner when run as root, and
 * follows its recovery through the state in its control file.
 */
final class PgCtl {
    private static final Logger LOG = LoggerFactory.getLogger(PgCtl.class);
    /** {@code DB_IN_PRODUCTION} of PostgreSQL's {@code DBState}. */
    static final int DB_IN_PRODUCTION = 6;

    private static final int STATE_OFFSET = 16;
    /** PG_CONTROL_VERSION of PostgreSQL 9.4 (942) up to a bound well past 18's 1800. */
    private static final int MIN_CONTROL_VERSION = 942;

    private static final int MAX_CONTROL_VERSION = 9999;

    private final Path bin;
    private final Path dataDir;
    private final Path log;

    /** The server binaries in {@code bin}, the cluster in {@code dataDir}, its log beside it. */
    PgCtl(Path bin, Path dataDir) {
        this.bin = bin;
        this.dataDir = dataDir;
        this.log = dataDir.toAbsolutePath().resolveSibling(dataDir.getFileName() + ".log");
    }

    /**
     * Starts the cluster (on {@code port} when not null) and waits until it runs; with
     * {@code promotion}, waits then until recovery has finished (the control file says "in
     * production"), at most that long.
     */
    void startAndAwaitRecovery(Integer port, Duration promotion) throws IOException {
        String owner = Files.getOwner(dataDir.resolve("PG_VERSION"), LinkOption.NOFOLLOW_LINKS)
                .getName();
        if (PgProcesses.root() && !Files.exists(log)) {
            Files.createFile(log);
            Files.setOwner(log, Files.getOwner(dataDir.resolve("PG_VERSION"), LinkOption.NOFOLLOW_LINKS));
        }
        List<String> cmd = new ArrayList<>(List.of(
                bin.resolve("pg_ctl").toString(), "-D", dataDir.toString(), "-l", log.toString(), "-w", "-t", "3600"));
        if (port != null) {
            cmd.addAll(List.of("-o", "-p " + port));
        }
        cmd.add("start");
        long t0 = System.nanoTime();
        PgProcesses.run(cmd, owner, 3700, null);
        if (promotion != null) {
            awaitProduction(t0, System.nanoTime() + promotion.toNanos());
        }
    }

    private void awaitProduction(long started, long deadline) throws IOException {
        while (true) {
            if (clusterState(dataDir) == DB_IN_PRODUCTION) {
                LOG.info(
                        "{} recovered and promoted {} s after start (log: {})",
                        dataDir,
                        (System.nanoTime() - started) / 1_000_000_000,
                        log);
                return;
            }
            if (System.nanoTime() > deadline) {
                throw new DrException(
                        ErrorCode.TARGET, "recovery of " + dataDir + " did not finish in time; see " + log);
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DrException(ErrorCode.INTERRUPTED, "interrupted while waiting for recovery of " + dataDir);
            }
        }
    }

    /**
     * The cluster state ({@code DBState}) in the control file, read directly so that a directory
     * of server binaries without {@code pg_controldata} serves: at offset 16, after the 64-bit
     * system identifier and the 32-bit control and catalog versions, in every release from 9.4
     * through 18.
     */
    static int clusterState(Path dataDir) throws IOException {
        ByteBuffer start = WalArchive.controlFileStart(dataDir, STATE_OFFSET + 4);
        int controlVersion = start.getInt(8);
        if (controlVersion < MIN_CONTROL_VERSION || controlVersion > MAX_CONTROL_VERSION) {
            throw new CorruptDataException(dataDir.resolve("global").resolve("pg_control")
                    + " has control file version " + Integer.toUnsignedString(controlVersion)
                    + ", which no PostgreSQL release drkit knows writes; is this a PostgreSQL data directory?");
        }
        return start.getInt(STATE_OFFSET);
    }
}
