package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.Settings;
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

/** Replies read from a scripted server: types as documented, malformed or oversized replies refused. */
class RespConnectionTest {

    /** A server that answers every command with the next canned reply, and records what it was sent. */
    private static String exchange(String password, List<String> replies, RespCall call) throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            StringBuilder seen = new StringBuilder();
            CompletableFuture<Void> served = CompletableFuture.runAsync(() -> {
                try (Socket s = server.accept()) {
                    InputStream in = s.getInputStream();
                    OutputStream out = s.getOutputStream();
                    for (String reply : replies) {
                        seen.append(readCommand(in)).append('\n');
                        out.write(reply.getBytes(StandardCharsets.ISO_8859_1));
                        out.flush();
                    }
                    s.shutdownOutput(); // a truncated reply ends here
                    s.getInputStream().read(); // until the client closes
                } catch (IOException e) {
                    throw new RuntimeException(e);
                }
            });
            Settings.Builder settings = Settings.builder()
                    .set("uri", "redis://127.0.0.1:" + server.getLocalPort())
                    .set("timeout", "5s");
            if (password != null) {
                settings.set("password", password);
            }
            try (RespConnection c = RespConnection.open(RedisEndpoint.from(settings.build(), "uri"))) {
                call.run(c);
            }
            served.join();
            return seen.toString();
        }
    }

    interface RespCall {
        void run(RespConnection c) throws Exception;
    }

    private static String readCommand(InputStream in) throws IOException {
        String header = line(in);
        int n = Integer.parseInt(header.substring(1));
        StringBuilder args = new StringBuilder();
        for (int i = 0; i < n; i++) {
            int len = Integer.parseInt(line(in).substring(1));
            args.append(i == 0 ? "" : " ").append(new String(in.readNBytes(len), StandardCharsets.UTF_8));
            line(in);
        }
        return args.toString();
    }

    private static String line(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        for (int c; (c = in.read()) != '\n'; ) {
            if (c < 0) {
                throw new IOException("closed");
            }
            if (c != '\r') {
                b.append((char) c);
            }
        }
        return b.toString();
    }

    @Test
    void repliesKeepTheirTypesAndAuthComesFirst() throws Exception {
        Object[] got = new Object[1];
        String seen = exchange(
                "s3cret",
                List.of("+OK\r\n", "*3\r\n$5\r\nhello\r\n:42\r\n*1\r\n$-1\r\n"),
                c -> got[0] = c.call("CLUSTER", "SHARDS"));
        assertThat(seen).isEqualTo("AUTH s3cret\nCLUSTER SHARDS\n");
        List<?> reply = (List<?>) got[0];
        assertThat(new String((byte[]) reply.get(0), StandardCharsets.UTF_8)).isEqualTo("hello");
        assertThat(reply.get(1)).isEqualTo(42L);
        assertThat(reply.get(2)).isEqualTo(java.util.Arrays.asList((Object) null));
    }

    @Test
    void aRefusedLoginNamesTheFixAndNotThePassword() {
        assertThatThrownBy(() -> exchange("s3cret", List.of("-WRONGPASS invalid password s3cret\r\n"), c -> {}))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("authentication to redis://127.0.0.1:")
                .hasMessageContaining("password file")
                .hasMessageNotContaining("s3cret");
    }

    @Test
    void malformedAndOversizedRepliesAreRefused() {
        assertThatThrownBy(() -> exchange(null, List.of("$5\r\nabc"), c -> c.call("INFO")))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("a truncated string");
        assertThatThrownBy(() -> exchange(null, List.of("$999999999\r\n"), c -> c.call("INFO")))
                .hasMessageContaining("a string of 999999999 bytes");
        assertThatThrownBy(() -> exchange(null, List.of("*1\r\n".repeat(20) + ":1\r\n"), c -> c.call("X")))
                .hasMessageContaining("too large or too deep");
        assertThatThrownBy(() -> exchange(null, List.of(":12x\r\n"), c -> c.call("X")))
                .hasMessageContaining("'12x' where a number belongs");
        assertThatThrownBy(() -> exchange(null, List.of("?what\r\n"), c -> c.call("X")))
                .hasMessageContaining("not a valid reply");
    }
}
