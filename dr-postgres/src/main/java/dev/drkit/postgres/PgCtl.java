package dev.drkit.postgres;

import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
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
 * follows its recovery through {@code pg_controldata}.
 */
final class PgCtl {
    private static final Logger LOG = LoggerFactory.getLogger(PgCtl.class);

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
            Process p = new ProcessBuilder(bin.resolve("pg_controldata").toString(), dataDir.toString())
                    .redirectErrorStream(true)
                    .start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            try {
                p.waitFor();
                if (out.matches("(?s).*Database cluster state:\\s+in production.*")) {
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
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DrException(ErrorCode.INTERRUPTED, "interrupted while waiting for recovery of " + dataDir);
            }
        }
    }
}
