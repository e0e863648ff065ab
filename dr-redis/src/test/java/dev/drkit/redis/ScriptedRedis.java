package dev.drkit.redis;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.function.Function;

/** A scripted server on loopback: each command (as words) gets the RESP reply {@code replies} gives it, on any number of connections. */
final class ScriptedRedis {
    private ScriptedRedis() {}

    static ServerSocket start(Function<List<String>, String> replies) throws IOException {
        ServerSocket server = new ServerSocket(0, 50, InetAddress.getLoopbackAddress());
        CompletableFuture.runAsync(() -> {
            while (!server.isClosed()) {
                try {
                    Socket s = server.accept();
                    CompletableFuture.runAsync(() -> serve(s, replies));
                } catch (IOException e) {
                    return; // closed
                }
            }
        });
        return server;
    }

    /** A bulk string. */
    static String bulk(String s) {
        return "$" + s.getBytes(StandardCharsets.UTF_8).length + "\r\n" + s + "\r\n";
    }

    /** An array of bulk strings. */
    static String array(String... items) {
        StringBuilder b = new StringBuilder("*" + items.length + "\r\n");
        for (String item : items) {
            b.append(bulk(item));
        }
        return b.toString();
    }

    private static void serve(Socket socket, Function<List<String>, String> replies) {
        try (Socket s = socket) {
            InputStream in = s.getInputStream();
            OutputStream out = s.getOutputStream();
            while (true) {
                out.write(replies.apply(readCommand(in)).getBytes(StandardCharsets.UTF_8));
                out.flush();
            }
        } catch (IOException | RuntimeException e) {
            // the client closed
        }
    }

    private static List<String> readCommand(InputStream in) throws IOException {
        int n = Integer.parseInt(RespConnectionTest.line(in).substring(1));
        List<String> words = new ArrayList<>();
        for (int i = 0; i < n; i++) {
            int len = Integer.parseInt(RespConnectionTest.line(in).substring(1));
            words.add(new String(in.readNBytes(len), StandardCharsets.UTF_8));
            RespConnectionTest.line(in);
        }
        return words;
    }
}
