package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.DrException;
import dev.drkit.Settings;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/**
 * The replication handshake against a scripted server that misbehaves: every malformed number
 * it sends is refused with a message naming the server and what was malformed, never a parser's
 * exception, and an oversized INFO reply is refused before it is read.
 */
class ReplicationSnapshotTest {
    private static final String INFO = "$11\r\nrole:master\r\n";

    @Test
    void malformedNumbersInTheHandshakeAreRefusedNamingWhatWasMalformed() throws Exception {
        assertRefused(List.of("$abc\r\n"), "malformed INFO reply length ('abc')");
        assertRefused(List.of("$2147483647\r\n"), "malformed INFO reply length ('2147483647')");
        assertRefused(List.of("$-5\r\n"), "malformed INFO reply length ('-5')");
        assertRefused(
                List.of(INFO, INFO, "+OK\r\n", "+OK\r\n", "+FULLRESYNC abc xyz\r\n"),
                "malformed replication offset ('xyz')");
        assertRefused(
                List.of(INFO, INFO, "+OK\r\n", "+OK\r\n", "+FULLRESYNC abc 0\r\n$12x\r\n"),
                "malformed snapshot length ('12x')");
    }

    private static void assertRefused(List<String> replies, String message) throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> served = CompletableFuture.runAsync(() -> {
                try (Socket s = server.accept()) {
                    InputStream in = s.getInputStream();
                    OutputStream out = s.getOutputStream();
                    for (String reply : replies) {
                        readCommand(in);
                        out.write(reply.getBytes(StandardCharsets.ISO_8859_1));
                        out.flush();
                    }
                    s.getInputStream().readAllBytes(); // until the client closes
                } catch (IOException e) {
                    // the client closed first
                }
            });
            RedisEndpoint endpoint = RedisEndpoint.from(
                    Settings.builder()
                            .set("uri", "redis://127.0.0.1:" + server.getLocalPort())
                            .set("timeout", "5s")
                            .build(),
                    "uri");
            ByteArrayOutputStream artifact = new ByteArrayOutputStream();
            assertThatThrownBy(() -> ReplicationSnapshot.take(endpoint, artifact))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining("127.0.0.1:" + server.getLocalPort())
                    .hasMessageContaining(message)
                    .hasMessageNotContaining("Exception");
            served.join();
            assertThat(artifact.size()).isZero();
        }
    }

    /** Reads one RESP array command; its words are not needed here. */
    private static void readCommand(InputStream in) throws IOException {
        int n = Integer.parseInt(RespConnectionTest.line(in).substring(1));
        for (int i = 0; i < n; i++) {
            int len = Integer.parseInt(RespConnectionTest.line(in).substring(1));
            in.readNBytes(len);
            RespConnectionTest.line(in);
        }
    }
}
