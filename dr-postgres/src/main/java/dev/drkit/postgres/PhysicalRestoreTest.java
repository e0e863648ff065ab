package dev.drkit.postgres;

import dev.drkit.BackupNotFoundException;
import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.Settings;
import dev.drkit.VerificationResult;
import dev.drkit.VerifyLevel;
import dev.drkit.postgres.launcher.PostgresLauncher;
import dev.drkit.spi.VerificationContext;
import dev.drkit.spi.Verifier;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.spi.support.OrphanGuard;
import dev.drkit.spi.support.TargetVerifierProvider;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@code pg-physical-restore-test} (level restore) for {@code postgres} base backups: restores
 * the backup into a scratch directory with the WAL from its start to its stop staged beside it,
 * starts PostgreSQL on it (server binaries from {@code server-bin-dir}, else
 * {@code /usr/lib/postgresql/<major>/bin}, else PATH; as the data's owner when run as root) on a
 * free loopback port with archiving off, waits until it is consistent and promoted, runs the
 * {@code validate} queries as {@code user} in the database of {@code url} (default
 * {@code postgres}; the original cluster's roles and passwords come
 * with the backup), stops it, removes everything, and reports how long it took: the measured
 * RTO of the backup.
 */
public final class PhysicalRestoreTest implements Verifier {
    private static final Logger LOG = LoggerFactory.getLogger(PhysicalRestoreTest.class);
    private final Settings settings;

    PhysicalRestoreTest(Settings settings) {
        this.settings = settings;
    }

    /** Provides {@code pg-physical-restore-test} at level restore. */
    public static final class Provider extends TargetVerifierProvider {
        public Provider() {
            super(
                    "pg-physical-restore-test",
                    VerifyLevel.RESTORE,
                    PostgresPhysicalTargetProvider.TYPE,
                    PgConnection.schema(
                            PostgresPhysicalTargetProvider.SERVER_BIN_DIR,
                            PostgresPhysicalTargetProvider.BIN_DIR,
                            PostgresVerifiers.VALIDATE),
                    PhysicalRestoreTest::new);
        }
    }

    @Override
    public String name() {
        return "pg-physical-restore-test";
    }

    @Override
    public VerificationResult verify(VerificationContext context) throws IOException {
        VerificationResult.Timer timer = VerificationResult.start(name());
        List<String> problems = new ArrayList<>();
        Map<String, Object> details = new LinkedHashMap<>();
        Map<String, Object> meta = context.manifest().metadata();
        Path bin = serverBinDir(settings, String.valueOf(meta.getOrDefault("serverVersion", "")));
        Path scratch = Files.createTempDirectory(
                Path.of("/tmp"),
                "drkit-pg-verify-",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        Path data = scratch.resolve("data");
        // if this process is killed, the scratch cluster is stopped and the copy of the data removed
        OrphanGuard guard;
        try {
            guard = OrphanGuard.start(scratch, "QUIT");
        } catch (IOException e) {
            FileTrees.delete(scratch);
            throw e;
        }
        String owner = null;
        boolean started = false;
        try {
            Path wal = Files.createDirectory(scratch.resolve("wal"));
            Settings.Builder restore = Settings.builder()
                    .set("to", data.toString())
                    .set("immediate", "true")
                    .set("restore-command", "cp '" + wal + "/%f' '%p'");
            if (PgProcesses.root()) {
                // the scratch server runs as the user drkit runs its servers as, never as the owner a
                // backup records (anyone who can write the repository chooses that)
                restore.set("cluster-owner", EmbeddedPostgres.serviceUser());
            }
            Settings options = restore.build();
            new PostgresPhysicalTarget(Settings.empty())
                    .restore(new PostgresVerifiers.ScratchRestore(context, options));
            stageWal(context, meta, data, wal);
            owner = Files.getOwner(data.resolve("PG_VERSION"), LinkOption.NOFOLLOW_LINKS)
                    .getName();
            if (PgProcesses.root()) {
                PgProcesses.run(List.of("chown", "-R", owner + ":", scratch.toString()), null, 60, null);
            }
            int port = PgProcesses.freePort();
            // guarded from the moment it writes its pid file: a recovery may take minutes
            try (OrphanGuard.Watch watch = guard.watch(data.resolve("postmaster.pid"), data, "postgres")) {
                PgProcesses.run(
                        List.of(
                                bin.resolve("pg_ctl").toString(),
                                "-D",
                                data.toString(),
                                "-l",
                                scratch.resolve("log").toString(),
                                "-w",
                                "-t",
                                "600",
                                "-o",
                                "-p " + port + " -k " + scratch + " -c listen_addresses=127.0.0.1"
                                        + " -c archive_mode=off",
                                "start"),
                        owner,
                        660,
                        null);
            }
            started = true;
            if (!guard.known()) {
                LOG.warn("the scratch cluster in {} is not guarded: if this process dies, stop it by hand", data);
            }
            String database = settings.has("url") ? PgConnection.from(settings).database() : "postgres";
            PgConnection admin = PgConnection.from(settings.toBuilder()
                    .set("url", "jdbc:postgresql://127.0.0.1:" + port + "/" + database)
                    .build());
            PostgresLauncher.awaitPromotion(admin::open, Duration.ofMinutes(10), "");
            details.put("restoreSeconds", timer.seconds());
            try (Connection c = admin.open()) {
                PostgresVerifiers.RestoreTestVerifier.runValidations(c, settings.getAll("validate"), problems);
            }
        } catch (DrException e) {
            problems.add("restore test failed: " + e.getMessage() + logTail(scratch));
        } catch (SQLException e) {
            problems.add("checking the restored cluster failed: " + e.getMessage() + logTail(scratch));
        } finally {
            // a start that failed or timed out may have left it running
            if (started || Files.exists(data.resolve("postmaster.pid"), LinkOption.NOFOLLOW_LINKS)) {
                try {
                    PgProcesses.run(
                            List.of(bin.resolve("pg_ctl").toString(), "-D", data.toString(), "-m", "immediate", "stop"),
                            owner,
                            60,
                            null);
                } catch (DrException e) {
                    problems.add("stopping the scratch cluster failed: " + e.getMessage());
                }
            }
            try {
                FileTrees.delete(scratch);
            } finally {
                guard.close();
            }
        }
        return timer.result(problems, details);
    }

    /** Copies the segments from the backup's start to its stop next to the scratch cluster. */
    private static void stageWal(VerificationContext context, Map<String, Object> meta, Path data, Path wal)
            throws IOException {
        int timeline = ((Number) meta.get("timeline")).intValue();
        long segmentSize = ((Number) meta.get("walSegmentSize")).longValue();
        long from = WalArchive.parseLsn(String.valueOf(meta.get("startLsn")));
        long to = WalArchive.parseLsn(String.valueOf(meta.get("stopLsn")));
        // the backup's own segments, along its own timeline (whatever timelines branched off it later)
        WalArchive archive = new WalArchive(context.archive(WalArchive.AREA)).following(timeline);
        for (long lsn = from - from % segmentSize; Long.compareUnsigned(lsn, to) <= 0; lsn += segmentSize) {
            String name = WalArchive.segmentName(timeline, lsn, segmentSize);
            if (!archive.fetch(name, wal.resolve(name), data)) {
                throw new BackupNotFoundException(
                        "WAL segment " + name + " that the backup needs is not in the repository");
            }
        }
    }

    /** PostgreSQL server binaries: {@code server-bin-dir}, {@code bin-dir}, the Debian directory of that major, PATH. */
    static Path serverBinDir(Settings settings, String serverVersion) {
        for (String key : List.of("server-bin-dir", "bin-dir")) {
            if (settings.has(key) && Files.isExecutable(Path.of(settings.require(key), "pg_ctl"))) {
                return Path.of(settings.require(key));
            }
        }
        String major = serverVersion.replaceAll("^(\\d+).*", "$1");
        Optional<Path> found = PgBinaries.debian("pg_ctl", major).or(() -> PgBinaries.onPath("pg_ctl"));
        if (found.isPresent()) {
            return found.get();
        }
        throw new ConfigException("a restore test needs PostgreSQL " + major + " server binaries (pg_ctl, postgres): "
                + "give setting 'server-bin-dir', the directory that holds them");
    }

    private static String logTail(Path scratch) {
        try {
            Path log = scratch.resolve("log");
            return Files.exists(log) ? " | server log: " + PgTools.lastLines(Files.readString(log)) : "";
        } catch (IOException e) {
            return "";
        }
    }
}
