package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.Settings;
import dev.drkit.failover.FailoverReport;
import dev.drkit.failover.FailoverReport.Outcome;
import dev.drkit.testkit.RedisServer;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The Redis failover as an attacker and bad luck would have it, against real Redis 7 servers on
 * loopback: an old master that answers but not to drkit is not down, a replica that is no copy of
 * that master is not promoted, a sentinel without quorum is not obeyed.
 */
class RedisFailoverAttackIT {
    private static final String PASSWORD = "m4ster-Pa55";

    private final List<RedisServer> servers = new ArrayList<>();
    private final List<AutoCloseable> closing = new ArrayList<>();

    @AfterEach
    void stop() throws Exception {
        for (AutoCloseable c : closing) {
            c.close();
        }
        servers.forEach(RedisServer::close);
    }

    private RedisServer started(RedisServer.Builder b) throws Exception {
        RedisServer s = b.start();
        servers.add(s);
        return s;
    }

    private static void replicate(RedisServer replica, RedisServer master) throws Exception {
        assertThat(replica.command("REPLICAOF", "127.0.0.1", String.valueOf(master.port())))
                .isEqualTo("OK");
        master.command("SET", "session:1", "alice");
        await(() ->
                info(replica).contains("master_link_status:up") && "alice".equals(replica.command("GET", "session:1")));
    }

    private static String info(RedisServer s) throws IOException {
        return s.command("INFO", "replication");
    }

    private static Settings at(RedisServer s) {
        return Settings.builder().set("uri", "redis://127.0.0.1:" + s.port()).build();
    }

    private static RedisFailover.Builder failover(Settings replica) {
        return RedisFailover.builder().name("sessions").replica(replica).promoteTimeout(Duration.ofSeconds(30));
    }

    /** A master drkit has no password for (the replica has it as masterauth): NOAUTH is no proof it is down. */
    @Test
    void anOldMasterThatRejectsDrkitsLoginIsNotTakenForDown() throws Exception {
        RedisServer master = started(RedisServer.builder().password(PASSWORD));
        RedisServer replica = started(RedisServer.builder().config("masterauth", PASSWORD));
        replicate(replica, master);

        FailoverReport report = failover(at(replica)).build().run();

        assertThat(info(master)).as("the old master still takes writes").contains("role:master");
        assertThat(report.outcome()).as(report.message() + " " + report.steps()).isEqualTo(Outcome.REFUSED);
        assertThat(info(replica)).as("two masters: split brain").contains("role:slave");
        assertThat(report.message()).doesNotContain(PASSWORD).doesNotContainIgnoringCase("exception");
    }

    /** An ACL user that may not run INFO on the master (NOPERM) is no proof the master is down. */
    @Test
    void anOldMasterThatDeniesInfoToDrkitsUserIsNotTakenForDown() throws Exception {
        RedisServer master = started(RedisServer.builder());
        RedisServer replica = started(RedisServer.builder());
        replicate(replica, master);
        assertThat(replica.command("ACL", "SETUSER", "ops", "on", ">ops-Pa55", "+@all", "~*"))
                .isEqualTo("OK");
        assertThat(master.command("ACL", "SETUSER", "ops", "on", ">ops-Pa55", "+@all", "-info", "~*"))
                .isEqualTo("OK");

        FailoverReport report = failover(Settings.builder()
                        .set("uri", "redis://127.0.0.1:" + replica.port())
                        .set("user", "ops")
                        .set("password", "ops-Pa55")
                        .build())
                .build()
                .run();

        assertThat(report.outcome()).as(report.message() + " " + report.steps()).isEqualTo(Outcome.REFUSED);
        assertThat(info(replica)).contains("role:slave");
        assertThat(report.message() + report.steps()).doesNotContain("ops-Pa55");
    }

    /**
     * The password in the replica's URI is the set's password: the master the replica names must be
     * checked with it, not without (which NOAUTH answers, which was taken for down).
     */
    @Test
    void thePasswordInTheReplicaUriAlsoLogsInToTheMasterItNames() throws Exception {
        RedisServer master = started(RedisServer.builder().password(PASSWORD).config("masterauth", PASSWORD));
        RedisServer replica = started(RedisServer.builder().password(PASSWORD).config("masterauth", PASSWORD));
        replicate(replica, master);

        FailoverReport report = failover(Settings.builder()
                        .set("uri", "redis://:" + PASSWORD + "@127.0.0.1:" + replica.port())
                        .build())
                .build()
                .run();

        assertThat(report.outcome()).as(report.message() + " " + report.steps()).isEqualTo(Outcome.REFUSED);
        assertThat(report.message()).contains("still answers as a master").doesNotContain(PASSWORD);
        assertThat(report.steps().toString()).doesNotContain(PASSWORD);
        assertThat(info(replica)).contains("role:slave");
    }

