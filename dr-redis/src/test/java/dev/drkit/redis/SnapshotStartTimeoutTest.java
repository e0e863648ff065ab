package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.Settings;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * After PSYNC a server sends bare newlines (keepalives) while it saves the snapshot. They were
 * skipped without end, so a save that never finishes (a stuck child, or a hostile server) held
 * the backup forever: setting 'timeout' never fires while bytes arrive. Setting
 * 'snapshot-start-timeout' now bounds the wait.
 */
class SnapshotStartTimeoutTest {
    private static final String INFO = "$11\r\nrole:master\r\n";

    @Test
    void aServerThatOnlySendsKeepalivesDoesNotHoldTheBackupForever() throws Exception {
        try (ServerSocket server = keepaliveServer(new CountDownLatch(1))) {
            RedisEndpoint endpoint = endpoint(server, "3s");
            CompletableFuture<Object> backup = CompletableFuture.supplyAsync(() -> {
                try {
                    return ReplicationSnapshot.take(endpoint, new ByteArrayOutputStream());
                } catch (Exception e) {
                    return e;
                }
            });
            // 15 times setting 'timeout': the backup should have given up by now
            Object outcome = backup.completeOnTimeout("still waiting", 30, TimeUnit.SECONDS)
                    .get();
            assertThat(outcome).isNotEqualTo("still waiting");
        }
    }

    @Test
    void anInterruptEndsTheWaitForTheSnapshot() throws Exception {
        // a signal stopping the backup interrupts its thread, which a socket read ignores: the
        // wait for a save of minutes outlasted the command's grace period
        CountDownLatch waiting = new CountDownLatch(1);
        try (ServerSocket server = keepaliveServer(waiting)) {
            RedisEndpoint endpoint = endpoint(server, "10m");
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            Thread backup = backup(endpoint, outcome);
            assertThat(waiting.await(30, TimeUnit.SECONDS)).isTrue();
            assertStoppedByInterrupt(backup, outcome, 10);
        }
    }

    @Test
    void anInterruptEndsTheWaitForAServerThatSendsNothing() throws Exception {
        // no keepalives to look between: on main the read waited for setting 'timeout' (60 s by
        // default), far past the grace period of a command stopped by a signal
        CountDownLatch waiting = new CountDownLatch(1);
        try (ServerSocket server = silentServer(waiting)) {
            RedisEndpoint endpoint = endpoint(server, "60s", "10m");
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            Thread backup = backup(endpoint, outcome);
            assertThat(waiting.await(30, TimeUnit.SECONDS)).isTrue();
            Thread.sleep(200); // in the read
            assertStoppedByInterrupt(backup, outcome, 5);
        }
    }

