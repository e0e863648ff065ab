package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrEvent;
import dev.drkit.DrListener;
import dev.drkit.Settings;
import dev.drkit.failover.FailoverReport;
import dev.drkit.failover.FailoverReport.Outcome;
import dev.drkit.failover.FailoverReport.StepOutcome;
import dev.drkit.failover.Promotion;
import dev.drkit.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A real primary and streaming standby on loopback: the standby promoted after the primary is lost, and every refusal. */
class PostgresFailoverIT {
    private PostgresServer primary;
    private PostgresServer standby;
    private final List<DrEvent> events = new ArrayList<>();

    @BeforeEach
    void startPair() throws Exception {
        primary = PostgresServer.start();
        standby = primary.startStandby();
        primary.execute("postgres", "CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL)");
        primary.execute("postgres", "INSERT INTO orders (item) SELECT 'item ' || g FROM generate_series(1, 100) g");
        awaitReplayed(standby, 100);
    }

    @AfterEach
    void stopPair() {
        if (standby != null) {
            standby.close();
        }
        if (primary != null) {
            primary.close();
        }
    }

    @Test
    void afterThePrimaryCrashesTheStandbyIsPromotedValidatedSwitchedToAndTakesWrites() throws Exception {
        primary.crash();
        AtomicReference<Promotion> switched = new AtomicReference<>();
        FailoverReport report = failover()
                .validate(List.of("SELECT count(*) = 100 FROM orders"))
                .trafficSwitch(switched::set)
                .build()
                .run();

        assertThat(report.outcome()).as(report.message()).isEqualTo(Outcome.PROMOTED);
        assertThat(report.steps())
                .extracting(FailoverReport.Step::name)
                .containsExactly(
                        "check standby",
                        "check old primary",
                        "check replay lag",
                        "fence old primary",
                        "promote",
                        "await writes",
                        "validate",
                        "switch traffic");
        assertThat(report.steps()).allMatch(s -> s.outcome() == StepOutcome.OK, "every step OK");
        assertThat(report.step("check old primary").detail()).contains("does not answer");
        assertThat(switched.get().newPrimary()).isEqualTo("127.0.0.1:" + standby.port());
        assertThat(switched.get().oldPrimary()).isEqualTo("127.0.0.1:" + primary.port());
        // the application reconnects to the promoted server and writes again
        try (Connection c = standby.connect("postgres");
                Statement s = c.createStatement()) {
            s.executeUpdate("INSERT INTO orders (item) VALUES ('after failover')");
            assertThat(count(s)).isEqualTo(101);
        }
        assertThat(events)
                .extracting(DrEvent::type)
                .startsWith(DrEvent.Type.FAILOVER_STARTED)
                .endsWith(DrEvent.Type.FAILOVER_COMPLETED)
                .filteredOn(t -> t == DrEvent.Type.FAILOVER_STEP)
                .hasSize(8);
        assertThat(report.toString() + events).doesNotContain(standby.password());
    }

    @Test
    void whileTheOldPrimaryStillAcceptsWritesPromotionIsRefusedUnlessForced() throws Exception {
        FailoverReport refused = failover().build().run();
        assertThat(refused.outcome()).isEqualTo(Outcome.REFUSED);
        assertThat(refused.message())
                .contains("still accepts writes")
                .contains("stop-command")
                .contains("force");
        assertThat(refused.step("fence old primary").outcome()).isEqualTo(StepOutcome.REFUSED);
        assertThat(refused.step("promote")).isNull();
        assertThat(inRecovery(standby)).as("the standby was left alone").isTrue();
        assertThat(events.get(events.size() - 1).type()).isEqualTo(DrEvent.Type.FAILOVER_FAILED);

        FailoverReport forced = failover().force(true).build().run();
        assertThat(forced.outcome()).as(forced.message()).isEqualTo(Outcome.PROMOTED);
        assertThat(forced.step("fence old primary").detail()).contains("forced");
        assertThat(inRecovery(standby)).isFalse();
    }

    @Test
    void aConfiguredStopFencesARunningOldPrimaryBeforeThePromotion() throws Exception {
        FailoverReport report = failover()
                .stopDataDirectory(primary.dataDir())
                .serverBinDir(primary.binDir())
                .build()
                .run();
        assertThat(report.outcome()).as(report.message()).isEqualTo(Outcome.PROMOTED);
        assertThat(report.step("fence old primary").detail())
                .contains("stopped")
                .contains("does not answer");
        assertThat(inRecovery(standby)).isFalse();
    }

