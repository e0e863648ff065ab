package dev.drkit.redis;

import java.io.ByteArrayOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.Arrays;

/**
 * Buffered reading of an RDB stream that keeps a CRC-64 of every byte consumed, can copy the
 * consumed bytes to an output (the backup artifact) and can record a span of them (a value's
 * serialized form, for a DUMP payload). Bytes are only counted, copied or recorded once
 * consumed, so bytes read ahead (the end mark of a diskless transfer) never leak into them.
 */
final class RdbInput {
    private final InputStream in;
    private final byte[] buf = new byte[1 << 16];
    /** Reused for every key a cluster snapshot's slot check reads ({@link #slot}). */
    private final SlotHashes.Hasher slots = new SlotHashes.Hasher();

    private int pos;
    private int limit;
    private int flushed;
    private long crc;
    private long consumed;
    private OutputStream copy;
    private ByteArrayOutputStream record;
    private int recordFrom;

    /** A length or size in the stream that cannot be right; the parser reports it as corruption. */
    static final class Malformed extends IOException {
        private static final long serialVersionUID = 1L;

        Malformed(String message) {
            super(message);
        }
    }

    RdbInput(InputStream in, OutputStream copy) {
        this.in = in;
        this.copy = copy;
    }

    /** Bytes consumed so far. */
    long position() {
        return consumed + (pos - flushed);
    }

    private void flushConsumed() throws IOException {
        int n = pos - flushed;
        if (n > 0) {
            crc = Crc64.update(crc, buf, flushed, n);
            if (copy != null) {
                copy.write(buf, flushed, n);
            }
            consumed += n;
        }
        if (record != null && pos > recordFrom) {
            record.write(buf, recordFrom, pos - recordFrom);
        }
        flushed = pos;
        recordFrom = pos;
    }

    /**
     * Makes at least {@code n} (at most the buffer size) bytes available. Small enough for the
     * JIT to inline into every read; the refill, once per buffer, stays a call of its own, so that
     * the compiled parser does not carry a copy of it at every place it reads a byte.
     */
    private void ensure(int n) throws IOException {
        if (limit - pos < n) {
            refill(n);
        }
    }

    private void refill(int n) throws IOException {
        flushConsumed();
        int rest = limit - pos;
        System.arraycopy(buf, pos, buf, 0, rest);
        pos = 0;
        limit = rest;
        flushed = 0;
        recordFrom = 0;
        while (limit < n) {
            int r = in.read(buf, limit, buf.length - limit);
            if (r < 0) {
                throw new EOFException("the RDB stream ends early, after " + (consumed + limit) + " bytes");
            }
            limit += r;
        }
    }

    /** Whether nothing follows what was consumed: no byte buffered, and the stream at its end. */
    boolean atEnd() throws IOException {
        return pos == limit && in.read() < 0;
    }

    int readByte() throws IOException {
        ensure(1);
        return buf[pos++] & 0xFF;
    }

    long readLongLE(int bytes) throws IOException {
        ensure(bytes);
        long v = 0;
        for (int i = 0; i < bytes; i++) {
            v |= (buf[pos + i] & 0xFFL) << (8 * i);
        }
        pos += bytes;
        return v;
    }

    long readLongBE(int bytes) throws IOException {
        ensure(bytes);
        long v = 0;
        for (int i = 0; i < bytes; i++) {
            v = (v << 8) | (buf[pos + i] & 0xFFL);
        }
        pos += bytes;
        return v;
    }

    /**
     * Reads {@code n} bytes. The array grows as the bytes arrive, so a length read from a damaged
     * or hostile file costs memory only for the bytes that are really there.
     */
    byte[] readBytes(long n) throws IOException {
        if (n < 0 || n > Integer.MAX_VALUE - 16) {
            throw new Malformed("a string of " + Long.toUnsignedString(n) + " bytes is too long to hold");
        }
        byte[] out = new byte[(int) Math.min(n, 1 << 20)];
        int done = 0;
        while (done < n) {
            if (done == out.length) {
                out = Arrays.copyOf(out, (int) Math.min(n, 2L * out.length));
            }
            ensure(1);
            int take = Math.min(limit - pos, out.length - done);
            System.arraycopy(buf, pos, out, done, take);
            pos += take;
            done += take;
        }
        return out;
    }

    /**
     * Consumes the {@code n} bytes of a key and returns its Redis Cluster hash slot: the CRC-16
     * (XMODEM) of the key, or of its hash tag (what stands between its first {@code {} and the
     * first {@code }} after it, when that is not empty), modulo 16384. Read in place: no array
     * per key.
     */
    int slot(long n) throws IOException {
        if (n < 0) {
            throw new Malformed("a length of " + Long.toUnsignedString(n) + " is too large");
        }
        SlotHashes.Hasher h = slots;
        h.reset();
        while (n > 0) {
            ensure(1);
            int end = (int) Math.min(limit, pos + n);
            n -= end - pos;
            h.update(buf, pos, end);
            pos = end;
        }
        return h.slot();
    }

    void skip(long n) throws IOException {
        if (n < 0) {
            throw new Malformed("a length of " + Long.toUnsignedString(n) + " is too large");
        }
        while (n > 0) {
            ensure(1);
            int take = (int) Math.min(limit - pos, n);
            pos += take;
            n -= take;
        }
    }

    /** Starts recording consumed bytes. */
    void startRecording() throws IOException {
        flushConsumed();
        record = new ByteArrayOutputStream(64);
        recordFrom = pos;
    }

    /** Stops recording and returns what was consumed since {@link #startRecording()}. */
    byte[] stopRecording() throws IOException {
        flushConsumed();
        byte[] out = record.toByteArray();
        record = null;
        return out;
    }

    /** The CRC-64 of every byte consumed so far. */
    long crc() throws IOException {
        flushConsumed();
        return crc;
    }

    /** Copies what was consumed and stops copying: bytes read after this are not part of the RDB. */
    void finish() throws IOException {
        flushConsumed();
        copy = null;
    }
}