    /** A master busy in a script answers BUSY: it is up and takes writes again when the script ends. */
    @Test
    void anOldMasterBusyInAScriptIsNotTakenForDown() throws Exception {
        RedisServer master = started(RedisServer.builder().config("busy-reply-threshold", "50"));
        RedisServer replica = started(RedisServer.builder());
        replicate(replica, master);
        try (Socket script = new Socket("127.0.0.1", master.port())) {
            send(script, "EVAL", "while true do end", "0");
            await(() -> String.valueOf(master.command("PING")).startsWith("-BUSY"));

            FailoverReport report = failover(at(replica)).build().run();

            assertThat(report.outcome())
                    .as(report.message() + " " + report.steps())
                    .isEqualTo(Outcome.REFUSED);
            assertThat(info(replica)).contains("role:slave");
        } finally {
            master.command("SCRIPT", "KILL");
        }
        // the script stops at its next check after SCRIPT KILL answered: until then INFO is BUSY too
        await(() -> info(master).contains("role:master"));
    }

    /**
     * A master that took the connection but does not answer in time (CLIENT PAUSE, as a manual
     * switch-over does; a stopped process; a full event loop) is not known to be down.
     */
    @Test
    void anOldMasterThatTakesTheConnectionButDoesNotAnswerIsNotTakenForDown() throws Exception {
        RedisServer master = started(RedisServer.builder());
        RedisServer replica = started(RedisServer.builder());
        replicate(replica, master);
        assertThat(master.command("CLIENT", "PAUSE", "12000", "ALL")).isEqualTo("OK");
        try {
            long t0 = System.nanoTime();
            FailoverReport report = failover(Settings.builder()
                            .set("uri", "redis://127.0.0.1:" + replica.port())
                            .set("timeout", "2s")
                            .build())
                    .build()
                    .run();
            assertThat(System.nanoTime() - t0)
                    .as("bounded")
                    .isLessThan(Duration.ofSeconds(11).toNanos());
            assertThat(report.outcome())
                    .as(report.message() + " " + report.steps())
                    .isEqualTo(Outcome.REFUSED);
            assertThat(info(replica)).contains("role:slave");
        } finally {
            master.command("CLIENT", "UNPAUSE");
        }
    }

    /**
     * A replica that never completed a sync with its master (here: no masterauth) holds nothing of
     * it; when the master is gone it must not be promoted as if it kept "what it received".
     */
    @Test
    void aReplicaThatNeverSyncedIsNotPromotedAsCaughtUp() throws Exception {
        RedisServer master = started(RedisServer.builder().password(PASSWORD));
        RedisServer replica = started(RedisServer.builder());
        master.command("SET", "session:1", "alice");
        assertThat(replica.command("REPLICAOF", "127.0.0.1", String.valueOf(master.port())))
                .isEqualTo("OK");
        await(() -> info(replica).contains("master_link_down_since_seconds:-1")
                && info(replica).contains("master_sync_in_progress:0"));
        master.close();

        FailoverReport report = failover(at(replica)).build().run();

        assertThat(report.outcome()).as(report.message() + " " + report.steps()).isEqualTo(Outcome.REFUSED);
        assertThat(info(replica)).contains("role:slave");
        assertThat(replica.command("DBSIZE")).isEqualTo("0");
    }

    /**
     * A replica whose link broke long before its master was lost (here the master changed its
     * password) is behind by everything written since: it must not be promoted as caught up.
     */
    @Test
    void aReplicaWhoseLinkWentDownLongBeforeTheMasterIsNotPromotedAsCaughtUp() throws Exception {
        RedisServer master = started(RedisServer.builder());
        RedisServer replica = started(RedisServer.builder());
        replicate(replica, master);
        master.command("CONFIG", "SET", "requirepass", PASSWORD);
        // the replica's link is cut; it cannot log in again
        new RedisServerAuth(master.port(), PASSWORD).command("CLIENT", "KILL", "TYPE", "replica");
        await(() -> linkDownFor(replica) >= 3);
        new RedisServerAuth(master.port(), PASSWORD).command("SET", "session:2", "bob");
        master.close();

        FailoverReport report = RedisFailover.fromSettings(Settings.builder()
                        .set("replica-uri", "redis://127.0.0.1:" + replica.port())
                        .set("max-link-down", "2s")
                        .build())
                .build()
                .run();

        assertThat(report.outcome()).as(report.message() + " " + report.steps()).isEqualTo(Outcome.REFUSED);
        assertThat(report.message()).contains("link").contains("down");
        assertThat(info(replica)).contains("role:slave");
    }

