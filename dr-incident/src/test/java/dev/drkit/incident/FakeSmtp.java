package dev.drkit.incident;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.function.BiFunction;

/**
 * A scripted SMTP server on loopback (no TLS): {@code rcpt} answers each RCPT TO given the
 * connection number (from 1) and the address; every message accepted after DATA is kept with
 * the recipients the server accepted for it.
 */
final class FakeSmtp implements AutoCloseable {
    record Mail(List<String> recipients, String data) {}

    final BlockingQueue<Mail> mails = new LinkedBlockingQueue<>();
    /** Every command line the client sent. */
    final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

    private final RawServer server;

    FakeSmtp(BiFunction<Integer, String, String> rcpt) throws IOException {
        server = new RawServer((s, n) -> {
            BufferedReader in = new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8));
            OutputStream out = s.getOutputStream();
            RawServer.write(out, "220 fake ESMTP\r\n");
            List<String> accepted = new ArrayList<>();
            String line;
            while ((line = in.readLine()) != null) {
                lines.add(line);
                String upper = line.toUpperCase();
                if (upper.startsWith("EHLO") || upper.startsWith("HELO")) {
                    RawServer.write(out, "250-fake\r\n250-AUTH PLAIN LOGIN\r\n250 8BITMIME\r\n");
                } else if (upper.startsWith("AUTH LOGIN")) {
                    RawServer.write(out, "334 VXNlcm5hbWU6\r\n");
                    lines.add(in.readLine());
                    RawServer.write(out, "334 UGFzc3dvcmQ6\r\n");
                    lines.add(in.readLine());
                    RawServer.write(out, "235 2.7.0 authenticated\r\n");
                } else if (upper.startsWith("AUTH")) {
                    RawServer.write(out, "235 2.7.0 authenticated\r\n");
                } else if (upper.startsWith("MAIL FROM")) {
                    accepted.clear();
                    RawServer.write(out, "250 2.1.0 ok\r\n");
                } else if (upper.startsWith("RCPT TO")) {
                    String address = line.substring(line.indexOf('<') + 1, line.indexOf('>'));
                    String reply = rcpt.apply(n, address);
                    if (reply.startsWith("250")) {
                        accepted.add(address);
                    }
                    RawServer.write(out, reply + "\r\n");
                } else if (upper.startsWith("DATA")) {
                    RawServer.write(out, "354 go ahead\r\n");
                    StringBuilder data = new StringBuilder();
                    while (!(line = in.readLine()).equals(".")) {
                        data.append(line).append('\n');
                    }
                    mails.add(new Mail(List.copyOf(accepted), data.toString()));
                    RawServer.write(out, "250 2.0.0 queued\r\n");
                } else if (upper.startsWith("QUIT")) {
                    RawServer.write(out, "221 bye\r\n");
                    return;
                } else {
                    RawServer.write(out, "250 ok\r\n");
                }
            }
        });
    }

    int port() {
        return server.port();
    }

    int connections() {
        return server.connections.get();
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
