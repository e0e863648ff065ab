package dev.drkit.examples.drill;

import dev.drkit.BackupManifest;
import dev.drkit.BackupResult;
import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.VerificationFailedException;
import dev.drkit.VerifyLevel;
import dev.drkit.VerifyReport;
import dev.drkit.failover.FailoverReport;
import dev.drkit.failover.HealthChecks;
import dev.drkit.failover.HealthResult;
import dev.drkit.failover.SqlHealthCheck;
import dev.drkit.postgres.EmbeddedPostgres;
import dev.drkit.postgres.PostgresFailover;
import dev.drkit.postgres.PostgresWalStreamer;
import dev.drkit.postgres.WalArchive;
import dev.drkit.spi.support.FileTrees;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;

/**
 * The DR drill for the database: an embedded PostgreSQL with the sample {@code corporate_intel}
 * database and an application writing to it, WAL streamed into the repository, physical and
 * logical backups; then accidental deletion (point-in-time recovery to just before it), loss of
 * the database (restore of the newest backup and all WAL), and a corrupted newest backup
 * (detected by verification, the previous good one restored and rolled forward). Each recovery
 * is started and queried: the table contents are compared with digests taken before the
 * disaster, and the data lost is measured from the application's acknowledged writes.
 */
public final class DatabaseDrill implements AutoCloseable {
    /** The classic plan's database objectives. */
    static final Duration DB_RPO = Duration.ofHours(1);

    static final Duration DB_RTO = Duration.ofHours(2);

    /** The failover's objective: a promoted standby taking the application's writes within 30 s of the crash. */
    static final Duration FAILOVER_RTO = Duration.ofSeconds(30);

    static final String PHYSICAL = "corporate-intel-db";
    static final String LOGICAL = "corporate-intel-dump";
    private static final String DATABASE = "corporate_intel";
    private static final long SEGMENT_SIZE = 16L << 20;

    private final DrKit kit;
    private final Path work;
    private final Path repository;
    private final Path pg;
    private final PrintWriter log;
    private final List<String> notes;
    private final Set<String> faults;
    private final long databaseSize;
    // how long a backup may wait for its WAL and the drill for the streamer: longer for a large sample
    private final Duration patience;
    private final List<EmbeddedPostgres> clusters = new ArrayList<>();
    private Path bin;
    private EmbeddedPostgres live;
    private EmbeddedPostgres standby;
    private PostgresWalStreamer streamer;
    private AppWriter app;
    private Settings connection;

    /** The smallest sample database size the drill loads: its schema and a useful number of filings. */
    public static final long MIN_DATABASE_SIZE = 16L << 20;

    /** Faults the drill can be told to inject, to show that its checks catch a bad recovery. */
    public static final String LATE_PITR_TARGET = "late-pitr-target";

    /** The drill on the default sample (about 23 MB); see {@link #DatabaseDrill(DrKit, Path, Path, PrintWriter, List, Set, long)}. */
    public DatabaseDrill(
            DrKit kit, Path work, Path repository, PrintWriter log, List<String> notes, Set<String> faults) {
        this(kit, work, repository, log, notes, faults, 0);
    }

    /**
     * @param notes receives one line per backup and check made outside the scenarios
     * @param faults faults to inject ({@link #LATE_PITR_TARGET}: recover to just after the
     *        accidental deletion instead of before it), empty for a real drill
     * @param databaseSize the size of the sample database in bytes ({@code pg_database_size},
     *        reached within a few percent by adding filings), or 0 for the default sample
     * @throws IllegalArgumentException when {@code databaseSize} is neither 0 nor at least
     *        {@link #MIN_DATABASE_SIZE}
     */
    public DatabaseDrill(
            DrKit kit,
            Path work,
            Path repository,
            PrintWriter log,
            List<String> notes,
            Set<String> faults,
            long databaseSize) {
        if (databaseSize != 0 && databaseSize < MIN_DATABASE_SIZE) {
            throw new IllegalArgumentException("the sample database needs at least " + (MIN_DATABASE_SIZE >> 20)
                    + " MiB, not " + databaseSize + " bytes");
        }
        this.databaseSize = databaseSize;
        this.patience = Duration.ofMinutes(2).plusSeconds(60 * (databaseSize >> 30));
        this.kit = kit;
        this.work = work;
        this.repository = repository;
        this.pg = work.resolve("pg");
        this.log = log;
        this.notes = notes;
        this.faults = Set.copyOf(faults);
    }

