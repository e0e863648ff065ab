package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drkit.spi.support.Json;
import dev.drkit.testkit.PostgresServer;
import dev.drkit.testkit.RedisServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code drkit health} and {@code drkit failover} through the real jar, against real servers. */
class FailoverCliIT {
    @TempDir
    Path work;

    @Test
    void postgresFailoverIsRefusedWhileThePrimaryWritesThenPromotesTheStandbyAfterItCrashes() throws Exception {
        try (PostgresServer primary = PostgresServer.start();
                PostgresServer standby = primary.startStandby()) {
            Path password = primary.passwordFile(work);
            primary.execute("postgres", "CREATE TABLE orders (id serial PRIMARY KEY, item text)");
            primary.execute("postgres", "INSERT INTO orders (item) VALUES ('first')");
            awaitRows(standby, 1);
            String[] servers = {
                "--standby", standby.jdbcUrl("postgres"),
                "--primary", primary.jdbcUrl("postgres"),
                "--user", "postgres",
                "--password-file", password.toString(),
                "--validate", "SELECT count(*) FROM orders"
            };

            CliProcess.Result refused = CliProcess.run(null, with(servers, "failover"));
            assertThat(refused.exit()).as(refused.err()).isEqualTo(1);
            assertThat(refused.err())
                    .contains("drkit: failover refused: the old primary 127.0.0.1:" + primary.port()
                            + " still accepts writes")
                    .contains("--stop-command")
                    .contains("--force");
            assertThat(refused.out()).contains("fence old primary").contains("REFUSED");

            CliProcess.Result health = CliProcess.run(
                    null,
                    "health",
                    "--sql",
                    standby.jdbcUrl("postgres"),
                    "--user",
                    "postgres",
                    "--password-file",
                    password.toString(),
                    "--tcp",
                    "127.0.0.1:" + primary.port());
            assertThat(health.exit()).as(health.out() + health.err()).isZero();
            assertThat(health.out()).contains("ok").endsWith("healthy\n");

            primary.crash();
            CliProcess.Result down = CliProcess.run(null, "health", "--tcp", "127.0.0.1:" + primary.port(), "--json");
            assertThat(down.exit()).isEqualTo(1);
            assertThat(down.out()).contains("\"healthy\" : false").contains("cannot connect");

            CliProcess.Result dry = CliProcess.run(null, with(servers, "failover", "--dry-run"));
            assertThat(dry.exit()).as(dry.err()).isZero();
            assertThat(dry.out()).contains("promote").contains("WOULD_DO").contains("WOULD PROMOTE");
            assertThat(inRecovery(standby)).as("a dry run promotes nothing").isTrue();

            // a setup target: its connection is the old primary, its restore-test queries validate
            Path setup = work.resolve("drkit.yaml");
            Files.writeString(
                    setup,
                    String.join(
                            "\n",
                            "repository: file:" + work.resolve("repo"),
                            "targets:",
                            "  orders-db:",
                            "    type: postgres",
                            "    url: " + primary.jdbcUrl("postgres"),
                            "    user: postgres",
                            "    password-file: " + password,
                            "    verify: { level: restore, validate: [\"SELECT count(*) = 1 FROM orders\"] }",
                            ""));
            CliProcess.Result fromSetup = CliProcess.run(
                    null,
                    "--config",
                    setup.toString(),
                    "failover",
                    "--target",
                    "orders-db",
                    "--dry-run",
                    "--standby",
                    standby.jdbcUrl("postgres"),
                    "--standby-user",
                    "postgres",
                    "--standby-password-file",
                    password.toString());
            assertThat(fromSetup.exit()).as(fromSetup.out() + fromSetup.err()).isZero();
            assertThat(fromSetup.out())
                    .containsPattern("check old primary +OK .*127.0.0.1:" + primary.port() + " does not answer")
                    .containsPattern("validate +OK .*1 validation query passed");
            CliProcess.Result setupHealth = CliProcess.run(null, "--config", setup.toString(), "health");
            assertThat(setupHealth.exit()).isEqualTo(1);
            assertThat(setupHealth.out()).containsPattern("orders-db +sql +UNHEALTHY");

            CliProcess.Result promoted = CliProcess.run(null, with(servers, "failover", "--name", "orders-db"));
            assertThat(promoted.exit()).as(promoted.err()).isZero();
            assertThat(promoted.out())
                    .containsPattern("check standby +OK +\\d+\\.\\d\\ds")
                    .containsPattern("promote +OK")
                    .containsPattern("await writes +OK")
                    .containsPattern("validate +OK")
                    .contains("PROMOTED in ");
            assertThat(promoted.out() + promoted.err()).doesNotContain(primary.password());
            try (Connection c = standby.connect("postgres");
                    Statement s = c.createStatement()) {
                s.executeUpdate("INSERT INTO orders (item) VALUES ('after failover')");
            }
            assertThat(rows(standby)).isEqualTo(2);
        }
    }

