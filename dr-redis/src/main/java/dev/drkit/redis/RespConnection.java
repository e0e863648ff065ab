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
 * A plain RESP2 connection for a few commands (cluster discovery), without the start-up cost of a
 * Lettuce client. Replies: bulk strings as {@code byte[]}, simple strings as {@link String},
 * integers as {@link Long}, arrays as {@link List}, nil as null; an error reply throws. Replies
 * are read strictly with bounded sizes. Not thread-safe.
 */
final class RespConnection implements AutoCloseable {
    private static final int MAX_BULK = 64 << 20;
    private static final int MAX_ITEMS = 1 << 20;
    private static final int MAX_DEPTH = 8;

    private final RedisEndpoint endpoint;
    private final Socket socket;
    private final OutputStream out;
    private final InputStream in;

    private RespConnection(RedisEndpoint endpoint, Socket socket) throws IOException {
        this.endpoint = endpoint;
        this.socket = socket;
        this.out = socket.getOutputStream();
        this.in = new BufferedInputStream(socket.getInputStream(), 1 << 16);
    }

    /** Connects and logs in with the endpoint's user and password. */
    static RespConnection open(RedisEndpoint endpoint) throws IOException {
        Socket socket = endpoint.openSocket();
        RespConnection c = new RespConnection(endpoint, socket);
        try {
            if (endpoint.password() != null) {
                try {
                    if (endpoint.user() != null) {
                        c.call("AUTH", endpoint.user(), endpoint.password());
                    } else {
                        c.call("AUTH", endpoint.password());
                    }
                } catch (RespError e) {
                    throw new ConfigException("authentication to " + endpoint + " failed: " + e.getMessage()
                            + "; check the user and the password file");
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

    /** The reply of a command that answers with a bulk string, as text. */
    String text(String... args) throws IOException {
        Object reply = call(args);
        if (reply instanceof byte[] b) {
            return new String(b, StandardCharsets.UTF_8);
        }
        if (reply instanceof String s) {
            return s;
        }
        throw new DrException(ErrorCode.TARGET, endpoint + " answered " + args[0] + " with no text");
    }

    private Object read(int depth) throws IOException {
        String line = ReplicationSnapshot.readLine(in);
        if (line.isEmpty()) {
            throw protocol("an empty line");
        }
        String rest = line.substring(1);
        return switch (line.charAt(0)) {
            case '+' -> rest;
            case '-' -> throw new RespError(endpoint.redact(rest));
            case ':' -> parse(rest);
            case '$' -> bulk(parse(rest));
            case '*' -> array(parse(rest), depth);
            default -> throw protocol("'" + (line.length() > 40 ? line.substring(0, 40) : line) + "'");
        };
    }

    private byte[] bulk(long len) throws IOException {
        if (len < 0) {
            return null;
        }
        if (len > MAX_BULK) {
            throw protocol("a string of " + len + " bytes");
        }
        byte[] data = in.readNBytes((int) len + 2);
        if (data.length != len + 2 || data[(int) len] != '\r' || data[(int) len + 1] != '\n') {
            throw protocol("a truncated string");
        }
        byte[] value = new byte[(int) len];
        System.arraycopy(data, 0, value, 0, (int) len);
        return value;
    }

    private List<Object> array(long n, int depth) throws IOException {
        if (n < 0) {
            return null;
        }
        if (n > MAX_ITEMS || depth >= MAX_DEPTH) {
            throw protocol("an array too large or too deep");
        }
        List<Object> items = new ArrayList<>((int) n);
        for (long i = 0; i < n; i++) {
            items.add(read(depth + 1));
        }
        return items;
    }

    private long parse(String digits) {
        try {
            return Long.parseLong(digits);
        } catch (NumberFormatException e) {
            throw protocol("'" + digits + "' where a number belongs");
        }
    }

    private DrException protocol(String what) {
        return new DrException(ErrorCode.TARGET, endpoint + " sent " + what + ", not a valid reply", null, true);
    }

    @Override
    public void close() throws IOException {
        socket.close();
    }

    @Override
    public String toString() {
        return endpoint.toString();
    }

    /** An error reply from the server (its text, password removed). */
    static final class RespError extends DrException {
        private static final long serialVersionUID = 1L;

        RespError(String message) {
            super(ErrorCode.TARGET, message);
        }
    }
}