    public List<DrillReport.Scenario> run() throws IOException, SQLException, InterruptedException {
        start();
        BackupResult first = backUp();
        List<DrillReport.Scenario> scenarios = new ArrayList<>();
        scenarios.add(attempt("accidental deletion", this::accidentalDeletion));
        BackupResult second = kit.backup(new TargetSpec(PHYSICAL, "postgres", physicalSettings(true)));
        step("incremental base backup " + second.id() + " taken ("
                + second.manifest().storedSize() + " bytes stored)");
        notes.add("physical incremental backup " + second.id() + " on top of " + first.id());
        Thread.sleep(1000); // the application keeps writing after the newest backup
        Outcome lost = loseDatabase();
        scenarios.add(lost.failover());
        scenarios.add(attempt("loss of database", () -> lossOfDatabase(lost)));
        scenarios.add(attempt("corrupted backup", () -> corruptedBackup(lost, second)));
        return scenarios;
    }

    /** Plays a scenario; one whose recovery breaks is reported as failed, and the drill goes on. */
    private DrillReport.Scenario attempt(String name, ScenarioRun run) {
        return attempt(name, DB_RTO, run);
    }

    private DrillReport.Scenario attempt(String name, Duration rtoGoal, ScenarioRun run) {
        try {
            return run.play();
        } catch (Exception e) {
            step("scenario '" + name + "' FAILED: " + e);
            return DrillReport.Scenario.failed(
                    name,
                    "database",
                    "The recovery could not be completed.",
                    DB_RPO.toSeconds(),
                    rtoGoal.toSeconds(),
                    e);
        }
    }

    @FunctionalInterface
    private interface ScenarioRun {
        DrillReport.Scenario play() throws Exception;
    }

    // ------------------------------------------------------------------ setup

    private void start() throws IOException, SQLException, InterruptedException {
        bin = EmbeddedPostgres.bundledBinaries();
        live = track(EmbeddedPostgres.create(bin, pg.resolve("live"), Map.of("wal_level", "replica")));
        step("embedded PostgreSQL started on port " + live.port() + " (binaries " + bin + ")");
        if (databaseSize > 0) {
            step("loading the sample database " + DATABASE + " to about " + SampleDatabase.mib(databaseSize));
        }
        SampleDatabase.Loaded loaded = SampleDatabase.load(live, DATABASE, databaseSize, this::step);
        step("sample database " + DATABASE + " loaded: " + loaded.describe());
        if (databaseSize > 0) {
            notes.add("sample database " + DATABASE + ": " + loaded.describe());
        }
        standby = track(live.createStandby(pg.resolve("standby")));
        step("streaming standby started on port " + standby.port() + " (a copy of the primary, replicating over "
                + "loopback)");
        Path secrets = Files.createDirectories(work.resolve("secrets"));
        Path password = live.writePasswordFile(secrets.resolve("pg-password"));
        connection = Settings.builder()
                .set("url", live.jdbcUrl(DATABASE))
                .set("user", EmbeddedPostgres.SUPERUSER)
                .set("password-file", password.toString())
                .build();
        streamer = PostgresWalStreamer.start(connection, kit.archive(WalArchive.AREA), pg.resolve("wal-spool"));
        step("WAL streaming into the repository (physical replication slot 'drkit')");
        app = AppWriter.start(live, DATABASE);
        app.followFailovers();
        step("application started: one acknowledged write every " + AppWriter.INTERVAL.toMillis() + " ms");
    }

