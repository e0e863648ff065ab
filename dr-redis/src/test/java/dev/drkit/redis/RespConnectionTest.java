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
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import org.junit.jupiter.api.Test;

/** Replies read from a scripted server: types as documented, malformed or oversized replies refused. */
class RespConnectionTest {

    /**
     * A server that answers every command with the next canned reply, and records what it was sent;
     * the client connects through an endpoint (setting {@code uri}) with {@code password} (nullable).
     */
    private static String exchange(String password, List<String> replies, RespCall call) throws Exception {
        return serve(replies, port -> {
            Settings.Builder settings =
                    Settings.builder().set("uri", "redis://127.0.0.1:" + port).set("timeout", "5s");
            if (password != null) {
                settings.set("password", password);
            }
            try (RespConnection c = RespConnection.open(RedisEndpoint.from(settings.build(), "uri"))) {
                call.run(c);
            }
        });
    }

    /** The reply to the last of as many commands as there are replies, on a connection without a login. */
    private static Object lastReply(String... replies) throws Exception {
        Object[] last = new Object[1];
        serve(List.of(replies), port -> {
            try (RespConnection c =
                    RespConnection.open(new Socket(InetAddress.getLoopbackAddress(), port), "the server", null, null)) {
                for (int i = 0; i < replies.length; i++) {
                    last[0] = c.call("PING");
                }
            }
        });
        return last[0];
    }

    private static String serve(List<String> replies, Client client) throws Exception {
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
            client.run(server.getLocalPort());
            served.join();
            return seen.toString();
        }
    }

    interface RespCall {
        void run(RespConnection c) throws Exception;
    }

    interface Client {
        void run(int port) throws Exception;
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

    /** One line of a RESP stream, without its CR LF (shared with the other scripted-server tests). */
    static String line(InputStream in) throws IOException {
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
        Object[] got = new Object[2];
        String seen = exchange(
                "s3cret",
                List.of("+OK\r\n", "*3\r\n$5\r\nhello\r\n:42\r\n*1\r\n$-1\r\n", "$11\r\nrole:master\r\n"),
                c -> {
                    got[0] = c.call("CLUSTER", "SHARDS");
                    got[1] = c.text("INFO", "replication");
                });
        assertThat(seen).isEqualTo("AUTH s3cret\nCLUSTER SHARDS\nINFO replication\n");
        assertThat(got[0]).isEqualTo(Arrays.asList("hello", 42L, Arrays.asList((Object) null)));
        assertThat(got[1]).isEqualTo("role:master");
    }

    @Test
    void nestedArraysNilsNumbersAndErrorsAreRead() throws Exception {
        assertThat(lastReply("*3\r\n*2\r\n$2\r\nip\r\n$9\r\n127.0.0.1\r\n:42\r\n$-1\r\n"))
                .isEqualTo(Arrays.asList(List.of("ip", "127.0.0.1"), 42L, null));
        assertThat(lastReply("*-1\r\n")).isNull();
        assertThat(lastReply("+OK\r\n", "$5\r\nhello\r\n")).isEqualTo("hello");
        assertThatThrownBy(() -> lastReply("-NOPERM no\r\n"))
                .isInstanceOf(RespConnection.RespError.class)
                .hasMessage("NOPERM no");
    }

    @Test
    void errorRepliesSayWhatKindTheyAreAndHideThePassword() throws Exception {
        RespConnection.RespError[] errors = new RespConnection.RespError[3];
        exchange(
                "s3cret",
                List.of(
                        "+OK\r\n",
                        "-ERR unknown subcommand 'SHARDS'\r\n",
                        "-NOAUTH Authentication required\r\n",
                        "-ERR s3cret is not a key\r\n"),
                c -> {
                    for (int i = 0; i < errors.length; i++) {
                        try {
                            c.call("X");
                        } catch (RespConnection.RespError e) {
                            errors[i] = e;
                        }
                    }
                });
        assertThat(errors[0].unknownCommand()).isTrue();
        assertThat(errors[0].noAuth()).isFalse();
        assertThat(errors[1].noAuth()).isTrue();
        assertThat(errors[1].unknownCommand()).isFalse();
        assertThat(errors[2]).hasMessage("ERR **** is not a key");
    }

    @Test
    void aRefusedLoginNamesTheFixAndNotThePassword() {
        assertThatThrownBy(() -> exchange("s3cret", List.of("-WRONGPASS invalid password s3cret\r\n"), c -> {}))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("authentication to redis://127.0.0.1:")
                .hasMessageContaining("WRONGPASS invalid password ****")
                .hasMessageContaining("check the user and the password")
                .hasMessageNotContaining("s3cret");
    }

    @Test
    void aRefusedLoginWithAUserNamesTheServerAsTheCallerCallsIt() {
        assertThatThrownBy(() -> serve(
                        List.of("-WRONGPASS s3cret is wrong\r\n"),
                        port -> RespConnection.open(
                                        new Socket(InetAddress.getLoopbackAddress(), port),
                                        "sentinel x",
                                        "me",
                                        "s3cret")
                                .close()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("authentication to sentinel x failed: WRONGPASS **** is wrong")
                .hasMessageNotContaining("s3cret");
    }

    @Test
    void malformedAndOversizedRepliesAreRefusedNamingTheServer() {
        assertThatThrownBy(() -> exchange(null, List.of("$5\r\nabc"), c -> c.call("INFO")))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("a truncated string")
                .matches(e -> ((DrException) e).retryable(), "retryable");
        assertThatThrownBy(() -> lastReply("$99999999999\r\n"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("the server sent a string of 99999999999 bytes");
        assertThatThrownBy(() -> lastReply("*99999999\r\n"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("an array of 99999999 items");
        assertThatThrownBy(() -> exchange(null, List.of("*1\r\n".repeat(20) + ":1\r\n"), c -> c.call("X")))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("at depth 8")
                .hasMessageContaining("too large or too deep");
        assertThatThrownBy(() -> lastReply(":x1\r\n"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("'x1' where a number belongs");
        assertThatThrownBy(() -> exchange(null, List.of("?what\r\n"), c -> c.call("X")))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("redis://127.0.0.1:")
                .hasMessageContaining("not a valid reply");
        assertThatThrownBy(() -> exchange(null, List.of(":1\r\n"), c -> c.text("INFO")))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("answered INFO with no text");
    }
}
