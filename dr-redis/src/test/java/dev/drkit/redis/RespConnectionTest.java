package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Replies as a server sends them, including broken and oversized ones. */
class RespConnectionTest {
    /** Answers every command with the next canned reply. */
    private static Object exchange(String... replies) throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> serving = CompletableFuture.runAsync(() -> {
                try (Socket s = server.accept()) {
                    InputStream in = s.getInputStream();
                    OutputStream out = s.getOutputStream();
                    for (String reply : replies) {
                        ReplicationSnapshot.readLine(in); // *N: the commands here have no arguments to skip
                        for (int i = 0; i < 2; i++) {
                            ReplicationSnapshot.readLine(in);
                        }
                        out.write(reply.getBytes(StandardCharsets.ISO_8859_1));
                        out.flush();
                    }
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            try (RespConnection c = RespConnection.open(
                    new Socket(server.getInetAddress(), server.getLocalPort()), "the server", null, null)) {
                Object last = null;
                for (int i = 0; i < replies.length; i++) {
                    last = c.call("PING");
                }
                serving.get();
                return last;
            }
        }
    }

    @Test
    void nestedArraysNilsNumbersAndErrorsAreRead() throws Exception {
        assertThat(exchange("*3\r\n*2\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n:42\r\n$-1\r\n"))
                .isEqualTo(Arrays.asList(List.of("ip", "127.0.0.1"), 42L, null));
        assertThat(exchange("*-1\r\n")).isNull();
        assertThat(exchange("-NOPERM no\r\n")).isEqualTo(new RespConnection.Error("NOPERM no"));
        assertThat(new RespConnection.Error("NOPERM no").noPermission()).isTrue();
        assertThat(exchange("+OK\r\n", "$5\r\nhello\r\n")).isEqualTo("hello");
    }

    @Test
    void brokenOrOversizedRepliesAreRefusedNamingTheServer() {
        assertThatThrownBy(() -> exchange("$99999999999\r\n"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("the server sent a string of 99999999999 bytes");
        assertThatThrownBy(() -> exchange("*99999999\r\n"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("an array of 99999999 items");
        assertThatThrownBy(() -> exchange("?what\r\n"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("not a valid reply");
        assertThatThrownBy(() -> exchange(":x1\r\n"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("'x1' where a number belongs");
        assertThatThrownBy(() -> exchange("*1\r\n".repeat(9) + ":1\r\n"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("at depth 8");
    }

    @Test
    void rejectedCredentialsAreAConfigurationProblemWithoutThePassword() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            CompletableFuture<Void> serving = CompletableFuture.runAsync(() -> {
                try (Socket s = server.accept()) {
                    InputStream in = s.getInputStream();
                    for (int i = 0; i < 7; i++) {
                        ReplicationSnapshot.readLine(in); // *3 $4 AUTH $2 me $6 s3cret
                    }
                    s.getOutputStream().write("-WRONGPASS s3cret is wrong\r\n".getBytes(StandardCharsets.ISO_8859_1));
                } catch (IOException e) {
                    throw new IllegalStateException(e);
                }
            });
            assertThatThrownBy(() -> RespConnection.open(
                            new Socket(server.getInetAddress(), server.getLocalPort()), "sentinel x", "me", "s3cret"))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("authentication to sentinel x failed: WRONGPASS **** is wrong")
                    .hasMessageNotContaining("s3cret");
            serving.get();
        }
    }
}
