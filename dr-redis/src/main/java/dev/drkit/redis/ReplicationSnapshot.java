package dev.drkit.redis;

import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import java.io.BufferedInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Takes a point-in-time RDB from a Redis server over the replication protocol, the way
 * {@code redis-cli --rdb} does, without access to the server's disk: {@code REPLCONF capa eof},
 * {@code INFO} (version and role, on the same connection: a separate client would cost more
 * start-up than the whole snapshot of a small server), {@code REPLCONF rdb-only 1} (Redis 7+; older servers ignore it), {@code PSYNC ? -1} (which
 * yields the replication id and offset the snapshot corresponds to), then the payload in
 * either form: {@code $<length>} (disk-based) or {@code $EOF:<40-byte mark>} (diskless). The
 * bytes stream straight to the given output while being parsed, so the snapshot is proven
 * complete (structure, CRC-64) by the time the transfer ends.
 */
final class ReplicationSnapshot {
    /** How the transfer went and what the snapshot holds. */
    record Result(
            RdbParser.Summary summary,
            String replicationId,
            long replicationOffset,
            boolean diskless,
            Map<String, String> server) {}

    private ReplicationSnapshot() {}

    /** Told what the snapshot holds while it streams (values included). */
    interface Listener extends RdbParser.Visitor, RdbParser.FunctionListener, RdbParser.VersionListener {}

    static Result take(RedisEndpoint endpoint, OutputStream artifact) throws IOException {
        return take(endpoint, artifact, null);
    }

    /**
     * Takes a snapshot; its bytes go to {@code artifact} (when not null) and its entries to
     * {@code listener} (when not null).
     */
    static Result take(RedisEndpoint endpoint, OutputStream artifact, Listener listener) throws IOException {
        return take(endpoint, artifact, listener, null);
    }

    /** Takes a snapshot; its bytes go to {@code artifact}, and each key's hash slot to {@code slots}. */
    static Result takeKeySlots(RedisEndpoint endpoint, OutputStream artifact, RdbParser.KeySlots slots)
            throws IOException {
        return take(endpoint, artifact, null, slots);
    }

    private static Result take(
            RedisEndpoint endpoint, OutputStream artifact, Listener listener, RdbParser.KeySlots slots)
            throws IOException {
        try (Socket socket = endpoint.openSocket()) {
            // a server that sends nothing (up to setting 'timeout'), trickles its bytes or stops
            // reading would otherwise hold a stopped backup
            return RedisEndpoint.interruptibly(
                    socket,
                    "waiting for " + endpoint + " during the snapshot",
                    () -> transfer(socket, endpoint, artifact, listener, slots));
        } catch (SocketTimeoutException e) {
            throw new DrException(
                    ErrorCode.TARGET,
                    endpoint + " sent nothing for " + endpoint.timeout().toSeconds()
                            + " s during the snapshot; check the server's log (fork or disk problems) or raise "
                            + "setting 'timeout'",
                    e,
                    true);
        }
    }