    @Test
    void withoutTheOldPrimaryOnlyForcePromotesAndAStopCommandFencesIt() throws Exception {
        FailoverReport blind =
                PostgresFailover.builder().standby(connection(standby)).build().run();
        assertThat(blind.outcome()).isEqualTo(Outcome.REFUSED);
        assertThat(blind.message()).contains("no old primary is configured").contains("setting 'primary-url'");

        List<String> pgCtl = List.of(
                primary.binDir().resolve("pg_ctl").toString(),
                "-D",
                primary.dataDir().toString(),
                "-m",
                "fast",
                "-w",
                "stop");
        List<String> stop = new ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) {
            stop.addAll(List.of("runuser", "-u", EmbeddedPostgres.serviceUser(), "--"));
        }
        stop.addAll(pgCtl);
        FailoverReport report = failover().stopCommand(stop).build().run();
        assertThat(report.outcome()).as(report.message()).isEqualTo(Outcome.PROMOTED);
        assertThat(report.step("check old primary").detail()).contains("ACCEPTS WRITES");
        assertThat(report.step("fence old primary").detail())
                .contains("stopped 127.0.0.1:" + primary.port() + " with the stop command")
                .contains("does not answer");
    }

    @Test
    void aDryRunChecksEverythingAndPromotesNothing() throws Exception {
        primary.crash();
        FailoverReport report = failover()
                .dryRun(true)
                .validate(List.of("SELECT count(*) = 100 FROM orders"))
                .trafficSwitch(p -> {
                    throw new AssertionError("a dry run switched traffic");
                })
                .build()
                .run();
        assertThat(report.outcome()).as(report.message()).isEqualTo(Outcome.WOULD_PROMOTE);
        assertThat(report.step("promote").outcome()).isEqualTo(StepOutcome.WOULD_DO);
        assertThat(report.step("switch traffic").outcome()).isEqualTo(StepOutcome.WOULD_DO);
        assertThat(report.step("validate").outcome()).isEqualTo(StepOutcome.OK);
        assertThat(inRecovery(standby)).as("still a standby").isTrue();
    }

    @Test
    void aStandbyBehindTheLimitIsRefused() throws Exception {
        standby.execute("postgres", "SELECT pg_wal_replay_pause()");
        primary.execute("postgres", "INSERT INTO orders (item) SELECT repeat('x', 500) FROM generate_series(1, 2000)");
        awaitReceivedNotReplayed();
        primary.crash();

        FailoverReport report = failover().maxLagBytes(1024).build().run();
        assertThat(report.outcome()).isEqualTo(Outcome.REFUSED);
        assertThat(report.step("check replay lag").outcome()).isEqualTo(StepOutcome.REFUSED);
        assertThat(report.message()).contains("bytes").contains("behind").contains("pg_wal_replay_resume");
        assertThat(report.step("check standby").detail()).contains("replay PAUSED");
        assertThat(inRecovery(standby)).isTrue();
    }

    private PostgresFailover.Builder failover() {
        return PostgresFailover.builder()
                .name("orders-db")
                .standby(connection(standby))
                .primary(connection(primary))
                .promoteTimeout(Duration.ofSeconds(30))
                .listener(new DrListener() {
                    @Override
                    public void onEvent(DrEvent event) {
                        events.add(event);
                    }
                });
    }

    static Settings connection(PostgresServer pg) {
        return Settings.builder()
                .set("url", pg.jdbcUrl("postgres"))
                .set("user", PostgresServer.SUPERUSER)
                .set("password", pg.password())
                .build();
    }

    static boolean inRecovery(PostgresServer pg) throws SQLException {
        try (Connection c = pg.connect("postgres");
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT pg_is_in_recovery()")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    private static long count(Statement s) throws SQLException {
        try (ResultSet rs = s.executeQuery("SELECT count(*) FROM orders")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static void awaitReplayed(PostgresServer standby, long rows) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try (Connection c = standby.connect("postgres");
                    Statement s = c.createStatement()) {
                if (count(s) == rows) {
                    return;
                }
            } catch (SQLException notYet) {
                // the table is not replayed yet
            }
            assertThat(System.nanoTime())
                    .as("standby replayed %d rows in time", rows)
                    .isLessThan(deadline);
            Thread.sleep(50);
        }
    }

    private void awaitReceivedNotReplayed() throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try (Connection c = standby.connect("postgres");
                    Statement s = c.createStatement();
                    ResultSet rs = s.executeQuery(
                            "SELECT pg_wal_lsn_diff(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) > 100000")) {
                rs.next();
                if (rs.getBoolean(1)) {
                    return;
                }
            }
            assertThat(System.nanoTime())
                    .as("standby received WAL it did not replay")
                    .isLessThan(deadline);
            Thread.sleep(50);
        }
    }
}
