package dev.drkit.postgres;

import static dev.drkit.postgres.PostgresFailoverIT.awaitReplayed;
import static dev.drkit.postgres.PostgresFailoverIT.connection;
import static dev.drkit.postgres.PostgresFailoverIT.inRecovery;
import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.Settings;
import dev.drkit.failover.FailoverReport;
import dev.drkit.failover.FailoverReport.Outcome;
import dev.drkit.testkit.PostgresServer;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Ways to end up with two primaries (or to promote the wrong server, or to lose acknowledged
 * writes) that the failover must refuse: an old primary that answers but not to drkit, that looks
 * read-only to drkit's role only, that was "stopped" while its sessions still write; a standby of
 * another cluster.
 */
class PostgresFailoverSplitBrainIT {
    private PostgresServer primary;
    private PostgresServer standby;
    private final List<AutoCloseable> more = new ArrayList<>();

    @BeforeEach
    void startPair() throws Exception {
        primary = PostgresServer.start();
        standby = primary.startStandby();
        primary.execute("postgres", "CREATE TABLE orders (id serial PRIMARY KEY, item text NOT NULL)");
        primary.execute("postgres", "INSERT INTO orders (item) SELECT 'item ' || g FROM generate_series(1, 100) g");
        awaitReplayed(standby, 100);
    }

    @AfterEach
    void stopAll() throws Exception {
        for (AutoCloseable c : more) {
            c.close();
        }
        if (standby != null) {
            standby.close();
        }
        if (primary != null) {
            primary.close();
        }
    }

    @Test
    void aRunningPrimaryThatRejectsDrkitsPasswordIsNotTakenForDown() throws Exception {
        // a rotated password, a typo, a pg_hba.conf line: the server is up and its clients write
        Settings wrongPassword = connection(primary).toBuilder()
                .set("password", "not-the-password")
                .build();
        FailoverReport report = failover().primary(wrongPassword).build().run();

        assertThat(inRecovery(standby))
                .as("promoted beside a running primary: " + report.message())
                .isTrue();
        assertThat(report.outcome()).isIn(Outcome.REFUSED, Outcome.FAILED);
        assertThat(acceptsWrites(primary)).isTrue();
    }

    @Test
    void aPrimaryThatLooksReadOnlyOnlyToDrkitsRoleIsStillTakenForWritable() throws Exception {
        // a monitoring role with default_transaction_read_only = on: every other client still writes
        primary.execute(
                "postgres",
                "CREATE ROLE watcher LOGIN PASSWORD 'watch-pw';"
                        + " ALTER ROLE watcher SET default_transaction_read_only = on");
        Settings watcher = Settings.builder()
                .set("url", primary.jdbcUrl("postgres"))
                .set("user", "watcher")
                .set("password", "watch-pw")
                .build();
        FailoverReport report = failover().primary(watcher).build().run();

        assertThat(report.step("check old primary").detail()).contains("ACCEPTS WRITES (WAL at");
        assertThat(inRecovery(standby))
                .as("promoted beside a writable primary: " + report.message())
                .isTrue();
        assertThat(report.outcome()).isEqualTo(Outcome.REFUSED);
    }

    @Test
    void aStopThatLeavesTheOldPrimarysSessionsWritingIsNoFence() throws Exception {
        // the application's session on the old primary, open before the failover
        Connection app = primary.connect("postgres");
        more.add(app);
        List<String> stop = new ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) {
            stop.addAll(List.of("runuser", "-u", EmbeddedPostgres.serviceUser(), "--"));
        }
        // a smart shutdown returns at once and waits for the sessions to end: new connections are
        // refused ("the database system is shutting down") while the old ones go on writing
        stop.addAll(List.of(
                "sh",
                "-c",
                primary.binDir().resolve("pg_ctl") + " -D " + primary.dataDir() + " -m smart -W stop && sleep 1"));
        FailoverReport report = failover().stopCommand(stop).build().run();

        try (Statement s = app.createStatement()) {
            s.executeUpdate("INSERT INTO orders (item) VALUES ('written to the old primary')");
        }
        assertThat(inRecovery(standby))
                .as("promoted while the old primary's sessions still write: " + report.message())
                .isTrue();
        assertThat(report.outcome()).isEqualTo(Outcome.FAILED);
    }

    @Test
    void aStandbyOfAnotherClusterIsNotPromotedInPlaceOfThePrimarysOwn() throws Exception {
        PostgresServer other = PostgresServer.start();
        more.add(0, other);
        PostgresServer othersStandby = other.startStandby();
        more.add(0, othersStandby);
        // a copy-paste of the wrong standby URL: drkit would stop this primary and promote a stranger
        FailoverReport report = failover()
                .standby(connection(othersStandby))
                .stopDataDirectory(primary.dataDir())
                .serverBinDir(primary.binDir())
                .build()
                .run();

        assertThat(report.outcome()).as(report.message()).isEqualTo(Outcome.REFUSED);
        assertThat(report.message()).contains("system identifier");
        assertThat(acceptsWrites(primary))
                .as("the primary was stopped for a stranger")
                .isTrue();
        assertThat(inRecovery(othersStandby)).isTrue();
    }

    private PostgresFailover.Builder failover() {
        return PostgresFailover.builder()
                .name("orders-db")
                .standby(connection(standby))
                .primary(connection(primary))
                .promoteTimeout(Duration.ofSeconds(30));
    }

    private static boolean acceptsWrites(PostgresServer pg) {
        try (Connection c = pg.connect("postgres");
                Statement s = c.createStatement()) {
            s.executeUpdate("INSERT INTO orders (item) VALUES ('still writable')");
            return true;
        } catch (SQLException e) {
            return false;
        }
    }
}