    private static Result transfer(
            Socket socket, RedisEndpoint endpoint, OutputStream artifact, Listener listener, RdbParser.KeySlots slots)
            throws IOException {
        OutputStream out = socket.getOutputStream();
        HandshakeInput in = new HandshakeInput(socket.getInputStream());
        if (endpoint.password() != null) {
            String reply = endpoint.user() != null
                    ? call(out, in, "AUTH", endpoint.user(), endpoint.password())
                    : call(out, in, "AUTH", endpoint.password());
            if (reply.startsWith("-")) {
                throw new ConfigException("authentication to " + endpoint + " failed: " + endpoint.redact(reply)
                        + "; check the user and the password file");
            }
        }
        Map<String, String> server = info(out, in, endpoint);
        String capa = call(out, in, "REPLCONF", "capa", "eof", "capa", "psync2");
        if (capa.startsWith("-")) {
            throw refused(endpoint, "REPLCONF", capa);
        }
        call(out, in, "REPLCONF", "rdb-only", "1"); // Redis 7+: the server closes after the RDB
        send(out, "PSYNC", "?", "-1");
        long asked = System.nanoTime();
        String full = readLineSkippingKeepalives(in, endpoint, asked);
        if (!full.startsWith("+FULLRESYNC")) {
            throw refused(endpoint, "PSYNC", full);
        }
        String[] parts = full.split(" ");
        String replId = parts.length > 1 ? parts[1] : null;
        long offset = parts.length > 2 ? number(parts[2], Long.MAX_VALUE, endpoint, "replication offset") : -1;
        String header = readLineSkippingKeepalives(in, endpoint, asked);
        if (!header.startsWith("$")) {
            throw new DrException(
                    ErrorCode.TARGET, endpoint + " sent '" + abbreviate(header) + "' instead of a snapshot");
        }
        if (header.startsWith("$EOF:")) {
            byte[] mark = header.substring(5).getBytes(StandardCharsets.ISO_8859_1);
            if (mark.length != 40) {
                throw new DrException(
                        ErrorCode.TARGET, endpoint + " sent a malformed end mark for a diskless transfer");
            }
            RdbParser parser = parser(in.rest(), artifact, "the snapshot from " + endpoint, listener, slots);
            RdbParser.Summary summary = parse(parser, listener);
            byte[] tail = parser.readAfter(40);
            if (!Arrays.equals(tail, mark)) {
                throw new CorruptDataException("the snapshot from " + endpoint + " does not end with the transfer's "
                        + "end mark: the RDB and the stream disagree; take the backup again");
            }
            return new Result(summary, replId, offset, true, server);
        }
        long length = number(header.substring(1).trim(), Long.MAX_VALUE, endpoint, "snapshot length");
        BoundedInput bounded = new BoundedInput(in.rest(), length);
        RdbParser.Summary summary =
                parse(parser(bounded, artifact, "the snapshot from " + endpoint, listener, slots), listener);
        if (summary.bytes != length) {
            throw new CorruptDataException("the snapshot from " + endpoint + " announced " + length
                    + " bytes but its RDB ended after " + summary.bytes);
        }
        return new Result(summary, replId, offset, false, server);
    }

    private static RdbParser parser(
            InputStream in, OutputStream copy, String source, Listener listener, RdbParser.KeySlots slots) {
        RdbParser parser = new RdbParser(in, copy, source, listener != null, listener != null);
        if (listener != null) {
            parser.onFunctions(listener);
        }
        return parser.onKeySlots(slots);
    }

    private static RdbParser.Summary parse(RdbParser parser, Listener listener) throws IOException {
        return listener == null ? parser.parse(null) : parser.parse(listener, listener);
    }

    /** {@code INFO server} and {@code INFO replication} as fields. */
    private static Map<String, String> info(OutputStream out, InputStream in, RedisEndpoint endpoint)
            throws IOException {
        Map<String, String> fields = new LinkedHashMap<>();
        for (String section : new String[] {"server", "replication"}) {
            send(out, "INFO", section);
            String header = readLine(in);
            if (!header.startsWith("$")) {
                throw new DrException(ErrorCode.TARGET, endpoint + " refused INFO: " + endpoint.redact(header));
            }
            int len = (int) number(header.substring(1), INFO_MAX, endpoint, "INFO reply length");
            byte[] body = in.readNBytes(len + 2);
            for (String line : new String(body, 0, Math.min(len, body.length), StandardCharsets.UTF_8).split("\r?\n")) {
                int colon = line.indexOf(':');
                if (colon > 0 && !line.startsWith("#")) {
                    fields.put(
                            line.substring(0, colon), line.substring(colon + 1).trim());
                }
            }
        }
        return fields;
    }

    /** INFO of one section is a few KiB; a longer reply is not one a server sends. */
    static final int INFO_MAX = 1 << 20;

    /** A number the server sent, from 0 to {@code max}; anything else is a malformed reply, said as such. */
    static long number(String text, long max, RedisEndpoint endpoint, String what) {
        long n;
        try {
            n = Long.parseLong(text);
        } catch (NumberFormatException e) {
            n = -1;
        }
        if (n < 0 || n > max) {
            throw new DrException(
                    ErrorCode.TARGET,
                    endpoint + " sent a malformed " + what + " ('" + abbreviate(text) + "'); is it a Redis server?");
        }
        return n;
    }