    /**
     * The replica names its master by an IPv6 address ({@code master_host:::1}): the URI drkit
     * made of it had no host, its check failed, and a failure was taken for a master that is down.
     */
    @Test
    void aMasterNamedByAnIpv6AddressIsCheckedNotTakenForDown() throws Exception {
        RedisServer master = started(RedisServer.builder().config("bind", "127.0.0.1 ::1"));
        RedisServer replica = started(RedisServer.builder());
        assertThat(replica.command("REPLICAOF", "::1", String.valueOf(master.port())))
                .isEqualTo("OK");
        await(() -> info(replica).contains("master_link_status:up"));

        FailoverReport report = failover(at(replica)).build().run();

        assertThat(report.outcome()).as(report.message() + " " + report.steps()).isEqualTo(Outcome.REFUSED);
        assertThat(report.message()).contains("still answers as a master");
        assertThat(info(replica)).contains("role:slave");
    }

    /**
     * {@code master-uri} names a server that is down, but the replica replicates from another one
     * that is up: promoting it on the word of the wrong server splits the data.
     */
    @Test
    void aMasterUriThatIsNotTheReplicasMasterIsNoProofTheMasterIsDown() throws Exception {
        RedisServer master = started(RedisServer.builder());
        RedisServer replica = started(RedisServer.builder());
        replicate(replica, master);

        FailoverReport report = failover(at(replica))
                .master(Settings.builder()
                        .set("uri", "redis://127.0.0.1:" + closedPort())
                        .build())
                .build()
                .run();

        assertThat(report.outcome()).as(report.message() + " " + report.steps()).isEqualTo(Outcome.REFUSED);
        assertThat(report.message()).contains("127.0.0.1:" + master.port());
        assertThat(info(replica)).contains("role:slave");
    }

    /** The same master by another name (a host name where the replica holds the address) is no mismatch. */
    @Test
    void aMasterGivenByAHostNameForTheReplicasAddressIsTheReplicasMaster() throws Exception {
        RedisServer master = started(RedisServer.builder());
        RedisServer replica = started(RedisServer.builder());
        replicate(replica, master);

        FailoverReport report = failover(at(replica))
                .master(Settings.builder()
                        .set("uri", "redis://localhost:" + master.port())
                        .build())
                .build()
                .run();

        assertThat(report.outcome()).isEqualTo(Outcome.REFUSED);
        assertThat(report.message())
                .as("refused because the master answers, not for naming another server")
                .contains("still answers as a master")
                .doesNotContain("replicates from");
        assertThat(info(replica)).contains("role:slave");
    }

    /**
     * The master the replica names is itself a replica now (Sentinel or an operator moved the
     * master role to another server): promoting makes a second master next to that one.
     */
    @Test
    void anOldMasterThatIsNowAReplicaOfAnotherMasterIsNoFence() throws Exception {
        RedisServer current = started(RedisServer.builder());
        RedisServer oldMaster = started(RedisServer.builder());
        RedisServer replica = started(RedisServer.builder());
        replicate(replica, oldMaster);
        replicate(oldMaster, current);
        await(() -> info(replica).contains("master_link_status:up"));

        FailoverReport report = failover(at(replica)).build().run();

        assertThat(info(current)).contains("role:master");
        assertThat(report.outcome()).as(report.message() + " " + report.steps()).isEqualTo(Outcome.REFUSED);
        assertThat(report.message()).contains("127.0.0.1:" + current.port());
        assertThat(info(replica)).contains("role:slave");
    }

    /**
     * A Sentinel that cannot reach the quorum of its set (alone of the three it was configured
     * with, on the wrong side of a partition) is no authority: SENTINEL FAILOVER asks nobody else.
     */
    @Test
    void aSentinelOutsideItsQuorumIsNotObeyed() throws Exception {
        RedisServer master = started(RedisServer.builder());
        RedisServer replica = started(RedisServer.builder());
        replicate(replica, master);
        RedisServer sentinel = started(RedisServer.builder().sentinel("cache", master, 2, null));
        await(() -> {
            String r = sentinel.command("SENTINEL", "REPLICAS", "cache");
            return r != null
                    && r.contains("\nport\n" + replica.port() + "\n")
                    && r.contains("\nmaster-link-status\nok\n");
        });
        assertThat(sentinel.command("SENTINEL", "CKQUORUM", "cache")).startsWith("-NOQUORUM");

        FailoverReport report = RedisFailover.builder()
                .name("cache")
                .sentinel(at(sentinel), "cache")
                .promoteTimeout(Duration.ofSeconds(30))
                .build()
                .run();

        assertThat(report.outcome()).as(report.message() + " " + report.steps()).isEqualTo(Outcome.REFUSED);
        assertThat(report.message()).contains("quorum");
        assertThat(info(master)).contains("role:master");
    }