    private BackupResult backUp() throws IOException {
        BackupResult full = kit.backup(new TargetSpec(PHYSICAL, "postgres", physicalSettings(false)));
        step("physical base backup " + full.id() + " taken (" + full.manifest().rawSize() + " bytes read, "
                + full.manifest().storedSize() + " stored)");
        VerifyReport tested = kit.verify(
                PHYSICAL,
                full.id(),
                VerifyLevel.RESTORE,
                connection.toBuilder()
                        .set("server-bin-dir", bin.toString())
                        .add("validate", "SELECT count(*) > 0 FROM filings")
                        .build());
        requirePassed(tested, "the base backup's restore test");
        step("base backup " + full.id() + " restore-tested: restored, started, queried, removed");
        notes.add("physical base backup " + full.id() + ": restore test passed ("
                + tested.results().stream()
                        .map(r -> r.verifier() + " " + r.status())
                        .toList() + ")");
        try {
            BackupResult dump = kit.backup(new TargetSpec(LOGICAL, "postgres-logical", connection));
            requirePassed(kit.verify(LOGICAL, dump.id(), VerifyLevel.DECODE), "the logical backup's verification");
            step("logical backup " + dump.id() + " (pg_dump) taken and verified");
            notes.add("logical backup " + dump.id() + " (pg_dump): checksum and decode verification passed");
        } catch (ConfigException e) {
            step("logical backup skipped: " + e.getMessage());
            notes.add("logical backup skipped: " + e.getMessage());
        }
        return full;
    }

    private Settings physicalSettings(boolean incremental) {
        return connection.toBuilder()
                .set("data-dir", live.dataDir().toString())
                .set("wal-source", "stream")
                .set("wal-timeout", patience.toString())
                .set("jobs", "2")
                .set("incremental", String.valueOf(incremental))
                .build();
    }

    // -------------------------------------------------------------- scenarios

    private DrillReport.Scenario accidentalDeletion() throws IOException, SQLException, InterruptedException {
        Thread.sleep(1500);
        String before = SampleDatabase.digest(live, DATABASE);
        Instant disaster = Instant.now();
        int deleted;
        try (Connection c = live.connect(DATABASE);
                Statement s = c.createStatement()) {
            deleted = s.executeUpdate("DELETE FROM filings WHERE id % 2 = 0");
        }
        Instant afterDelete = Instant.now();
        step("disaster: DELETE removed " + deleted + " of the filings at " + disaster);
        Thread.sleep(500);
        awaitArchived(switchWal());

        long start = System.nanoTime();
        Path dest = pg.resolve("pitr");
        Instant pointInTime = faults.contains(LATE_PITR_TARGET) ? afterDelete : disaster;
        String target = pointInTime.atOffset(ZoneOffset.UTC).toString();
        kit.restore(RestoreRequest.latest(
                PHYSICAL,
                Settings.builder()
                        .set("to", dest.toString())
                        .set("time", target)
                        .set("stage-wal", "true")
                        .set("restore-command", "false")
                        .set("cluster-owner", EmbeddedPostgres.serviceUser())
                        .build()));
        Recovered r = recover(dest, disaster, start);
        double rto = r.rto();
        boolean identical = before.equals(r.digest);
        step("point-in-time copy validated: filings " + (identical ? "as before the DELETE" : "DIFFERENT") + ", "
                + r.loss);
        r.cluster.stop(false);
        return scenario(
                "accidental deletion",
                "A DELETE removed half of the filings table; the cluster was "
                        + "recovered side by side to the moment before it (--time " + target + ") and checked.",
                r.loss.rpoSeconds(),
                rto,
                List.of(
                        "filings digest " + (identical ? "equals" : "differs from")
                                + " the digest taken just before the DELETE (" + before.substring(0, 12) + "...)",
                        r.loss.describe(),
                        r.phases(),
                        "the recovered copy was promoted and accepts writes"),
                identical && r.loss.lostWrites() == 0);
    }

