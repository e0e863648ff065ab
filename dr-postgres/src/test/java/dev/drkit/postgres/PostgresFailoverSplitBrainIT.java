package dev.drkit.postgres;

import static dev.drkit.postgres.PostgresFailoverIT.awaitReplayed;
import static dev.drkit.postgres.PostgresFailoverIT.connection;
import static dev.drkit.postgres.PostgresFailoverIT.inRecovery;
import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.Settings;
import dev.drkit.failover.FailoverReport;
import dev.drkit.failover.FailoverReport.Outcome;
import dev.drkit.testkit.PostgresServer;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
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
 * another cluster; the identity check attacked: an old primary whose identity drkit cannot read,
 * a server that answered but whose TLS drkit refused, a shutdown slower than the usual wait.
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
        // a smart shutdown waits for its sessions for ever: the failover waits its stop-timeout
        FailoverReport report = failover()
                .stopCommand(stop)
                .stopTimeout(Duration.ofSeconds(10))
                .build()
                .run();

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

    /**
     * The wrong standby URL (a standby of another cluster) and a primary password that was rotated:
     * the primary answers but refuses drkit, so its system identifier is never read and the check
     * that refuses a stranger "even forced" is skipped; drkit stops the real primary and promotes
     * the stranger in its place.
     */
    @Test
    void aStrangerIsNotPromotedWhenThePrimarysIdentityCannotBeRead() throws Exception {
        PostgresServer other = PostgresServer.start();
        more.add(0, other);
        PostgresServer othersStandby = other.startStandby();
        more.add(0, othersStandby);
        Settings wrongPassword =
                connection(primary).toBuilder().set("password", "rotated-since").build();
        FailoverReport report = PostgresFailover.builder()
                .name("orders-db")
                .standby(connection(othersStandby))
                .primary(wrongPassword)
                .stopDataDirectory(primary.dataDir())
                .serverBinDir(primary.binDir())
                .promoteTimeout(Duration.ofSeconds(30))
                .build()
                .run();

        assertThat(inRecovery(othersStandby))
                .as("a stranger was promoted: " + report.message())
                .isTrue();
        assertThat(acceptsWrites(primary))
                .as("the primary was stopped for a stranger: " + report.message())
                .isTrue();
        assertThat(report.outcome()).isEqualTo(Outcome.REFUSED);
    }

    /**
     * The old primary's certificate expired or was replaced (sslmode=verify-full, verify-ca or
     * require): the server is up and answered drkit's SSL request, its clients write, but pgjdbc
     * reports "SSL error" as SQLState 08006, which the rule takes for "does not answer", so the
     * standby is promoted beside it. A crashed server never answers an SSL request. Stood in for
     * here by a listener that accepts the SSL request (the 'S' only a PostgreSQL server sends) and
     * then fails the handshake.
     */
    @Test
    void aPrimaryThatAnsweredButFailedTlsIsNotTakenForDown() throws Exception {
        try (ServerSocket tls = new ServerSocket(0, 5, InetAddress.getLoopbackAddress())) {
            Thread t = new Thread(() -> {
                while (!tls.isClosed()) {
                    try (Socket s = tls.accept()) {
                        InputStream in = s.getInputStream();
                        in.readNBytes(8); // SSLRequest
                        OutputStream out = s.getOutputStream();
                        out.write('S');
                        out.write("not a TLS record, as a broken or mismatched handshake ends".getBytes());
                        out.flush();
                        in.readNBytes(5);
                    } catch (Exception closed) {
                        // next
                    }
                }
            });
            t.setDaemon(true);
            t.start();
            Settings answersTls = Settings.builder()
                    .set("url", "jdbc:postgresql://127.0.0.1:" + tls.getLocalPort() + "/postgres?sslmode=require")
                    .set("user", PostgresServer.SUPERUSER)
                    .set("password", primary.password())
                    .build();
            FailoverReport report = PostgresFailover.builder()
                    .name("orders-db")
                    .standby(connection(standby))
                    .primary(answersTls)
                    .promoteTimeout(Duration.ofSeconds(30))
                    .build()
                    .run();

            assertThat(inRecovery(standby))
                    .as("promoted beside a server that answered: " + report.message())
                    .isTrue();
            assertThat(report.outcome()).isIn(Outcome.REFUSED, Outcome.FAILED);
        }
    }

    /**
     * A stop command that returns before the server is down (kill -INT of the postmaster, an
     * asynchronous service stop): a primary's fast shutdown ends with a checkpoint that takes as
     * long as its dirty buffers need, and "the database system is shutting down" is answered
     * meanwhile. drkit gives up after a fixed 10 s and reports a failure, the old primary then
     * goes down anyway, and nobody is primary. Stood in for by a smart shutdown with one idle
     * session that ends after 13 s.
     */
    @Test
    void aShutdownThatTakesLongerThanTenSecondsIsWaitedFor() throws Exception {
        Connection idle = primary.connect("postgres");
        Thread closer = new Thread(() -> {
            try {
                Thread.sleep(13_000);
                idle.close();
            } catch (Exception e) {
                // ends the test's session either way
            }
        });
        closer.setDaemon(true);
        closer.start();
        List<String> stop = new ArrayList<>();
        if ("root".equals(System.getProperty("user.name"))) {
            stop.addAll(List.of("runuser", "-u", EmbeddedPostgres.serviceUser(), "--"));
        }
        stop.addAll(List.of(
                "sh", "-c", primary.binDir().resolve("pg_ctl") + " -D " + primary.dataDir() + " -m smart -W stop"));
        FailoverReport report = PostgresFailover.builder()
                .name("orders-db")
                .standby(connection(standby))
                .primary(connection(primary))
                .stopCommand(stop)
                .promoteTimeout(Duration.ofSeconds(30))
                .build()
                .run();
        closer.join();

        assertThat(report.outcome()).as(report.message()).isEqualTo(Outcome.PROMOTED);
        assertThat(inRecovery(standby)).isFalse();
    }

    /** The normal case still works: a primary whose host name no longer resolves (its VM is gone) is down. */
    @Test
    void aPrimaryWhoseHostNoLongerResolvesIsTakenForDown() throws Exception {
        Settings gone = Settings.builder()
                .set("url", "jdbc:postgresql://db-old.invalid:5432/postgres")
                .set("user", PostgresServer.SUPERUSER)
                .set("password", primary.password())
                .build();
        FailoverReport report = PostgresFailover.builder()
                .name("orders-db")
                .standby(connection(standby))
                .primary(gone)
                .promoteTimeout(Duration.ofSeconds(30))
                .build()
                .run();

        assertThat(report.outcome()).as(report.message()).isEqualTo(Outcome.PROMOTED);
        assertThat(report.step("check old primary").detail()).contains("does not answer");
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
