package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.Settings;
import dev.drkit.failover.FailoverReport;
import dev.drkit.failover.FailoverReport.Outcome;
import dev.drkit.failover.FailoverReport.StepOutcome;
import dev.drkit.failover.Promotion;
import dev.drkit.testkit.RedisServer;
import java.io.IOException;
import java.net.Socket;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** A real Redis 7 master and replica on loopback: the replica promoted with REPLICAOF NO ONE or by Sentinel. */
class RedisFailoverIT {
    private RedisServer master;
    private RedisServer replica;

    @BeforeEach
    void startPair() throws Exception {
        master = RedisServer.start();
        replica = RedisServer.start();
        assertThat(replica.command("REPLICAOF", "127.0.0.1", String.valueOf(master.port())))
                .isEqualTo("OK");
        master.command("SET", "session:1", "alice");
        await(() -> replica.command("INFO", "replication").contains("master_link_status:up")
                && "alice".equals(replica.command("GET", "session:1")));
    }

    @AfterEach
    void stop() {
        // either may be missing: a test skipped without redis-server starts neither
        if (replica != null) {
            replica.close();
        }
        if (master != null) {
            master.close();
        }
    }

    @Test
    void afterTheMasterIsLostTheReplicaIsPromotedAndAcceptsWrites() throws Exception {
        master.close();
        AtomicReference<Promotion> switched = new AtomicReference<>();
        FailoverReport report = failover().trafficSwitch(switched::set).build().run();

        assertThat(report.outcome()).as(report.message()).isEqualTo(Outcome.PROMOTED);
        assertThat(report.steps())
                .extracting(FailoverReport.Step::name)
                .containsExactly(
                        "check replica",
                        "check old master",
                        "check replication lag",
                        "fence old master",
                        "promote",
                        "await role",
                        "switch traffic");
        assertThat(report.step("check old master").detail()).contains("does not answer");
        assertThat(switched.get().newPrimary()).isEqualTo("127.0.0.1:" + replica.port());
        assertThat(switched.get().oldPrimary()).isEqualTo("127.0.0.1:" + master.port());
        assertThat(replica.command("INFO", "replication")).contains("role:master");
        assertThat(replica.command("SET", "session:2", "bob")).isEqualTo("OK");
        assertThat(replica.command("GET", "session:1")).isEqualTo("alice");
    }

    @Test
    void whileTheMasterAnswersPromotionIsRefusedUnlessForcedAndADryRunChangesNothing() throws Exception {
        FailoverReport dry = failover().dryRun(true).build().run();
        assertThat(dry.outcome()).isEqualTo(Outcome.REFUSED);
        assertThat(dry.message()).contains("still answers as a master").contains("force");
        assertThat(dry.step("fence old master").outcome()).isEqualTo(StepOutcome.REFUSED);

        FailoverReport dryForced = failover().dryRun(true).force(true).build().run();
        assertThat(dryForced.outcome()).isEqualTo(Outcome.WOULD_PROMOTE);
        assertThat(dryForced.step("promote").outcome()).isEqualTo(StepOutcome.WOULD_DO);
        assertThat(replica.command("INFO", "replication")).contains("role:slave");

        FailoverReport forced = failover().force(true).build().run();
        assertThat(forced.outcome()).as(forced.message()).isEqualTo(Outcome.PROMOTED);
        assertThat(replica.command("INFO", "replication")).contains("role:master");
    }

    @Test
    void sentinelPromotesTheReplicaWhenAsked() throws Exception {
        // the testkit's Sentinel picks its port again when another process takes it before it binds
        try (RedisServer sentinel =
                RedisServer.builder().sentinel("cache", master, 1, null).start()) {
            int port = sentinel.port();
            Settings sentinelSettings =
                    Settings.builder().set("uri", "redis://127.0.0.1:" + port).build();
            // Sentinel learns of the replica from the master's INFO
            await(() -> sentinelKnowsReplica(port));
            FailoverReport report = RedisFailover.builder()
                    .name("cache")
                    .sentinel(sentinelSettings, "cache")
                    .promoteTimeout(Duration.ofSeconds(30))
                    .build()
                    .run();
            assertThat(report.outcome())
                    .as(report.message() + " " + report.steps())
                    .isEqualTo(Outcome.PROMOTED);
            assertThat(report.message()).contains("127.0.0.1:" + replica.port());
            await(() -> replica.command("INFO", "replication").contains("role:master"));
            assertThat(replica.command("SET", "session:3", "carol")).isEqualTo("OK");
        }
    }

    private boolean sentinelKnowsReplica(int port) {
        try (Socket s = new Socket("127.0.0.1", port)) {
            s.getOutputStream().write("SENTINEL REPLICAS cache\r\n".getBytes());
            s.setSoTimeout(2000);
            byte[] buf = new byte[8192];
            int n = s.getInputStream().read(buf);
            String reply = new String(buf, 0, Math.max(0, n));
            return reply.contains(String.valueOf(replica.port()))
                    && !reply.contains("s_down")
                    && !reply.contains("disconnected");
        } catch (IOException e) {
            return false;
        }
    }

    private RedisFailover.Builder failover() {
        return RedisFailover.builder()
                .name("sessions")
                .replica(Settings.builder()
                        .set("uri", "redis://127.0.0.1:" + replica.port())
                        .build())
                .promoteTimeout(Duration.ofSeconds(30));
    }

    @FunctionalInterface
    private interface Condition {
        boolean holds() throws Exception;
    }

    private static void await(Condition c) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(40).toNanos();
        while (!c.holds()) {
            assertThat(System.nanoTime()).as("condition reached in time").isLessThan(deadline);
            Thread.sleep(100);
        }
    }
}