    /**
     * The server dies: the standby is promoted and takes the application's writes (the "database
     * server failure" scenario); then the data directory is lost as well, and the WAL streamed so
     * far is stored as a partial segment for the restores of the next scenarios.
     */
    private Outcome loseDatabase() throws IOException, SQLException, InterruptedException {
        String before = SampleDatabase.digest(live, DATABASE);
        Instant disaster = Instant.now();
        live.stop(true);
        // the streamer stores what it received (the partial segment) while the failover runs
        CompletableFuture<Void> walStored = CompletableFuture.runAsync(() -> {
            try {
                streamer.close();
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
        step("disaster: the database server crashed (pg_ctl stop -m immediate) at " + disaster);
        DrillReport.Scenario failover =
                attempt("database server failure", FAILOVER_RTO, () -> serverFailure(before, disaster));
        FileTrees.delete(live.dataDir());
        try {
            walStored.join();
        } catch (CompletionException e) {
            if (e.getCause() instanceof UncheckedIOException u) {
                throw u.getCause();
            }
            throw e;
        }
        step("disaster, continued: the crashed server's data directory " + live.dataDir() + " was lost");
        return new Outcome(before, disaster, failover);
    }

    /**
     * The health check notices the crashed primary, the standby is promoted (fenced, validated,
     * traffic switched to it) and the application's next write lands there. RTO: from the crash to
     * that first acknowledged write; RPO: the acknowledged writes the standby lacks.
     */
    private DrillReport.Scenario serverFailure(String before, Instant disaster) throws Exception {
        SqlHealthCheck primaryCheck = SqlHealthCheck.builder(PHYSICAL)
                .jdbcUrl(live.jdbcUrl(DATABASE), EmbeddedPostgres.SUPERUSER, live.password())
                .timeout(Duration.ofSeconds(1))
                .build();
        HealthResult down = HealthChecks.awaitFailure(primaryCheck, Duration.ofMillis(100), 3, FAILOVER_RTO)
                .orElseThrow(() -> new IllegalStateException("the health check still finds the crashed primary"));
        double detected = Duration.between(disaster, Instant.now()).toNanos() / 1e9;
        step(String.format(
                Locale.ROOT,
                "health check: the primary is down (3 failed checks, %.2f s after the crash: %s)",
                detected,
                down.detail()));
        FailoverReport report = PostgresFailover.builder()
                .name(PHYSICAL)
                .standby(connection.toBuilder()
                        .set("url", standby.jdbcUrl(DATABASE))
                        .build())
                .primary(connection)
                .validate(List.of("SELECT count(*) > 0 FROM filings"))
                .promoteTimeout(FAILOVER_RTO)
                .trafficSwitch(promotion -> app.switchTo(standby))
                .build()
                .run();
        for (FailoverReport.Step s : report.steps()) {
            step(String.format(
                    Locale.ROOT, "failover: %-18s %-7s %.2f s  %s", s.name(), s.outcome(), s.seconds(), s.detail()));
        }
        if (!report.succeeded()) {
            throw new IllegalStateException("the failover was " + report.outcome() + ": " + report.message());
        }
        Instant firstWrite = app.awaitFirstWriteAfterSwitch(FAILOVER_RTO);
        double rto = Duration.between(disaster, firstWrite).toNanos() / 1e9;
        AppWriter.Loss loss = app.lossAgainst(standby, DATABASE, disaster);
        boolean identical = before.equals(SampleDatabase.digest(standby, DATABASE));
        step(String.format(
                Locale.ROOT, "the application writes to the promoted standby %.2f s after the crash; %s", rto, loss));
        boolean met = loss.rpoSeconds() <= DB_RPO.toSeconds() && rto <= FAILOVER_RTO.toSeconds();
        return new DrillReport.Scenario(
                "database server failure",
                "database",
                "The primary crashed; the health check noticed, drkit fenced it, promoted the streaming standby, "
                        + "validated it and switched the application to it.",
                loss.rpoSeconds(),
                rto,
                DB_RPO.toSeconds(),
                FAILOVER_RTO.toSeconds(),
                List.of(
                        String.format(
                                Locale.ROOT, "failure detected by the health check %.2f s after the crash", detected),
                        String.format(
                                Locale.ROOT,
                                "failover steps took %.2f s: %s",
                                report.seconds(),
                                String.join(
                                        ", ",
                                        report.steps().stream()
                                                .map(FailoverReport.Step::name)
                                                .toList())),
                        "filings digest on the promoted standby " + (identical ? "equals" : "differs from")
                                + " the digest taken before the crash",
                        loss.describe(),
                        "the application's first write after the switch was acknowledged by the promoted standby"),
                identical && met);
    }

    private DrillReport.Scenario lossOfDatabase(Outcome lost) throws IOException, SQLException {
        long start = System.nanoTime();
        Path dest = pg.resolve("restored");
        kit.restore(RestoreRequest.latest(
                PHYSICAL,
                Settings.builder()
                        .set("to", dest.toString())
                        .set("stage-wal", "true")
                        .set("restore-command", "false")
                        .set("cluster-owner", EmbeddedPostgres.serviceUser())
                        .build()));
        Recovered r = recover(dest, lost.disaster, start);
        double rto = r.rto();
        boolean identical = lost.digest.equals(r.digest);
        step("restored cluster validated: filings " + (identical ? "identical" : "DIFFERENT") + ", " + r.loss);
        r.cluster.stop(false);
        return scenario(
                "loss of database",
                "The server crashed and its data directory was deleted; the newest "
                        + "base backup was restored into a new directory with all streamed WAL, started and checked.",
                r.loss.rpoSeconds(),
                rto,
                List.of(
                        "filings digest " + (identical ? "equals" : "differs from")
                                + " the digest taken before the loss",
                        r.loss.describe(),
                        r.phases(),
                        "recovered to the end of the streamed WAL (including the partial segment) and promoted"),
                identical);
    }

    private DrillReport.Scenario corruptedBackup(Outcome lost, BackupResult newest) throws IOException, SQLException {
        Sabotage.flipByte(repository, newest.manifest());
        step("disaster: one byte flipped in the stored data of the newest backup " + newest.id());
        long start = System.nanoTime();
        VerifyReport broken = kit.verify(PHYSICAL, newest.id(), VerifyLevel.CHECKSUM);
        if (broken.passed()) {
            throw new IllegalStateException("verify did not detect the corrupted backup " + newest.id());
        }
        double verifySeconds = (System.nanoTime() - start) / 1e9;
        step(String.format(
                Locale.ROOT,
                "verify detected the corruption in %.2f s: %s",
                verifySeconds,
                broken.problems().get(0)));
        BackupManifest fallback = Sabotage.previousGood(kit, PHYSICAL, newest.id());
        Path dest = pg.resolve("fallback");
        kit.restore(new RestoreRequest(
                PHYSICAL,
                fallback.id(),
                Settings.builder()
                        .set("to", dest.toString())
                        .set("stage-wal", "true")
                        .set("restore-command", "false")
                        .set("cluster-owner", EmbeddedPostgres.serviceUser())
                        .build(),
                false));
        Recovered r = recover(dest, lost.disaster, start);
        double rto = r.rto();
        boolean identical = lost.digest.equals(r.digest);
        step("previous good backup " + fallback.id() + " rolled forward and validated: filings "
                + (identical ? "identical" : "DIFFERENT") + ", " + r.loss);
        r.cluster.stop(false);
        return scenario(
                "corrupted backup",
                "With the database lost, its newest backup turned out corrupted: "
                        + "verification detected it, and the previous good backup was restored and rolled forward "
                        + "through the WAL.",
                r.loss.rpoSeconds(),
                rto,
                List.of(
                        "verify --level checksum failed on " + newest.id() + ": "
                                + broken.problems().get(0),
                        "restored " + fallback.id() + ", the newest backup that passes verification",
                        "filings digest " + (identical ? "equals" : "differs from")
                                + " the digest taken before the loss",
                        r.loss.describe(),
                        r.phases()),
                identical);
    }

    // ---------------------------------------------------------------- helpers

    /**
     * Starts a restored data directory, waits for promotion, and measures what it holds.
     *
     * @param started when the recovery started (System.nanoTime); the restore took until now
     */
    private Recovered recover(Path dataDir, Instant disaster, long started) throws IOException, SQLException {
        long restored = System.nanoTime();
        EmbeddedPostgres cluster = track(EmbeddedPostgres.open(bin, dataDir, live.password()));
        cluster.awaitPromotion(Duration.ofMinutes(30));
        try (Connection c = cluster.connect(DATABASE);
                Statement s = c.createStatement()) {
            s.execute("CREATE TEMP TABLE drill_write_check AS SELECT 1"); // accepts writes
        }
        long promoted = System.nanoTime();
        String digest = SampleDatabase.digest(cluster, DATABASE);
        AppWriter.Loss loss = app.lossAgainst(cluster, DATABASE, disaster);
        long validated = System.nanoTime();
        Recovered r = new Recovered(
                cluster,
                digest,
                loss,
                (restored - started) / 1e9,
                (promoted - restored) / 1e9,
                (validated - promoted) / 1e9);
        step(r.phases());
        return r;
    }

    /** A WAL segment of a cluster. */
    private record Segment(long systemId, String name) {}

    private Segment switchWal() throws SQLException {
        try (Connection c = live.connect(DATABASE);
                Statement s = c.createStatement();
                ResultSet rs =
                        s.executeQuery("SELECT pg_switch_wal(), (SELECT timeline_id FROM pg_control_checkpoint()),"
                                + " (SELECT system_identifier FROM pg_control_system())")) {
            rs.next();
            long end = WalArchive.parseLsn(rs.getString(1));
            return new Segment(rs.getLong(3), WalArchive.segmentName(rs.getInt(2), end - 1, SEGMENT_SIZE));
        }
    }

    private void awaitArchived(Segment segment) throws IOException, InterruptedException {
        WalArchive archive = new WalArchive(kit.archive(WalArchive.AREA));
        long deadline = System.nanoTime() + patience.toNanos();
        while (!archive.contains(segment.systemId(), segment.name())) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("the WAL streamer did not store segment " + segment.name() + " within "
                        + patience.toSeconds() + " s"
                        + (streamer.lastError() != null
                                ? ": " + streamer.lastError().getMessage()
                                : ""));
            }
            Thread.sleep(50);
        }
        step("WAL segment " + segment.name() + " with the disaster in it is in the repository");
    }

    private EmbeddedPostgres track(EmbeddedPostgres cluster) {
        clusters.add(cluster);
        return cluster;
    }

    private static DrillReport.Scenario scenario(
            String name, String what, double rpo, double rto, List<String> checks, boolean validated) {
        boolean met = rpo <= DB_RPO.toSeconds() && rto <= DB_RTO.toSeconds();
        return new DrillReport.Scenario(
                name, "database", what, rpo, rto, DB_RPO.toSeconds(), DB_RTO.toSeconds(), checks, validated && met);
    }

    private static void requirePassed(VerifyReport r, String what) {
        if (!r.passed()) {
            throw new VerificationFailedException(what + " failed: " + String.join("; ", r.problems()));
        }
    }

    private void step(String what) {
        log.println("drill: " + what);
        log.flush();
    }

    /** Stops the application, the streamer and every cluster the drill started. */
    @Override
    public void close() {
        if (app != null) {
            app.stop();
        }
        try {
            if (streamer != null) {
                streamer.close();
            }
        } catch (IOException e) {
            log.println("drill: stopping the WAL streamer failed: " + e.getMessage());
        }
        for (EmbeddedPostgres c : clusters) {
            try {
                if (Files.exists(c.dataDir())) {
                    c.stop(false);
                }
            } catch (DrException e) {
                log.println("drill: stopping " + c + " failed: " + e.getMessage());
            }
        }
    }

    private record Outcome(String digest, Instant disaster, DrillReport.Scenario failover) {}

    /**
     * A started recovered cluster, what it holds, and where the recovery's time went.
     *
     * @param restoreSeconds from the start of recovery to the restored data directory (for the
     *        corrupted backup, the verification that found the damage too)
     * @param startSeconds server start, WAL replay and promotion, until it accepts writes
     * @param validateSeconds the digest of every filing and the application's writes counted
     */
    private record Recovered(
            EmbeddedPostgres cluster,
            String digest,
            AppWriter.Loss loss,
            double restoreSeconds,
            double startSeconds,
            double validateSeconds) {
        double rto() {
            return restoreSeconds + startSeconds + validateSeconds;
        }

        String phases() {
            return String.format(
                    Locale.ROOT,
                    "RTO %.2f s: restore %.2f s, start with WAL replay until it accepts writes %.2f s, "
                            + "validation %.2f s",
                    rto(),
                    restoreSeconds,
                    startSeconds,
                    validateSeconds);
        }
    }
}
