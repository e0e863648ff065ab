package dev.drkit.redis;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.Settings;
import java.io.BufferedInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * One plain RESP2 connection for a few commands (Sentinel look-ups, {@code ACL LIST}, role checks,
 * cluster discovery) where a Lettuce client would cost more start-up than the work. Replies come
 * back as {@link String} (simple and bulk strings, UTF-8), {@link Long}, {@link List} (arrays,
 * nested) or null (nil); an error reply throws {@link RespError}. Replies are read strictly, with
 * bounded sizes. The password is used to log in and to keep it out of messages, never printed.
 * Not thread-safe.
 */
final class RespConnection implements AutoCloseable {
    /** Bounds on what a server may send, so that a broken or hostile one cannot exhaust memory. */
    private static final int MAX_BULK = 64 << 20;

    private static final int MAX_ITEMS = 1 << 20;
    private static final int MAX_DEPTH = 8;

    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;
    private final String server;
    private final String password;

    private RespConnection(Socket socket, String server, String password) throws IOException {
        this.socket = socket;
        this.server = server;
        this.password = password;
        this.out = socket.getOutputStream();
        this.in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
    }

    /** Connects to the endpoint's server and logs in with its user and password. */
    static RespConnection open(RedisEndpoint endpoint) throws IOException {
        return open(endpoint.openSocket(), endpoint.toString(), endpoint.user(), endpoint.password());
    }

    /**
     * A connection on an open socket, authenticated with {@code user} (nullable) and {@code password}
     * when a password is given.
     *
     * @param server how to name the server in messages (no password)
     * @throws ConfigException if the server rejects the credentials
     */
    static RespConnection open(Socket socket, String server, String user, String password) throws IOException {
        RespConnection c = new RespConnection(socket, server, password);
        try {
            if (password != null) {
                try {
                    if (user != null) {
                        c.call("AUTH", user, password);
                    } else {
                        c.call("AUTH", password);
                    }
                } catch (RespError e) {
                    throw new ConfigException("authentication to " + server + " failed: " + e.getMessage()
                            + "; check the user and the password (setting 'password-file')");
                }
            }
            return c;
        } catch (IOException | RuntimeException e) {
            c.close();
            throw e;
        }
    }

    /** Sends one command and reads its reply; an error reply throws {@link RespError}. */
    Object call(String... args) throws IOException {
        ReplicationSnapshot.send(out, args);
        return read(0);
    }

    /** The reply of a command that answers with a (bulk or simple) string. */
    String text(String... args) throws IOException {
        if (call(args) instanceof String s) {
            return s;
        }
        throw new DrException(ErrorCode.TARGET, server + " answered " + args[0] + " with no text");
    }

    private Object read(int depth) throws IOException {
        String line = ReplicationSnapshot.readLine(in);
        if (line.isEmpty()) {
            throw malformed("an empty line");
        }
        String rest = line.substring(1);
        return switch (line.charAt(0)) {
            case '+' -> rest;
            case '-' -> throw new RespError(redact(rest));
            case ':' -> number(rest);
            case '$' -> bulk(number(rest));
            case '*' -> array(number(rest), depth);
            default -> throw malformed("'" + (line.length() > 40 ? line.substring(0, 40) + "..." : line) + "'");
        };
    }

    private String bulk(long len) throws IOException {
        if (len < 0) {
            return null;
        }
        if (len > MAX_BULK) {
            throw malformed("a string of " + len + " bytes");
        }
        byte[] data = in.readNBytes((int) len + 2);
        if (data.length != len + 2 || data[(int) len] != '\r' || data[(int) len + 1] != '\n') {
            throw new DrException(
                    ErrorCode.TARGET,
                    server + " sent a truncated string (the connection closed mid-reply?), not a valid reply",
                    null,
                    true);
        }
        return new String(data, 0, (int) len, StandardCharsets.UTF_8);
    }

    private List<Object> array(long n, int depth) throws IOException {
        if (n < 0) {
            return null;
        }
        if (n > MAX_ITEMS || depth >= MAX_DEPTH) {
            throw malformed("an array of " + n + " items at depth " + depth + " (too large or too deep: at most "
                    + MAX_ITEMS + " items, " + MAX_DEPTH + " levels)");
        }
        List<Object> items = new ArrayList<>((int) Math.min(n, 1024));
        for (long i = 0; i < n; i++) {
            items.add(read(depth + 1));
        }
        return items;
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

    private String redact(String text) {
        return Settings.mask(text, password);
    }

    @Override
    public void close() {
        try {
            socket.close();
        } catch (IOException ignored) {
            // nothing was pending on it
        }
    }

    /** The server, as messages name it (no password). */
    @Override
    public String toString() {
        return server;
    }

    /** An error reply from the server, e.g. {@code NOPERM this user has no permissions ...} (password removed). */
    static final class RespError extends DrException {
        private static final long serialVersionUID = 1L;

        RespError(String message) {
            super(ErrorCode.TARGET, message);
        }

        /** The server does not know the command or subcommand (an older version, or renamed away). */
        boolean unknownCommand() {
            String m = String.valueOf(getMessage()).toLowerCase(Locale.ROOT);
            return m.contains("unknown command")
                    || m.contains("unknown subcommand")
                    || m.contains("unknown sentinel subcommand");
        }

        /** The server wants a login first ({@code NOAUTH}). */
        boolean noAuth() {
            return String.valueOf(getMessage()).startsWith("NOAUTH");
        }
    }
}