    @Test
    void redisFailoverPromotesTheReplicaOnceTheMasterIsGone() throws Exception {
        try (RedisServer master = RedisServer.start();
                RedisServer replica = RedisServer.start()) {
            replica.command("REPLICAOF", "127.0.0.1", String.valueOf(master.port()));
            master.command("SET", "k", "v");
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!"v".equals(replica.command("GET", "k"))) {
                assertThat(System.nanoTime()).as("replicated in time").isLessThan(deadline);
                Thread.sleep(100);
            }
            master.close();
            CliProcess.Result dry = CliProcess.run(
                    null, "--json", "failover", "--dry-run", "--replica", "redis://127.0.0.1:" + replica.port());
            assertThat(dry.exit()).as(dry.out() + dry.err()).isZero();
            JsonNode report = Json.mapper().readTree(dry.out());
            assertThat(report.get("outcome").asText()).isEqualTo("WOULD_PROMOTE");
            assertThat(report.get("dryRun").asBoolean()).isTrue();
            assertThat(report.get("steps").get(0).get("name").asText()).isEqualTo("check replica");
            assertThat(replica.command("INFO", "replication")).contains("role:slave");

            CliProcess.Result r = CliProcess.run(null, "failover", "--replica", "redis://127.0.0.1:" + replica.port());
            assertThat(r.exit()).as(r.out() + r.err()).isZero();
            assertThat(r.out()).containsPattern("promote +OK").contains("PROMOTED");
            assertThat(replica.command("SET", "k2", "v2")).isEqualTo("OK");
        }
    }

    @Test
    void withoutAServerOrACheckTheCommandsAreUsageErrors() throws Exception {
        CliProcess.Result failover = CliProcess.run(null, "failover");
        assertThat(failover.exit()).isEqualTo(2);
        assertThat(failover.err()).contains("--standby").contains("--replica");
        CliProcess.Result health = CliProcess.run(null, "health");
        assertThat(health.exit()).isEqualTo(2);
        assertThat(health.err()).contains("no health check");
        CliProcess.Result both = CliProcess.run(
                null, "failover", "--standby", "jdbc:postgresql://127.0.0.1:1/x", "--replica", "redis://127.0.0.1:2");
        assertThat(both.exit()).isEqualTo(2);
        assertThat(both.err()).contains("not both");
    }

    private static String[] with(String[] servers, String... first) {
        String[] all = new String[first.length + servers.length];
        System.arraycopy(first, 0, all, 0, first.length);
        System.arraycopy(servers, 0, all, first.length, servers.length);
        return all;
    }

    private static boolean inRecovery(PostgresServer pg) throws Exception {
        try (Connection c = pg.connect("postgres");
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT pg_is_in_recovery()")) {
            rs.next();
            return rs.getBoolean(1);
        }
    }

    private static long rows(PostgresServer pg) throws Exception {
        try (Connection c = pg.connect("postgres");
                Statement s = c.createStatement();
                ResultSet rs = s.executeQuery("SELECT count(*) FROM orders")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static void awaitRows(PostgresServer pg, long n) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (true) {
            try {
                if (rows(pg) == n) {
                    return;
                }
            } catch (SQLException notYet) {
                // the table is not replayed yet
            }
            assertThat(System.nanoTime()).as("standby replayed in time").isLessThan(deadline);
            Thread.sleep(50);
        }
    }
}