    private static long linkDownFor(RedisServer replica) throws IOException {
        for (String line : info(replica).split("\r?\n")) {
            if (line.startsWith("master_link_down_since_seconds:")) {
                return Long.parseLong(line.substring(line.indexOf(':') + 1).trim());
            }
        }
        return -1;
    }

    /** RESP over a raw socket, for a command whose reply the test does not wait for. */
    private static void send(Socket s, String... args) throws IOException {
        StringBuilder b = new StringBuilder("*").append(args.length).append("\r\n");
        for (String a : args) {
            b.append('$')
                    .append(a.getBytes(StandardCharsets.UTF_8).length)
                    .append("\r\n")
                    .append(a)
                    .append("\r\n");
        }
        OutputStream out = s.getOutputStream();
        out.write(b.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /** A command to a server whose password changed after it started (the testkit's knows the old one). */
    private record RedisServerAuth(int port, String password) {
        String command(String... args) throws IOException {
            try (Socket s = new Socket("127.0.0.1", port)) {
                s.setSoTimeout(10_000);
                send(s, "AUTH", password);
                InputStream in = s.getInputStream();
                String auth = line(in);
                assertThat(auth).isEqualTo("+OK");
                send(s, args);
                return line(in);
            }
        }

        private static String line(InputStream in) throws IOException {
            StringBuilder b = new StringBuilder();
            int c;
            while ((c = in.read()) != -1 && c != '\n') {
                if (c != '\r') {
                    b.append((char) c);
                }
            }
            return b.toString();
        }
    }

    private static int closedPort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }

    /**
     * drkit cannot open a connection to the master (a firewall between them, a port forward that
     * takes no new connections), but the replica's link to it is up and was used a moment ago: the
     * master is alive and takes writes. "Connection refused" from drkit's side is no proof it is down
     * when the replica itself says it is not; promoting makes two masters.
     */
    @Test
    void aMasterTheReplicasLinkSaysIsUpIsNotTakenForDownBecauseDrkitCannotConnect() throws Exception {
        RedisServer master = started(RedisServer.builder());
        RedisServer replica = started(RedisServer.builder());
        Forward forward = new Forward(master.port());
        closing.add(forward);
        assertThat(replica.command("REPLICAOF", "127.0.0.1", String.valueOf(forward.port())))
                .isEqualTo("OK");
        master.command("SET", "session:1", "alice");
        await(() ->
                info(replica).contains("master_link_status:up") && "alice".equals(replica.command("GET", "session:1")));
        forward.stopAccepting(); // the replica's connection stays; a new one (drkit's) is refused

        FailoverReport report = RedisFailover.builder()
                .name("sessions")
                .replica(Settings.builder()
                        .set("uri", "redis://127.0.0.1:" + replica.port())
                        .build())
                .promoteTimeout(Duration.ofSeconds(30))
                .build()
                .run();

        assertThat(report.outcome()).as(report.message() + " " + report.steps()).isEqualTo(Outcome.REFUSED);
        assertThat(info(master)).as("the old master still takes writes").contains("role:master");
        assertThat(info(replica)).as("two masters: split brain").contains("role:slave");
    }

    /** Forwards each connection it takes to a port; stopAccepting leaves the ones made open. */
    private static final class Forward implements AutoCloseable {
        private final ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        private final List<Socket> sockets = new ArrayList<>();

        Forward(int to) throws IOException {
            Thread t = new Thread(() -> {
                try {
                    while (true) {
                        Socket in = server.accept();
                        Socket out = new Socket(InetAddress.getLoopbackAddress(), to);
                        synchronized (sockets) {
                            sockets.add(in);
                            sockets.add(out);
                        }
                        pump(in, out);
                        pump(out, in);
                    }
                } catch (IOException e) {
                    // closed
                }
            });
            t.setDaemon(true);
            t.start();
        }

        private static void pump(Socket from, Socket to) {
            Thread t = new Thread(() -> {
                try {
                    from.getInputStream().transferTo(to.getOutputStream());
                } catch (IOException e) {
                    // closed
                }
            });
            t.setDaemon(true);
            t.start();
        }

        int port() {
            return server.getLocalPort();
        }

        void stopAccepting() throws IOException {
            server.close();
        }

        @Override
        public void close() throws IOException {
            server.close();
            synchronized (sockets) {
                for (Socket s : sockets) {
                    s.close();
                }
            }
        }
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