    private static DrException refused(RedisEndpoint endpoint, String command, String reply) {
        String message = endpoint + " refused " + command + ": " + endpoint.redact(reply)
                + "; the user needs the replication permissions (+psync +replconf, or +@admin) to take snapshots";
        return SnapshotRefusedException.forbids(reply)
                ? new SnapshotRefusedException(message, command + ": " + endpoint.redact(reply.substring(1)))
                : new DrException(ErrorCode.TARGET, message);
    }

    private static String call(OutputStream out, InputStream in, String... args) throws IOException {
        send(out, args);
        return readLine(in);
    }

    static void send(OutputStream out, String... args) throws IOException {
        StringBuilder b = new StringBuilder("*").append(args.length).append("\r\n");
        for (String a : args) {
            b.append('$')
                    .append(a.getBytes(StandardCharsets.UTF_8).length)
                    .append("\r\n")
                    .append(a)
                    .append("\r\n");
        }
        out.write(b.toString().getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    /**
     * The next line that is not a keepalive (a bare newline, which a server sends while it saves
     * the snapshot); keepalives end the wait once setting {@code snapshot-start-timeout} has passed
     * since {@code asked}, or once this thread is interrupted (a socket read is not ended by an
     * interrupt, and the save of a large data set takes minutes: a backup stopped by a signal
     * would otherwise outlast its grace period, and leave its lock behind).
     */
    static String readLineSkippingKeepalives(InputStream in, RedisEndpoint endpoint, long asked) throws IOException {
        while (true) {
            String line = readLine(in);
            if (!line.isEmpty()) {
                return line;
            }
            if (Thread.currentThread().isInterrupted()) {
                throw new InterruptedIOException(
                        "interrupted while waiting for " + endpoint + " to start sending the snapshot");
            }
            if (System.nanoTime() - asked > endpoint.snapshotStart().toNanos()) {
                throw new DrException(
                        ErrorCode.TARGET,
                        endpoint + " has not started sending the snapshot "
                                + endpoint.snapshotStart().toSeconds()
                                + " s after it was asked for one (it sends only keepalives: a save that does not "
                                + "end?); look at its log, or give it more time with setting "
                                + "'snapshot-start-timeout'");
            }
        }
    }

    static String readLine(InputStream in) throws IOException {
        StringBuilder b = new StringBuilder();
        while (true) {
            int c = in.read();
            if (c < 0) {
                throw new DrException(
                        ErrorCode.TARGET,
                        "the server closed the connection"
                                + (b.length() > 0 ? " after '" + abbreviate(b.toString()) + "'" : ""),
                        null,
                        true);
            }
            if (c == '\n') {
                int len = b.length();
                if (len > 0 && b.charAt(len - 1) == '\r') {
                    b.setLength(len - 1);
                }
                return b.toString();
            }
            if (b.length() < 4096) {
                b.append((char) c);
            }
        }
    }

    private static String abbreviate(String s) {
        return s.length() > 120 ? s.substring(0, 120) + "..." : s;
    }

    /**
     * Buffers the replies of the handshake, read a byte at a time; the snapshot that follows is
     * read past the buffer, straight from the socket into the parser's own buffer: no second
     * copy of every byte, and none of the {@code available()} calls (a system call each) that a
     * buffered stream makes on every read.
     */
    private static final class HandshakeInput extends BufferedInputStream {
        HandshakeInput(InputStream socket) {
            super(socket, 1 << 16);
        }

        /** What follows the bytes consumed so far: those read ahead, then the socket. Ends this stream's use. */
        InputStream rest() {
            InputStream readAhead = new ByteArrayInputStream(buf, pos, count - pos);
            return new SequenceInputStream(readAhead, in);
        }
    }

    /** At most {@code remaining} bytes of the underlying stream. */
    private static final class BoundedInput extends InputStream {
        private final InputStream in;
        private long remaining;

        BoundedInput(InputStream in, long remaining) {
            this.in = in;
            this.remaining = remaining;
        }

        @Override
        public int read() throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int b = in.read();
            if (b >= 0) {
                remaining--;
            }
            return b;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (remaining <= 0) {
                return -1;
            }
            int n = in.read(b, off, (int) Math.min(len, remaining));
            if (n > 0) {
                remaining -= n;
            }
            return n;
        }
    }
}
