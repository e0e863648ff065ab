package dev.drkit.redis;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * One plain RESP2 connection for a few commands (Sentinel look-ups, {@code ACL LIST}, role checks)
 * where a Lettuce client would cost more start-up than the work. Replies come back as
 * {@link String} (simple and bulk strings), {@link Long}, {@link List} (arrays, nested), {@link Error}
 * or null (nil). Not thread-safe.
 */
final class RespConnection implements AutoCloseable {
    /** Bounds on what a server may send, so that a broken or hostile one cannot exhaust memory. */
    private static final int MAX_BULK = 64 << 20;

    private static final int MAX_ITEMS = 1 << 20;
    private static final int MAX_DEPTH = 8;

    /** An error reply, e.g. {@code NOPERM this user has no permissions ...}. */
    record Error(String message) {
        boolean unknownCommand() {
            return message.contains("unknown command") || message.contains("Unknown sentinel subcommand");
        }

        boolean noPermission() {
            return message.startsWith("NOPERM");
        }
    }

    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;
    private final String server;

    private RespConnection(Socket socket, String server) throws IOException {
        this.socket = socket;
        this.server = server;
        this.out = socket.getOutputStream();
        this.in = new BufferedInputStream(socket.getInputStream(), 1 << 14);
    }

    /**
     * A connection on an open socket, authenticated with {@code user} (nullable) and {@code password}
     * when a password is given.
     *
     * @param server how to name the server in messages (no password)
     * @throws ConfigException if the server rejects the credentials
     */
    static RespConnection open(Socket socket, String server, String user, String password) throws IOException {
        RespConnection c = new RespConnection(socket, server);
        try {
            if (password != null) {
                Object reply = user != null ? c.call("AUTH", user, password) : c.call("AUTH", password);
                if (reply instanceof Error e) {
                    throw new ConfigException("authentication to " + server + " failed: "
                            + (password.isEmpty() ? e.message() : e.message().replace(password, "****"))
                            + "; check the user and the password");
                }
            }
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** Sends one command and reads its reply. */
    Object call(String... args) throws IOException {
        ReplicationSnapshot.send(out, args);
        return read(0);
    }

    private Object read(int depth) throws IOException {
        String line = ReplicationSnapshot.readLine(in);
        if (line.isEmpty()) {
            throw malformed("an empty line");
        }
        String rest = line.substring(1);
        switch (line.charAt(0)) {
            case '+':
                return rest;
            case '-':
                return new Error(rest);
            case ':':
                return number(rest);
            case '$': {
                long len = number(rest);
                if (len < 0) {
                    return null;
                }
                if (len > MAX_BULK) {
                    throw malformed("a string of " + len + " bytes");
                }
                byte[] data = in.readNBytes((int) len + 2);
                if (data.length != len + 2) {
                    throw new DrException(ErrorCode.TARGET, server + " closed the connection mid-reply", null, true);
                }
                return new String(data, 0, (int) len, StandardCharsets.UTF_8);
            }
            case '*': {
                long n = number(rest);
                if (n < 0) {
                    return null;
                }
                if (n > MAX_ITEMS || depth >= MAX_DEPTH) {
                    throw malformed("an array of " + n + " items at depth " + depth);
                }
                List<Object> items = new ArrayList<>((int) Math.min(n, 1024));
                for (long i = 0; i < n; i++) {
                    items.add(read(depth + 1));
                }
                return items;
            }
            default:
                throw malformed("'" + (line.length() > 40 ? line.substring(0, 40) + "..." : line) + "'");
        }
    }

    private long number(String text) {
        try {
            return Long.parseLong(text);
        } catch (NumberFormatException e) {
            throw malformed("'" + text + "' where a number belongs");
        }
    }

    private DrException malformed(String what) {
        return new DrException(ErrorCode.TARGET, server + " sent " + what + ", which is not a valid reply");
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing was pending on it
        }
    }
}