    @Test
    void anInterruptEndsAConnectThatGetsNoAnswer() throws Exception {
        // a full accept queue drops the SYN, as a host behind a firewall that drops packets does:
        // the connect waited up to 30 s, past the grace period of a command stopped by a signal
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                Socket first = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
                Socket second = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort())) {
            RedisEndpoint endpoint = endpoint(server, "60s", "10m");
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            Thread backup = backup(endpoint, outcome);
            Thread.sleep(500); // in the connect
            assertThat(backup.isAlive()).as("the connect waits").isTrue();
            assertStoppedByInterrupt(backup, outcome, 5, "interrupted while connecting to");
        }
    }

    @Test
    void anInterruptEndsATlsHandshakeThatGetsNoAnswer() throws Exception {
        CountDownLatch accepted = new CountDownLatch(1);
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture.runAsync(() -> {
                try (Socket s = server.accept()) {
                    accepted.countDown();
                    s.getInputStream().readAllBytes(); // reads the ClientHello, answers nothing
                } catch (IOException e) {
                    // the client closed
                }
            });
            RedisEndpoint endpoint = RedisEndpoint.from(
                    Settings.builder()
                            .set("uri", "rediss://127.0.0.1:" + server.getLocalPort())
                            .set("timeout", "60s")
                            .build(),
                    "uri");
            AtomicReference<Throwable> outcome = new AtomicReference<>();
            Thread backup = backup(endpoint, outcome);
            assertThat(accepted.await(30, TimeUnit.SECONDS)).isTrue();
            Thread.sleep(300); // in the handshake
            assertStoppedByInterrupt(backup, outcome, 5, "interrupted while connecting to");
        }
    }

    /**
     * A server that answers the replication handshake, then sends a keepalive every 200 ms for
     * ever ("preparing the snapshot"), counting {@code waiting} down once it does.
     */
    private static ServerSocket keepaliveServer(CountDownLatch waiting) throws IOException {
        return server(waiting, true);
    }

    /** A server that answers the handshake, then, asked for PSYNC, sends nothing at all. */
    private static ServerSocket silentServer(CountDownLatch asked) throws IOException {
        return server(asked, false);
    }

    private static ServerSocket server(CountDownLatch waiting, boolean keepalives) throws IOException {
        ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
        CompletableFuture.runAsync(() -> {
            try (Socket s = server.accept()) {
                InputStream in = s.getInputStream();
                OutputStream out = s.getOutputStream();
                answer(in, out, INFO, INFO, "+OK\r\n", "+OK\r\n");
                if (!keepalives) {
                    readCommand(in); // PSYNC
                    waiting.countDown();
                    in.read(); // until the client closes
                    return;
                }
                answer(in, out, "+FULLRESYNC abc 0\r\n");
                while (true) { // "preparing the snapshot"
                    out.write('\n');
                    out.flush();
                    waiting.countDown();
                    Thread.sleep(200);
                }
            } catch (IOException | InterruptedException e) {
                // the client closed
            }
        });
        return server;
    }

    /** A snapshot taken from {@code endpoint} on a thread of its own, its failure kept in {@code outcome}. */
    private static Thread backup(RedisEndpoint endpoint, AtomicReference<Throwable> outcome) {
        Thread backup = new Thread(() -> {
            try {
                ReplicationSnapshot.take(endpoint, new ByteArrayOutputStream());
            } catch (Throwable e) {
                outcome.set(e);
            }
        });
        backup.start();
        return backup;
    }

    /** Interrupts {@code backup}, which ends within {@code seconds} saying it was interrupted. */
    private static void assertStoppedByInterrupt(Thread backup, AtomicReference<Throwable> outcome, int seconds)
            throws InterruptedException {
        assertStoppedByInterrupt(backup, outcome, seconds, "interrupted while waiting for");
    }

    private static void assertStoppedByInterrupt(
            Thread backup, AtomicReference<Throwable> outcome, int seconds, String message)
            throws InterruptedException {
        backup.interrupt();
        backup.join(TimeUnit.SECONDS.toMillis(seconds));
        assertThat(backup.isAlive()).as("still waiting for the snapshot").isFalse();
        assertThat(outcome.get()).isInstanceOf(InterruptedIOException.class).hasMessageContaining(message);
    }

    private static RedisEndpoint endpoint(ServerSocket server, String snapshotStartTimeout) {
        return endpoint(server, "2s", snapshotStartTimeout);
    }

    private static RedisEndpoint endpoint(ServerSocket server, String timeout, String snapshotStartTimeout) {
        return RedisEndpoint.from(
                Settings.builder()
                        .set("uri", "redis://127.0.0.1:" + server.getLocalPort())
                        .set("timeout", timeout)
                        .set("snapshot-start-timeout", snapshotStartTimeout)
                        .build(),
                "uri");
    }

    /** Reads a command for each reply and sends it. */
    private static void answer(InputStream in, OutputStream out, String... replies) throws IOException {
        for (String reply : replies) {
            readCommand(in);
            out.write(reply.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
        }
    }

    private static void readCommand(InputStream in) throws IOException {
        int n = Integer.parseInt(RespConnectionTest.line(in).substring(1));
        for (int i = 0; i < n; i++) {
            int len = Integer.parseInt(RespConnectionTest.line(in).substring(1));
            in.readNBytes(len);
            RespConnectionTest.line(in);
        }
    }
}
