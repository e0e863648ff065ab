package dev.drkit.internal.pipeline;

import dev.drkit.ConfigException;
import dev.drkit.spi.support.Sha256;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * Cuts the bytes written into it into content-defined chunks (FastCDC: a gear rolling hash with
 * normalized chunking), so that an edit in one place of an artifact changes only the chunks
 * around it and the rest deduplicate against earlier backups.
 *
 * <p>The cut points are part of the repository format in practice (a different cut means no
 * deduplication against chunks stored by an earlier version), so they are defined here exactly
 * and pinned by tests:
 *
 * <ul>
 *   <li>{@code GEAR[i]} ({@code i} = 0..255) is the first 8 bytes, read as a big-endian 64-bit
 *       integer, of the SHA-256 of the ASCII text {@code drkit-cdc-gear-v1/} followed by
 *       {@code i} in decimal; {@code printf 'drkit-cdc-gear-v1/%d' 0 | sha256sum | cut -c1-16}
 *       prints {@code GEAR[0]} = {@code b025cf441e12368c}.
 *   <li>With {@code avg = 2^k}, {@code MASK_S} has the top {@code k + 2} bits of a 64-bit word
 *       set and {@code MASK_L} the top {@code k - 2} bits (normalization level 2; the top bits of
 *       a gear hash depend on the last 64 bytes, the bottom ones only on the last few).
 *   <li>A chunk starts where the previous one ended. Its first {@code min} bytes are not hashed.
 *       From the byte at index {@code min} on, {@code h = (h << 1) + GEAR[byte]} (mod 2^64,
 *       starting from {@code h = 0}); the chunk ends after the byte at index {@code j} when
 *       {@code (h & MASK_S) == 0} for {@code j < avg}, or {@code (h & MASK_L) == 0} for {@code j
 *       >= avg}, or when it reaches {@code max} bytes. The bytes left at the end of the stream
 *       form the last chunk, which may be shorter than {@code min}.
 * </ul>
 *
 * <p>So every chunk but the last has more than {@code min} and at most {@code max} bytes. The
 * cut points depend only on the bytes, never on how they were split into {@code write} calls or
 * on {@link #flush()}, which cuts nothing.
 *
 * <p>Memory: one buffer that grows to at most {@code max} bytes. Not thread-safe: one writer.
 *
 * <p>A chunker made with a {@link ChunkHandoff} gives each chunk away in the buffer it was cut
 * in and goes on in a new one (from its {@link Buffers}, into which only the bytes after the cut
 * are copied), so that a sink handing chunks to other threads need not copy every byte once more.
 */
public final class ContentDefinedChunker extends OutputStream {

    /**
     * Receives each chunk as soon as it is cut, in stream order, on the writing thread.
     */
    @FunctionalInterface
    public interface ChunkSink {
        /**
         * One chunk: {@code length} bytes of {@code data} from {@code offset}. The array is the
         * chunker's buffer: it is valid only during this call and must not be modified; copy
         * what you keep.
         *
         * @throws IOException to fail the {@code write} or {@code close} that cut the chunk;
         *     the chunker is unusable after that
         */
        void accept(byte[] data, int offset, int length) throws IOException;
    }

    /** Receives each chunk, in stream order, on the writing thread, and keeps the array. */
    @FunctionalInterface
    public interface ChunkHandoff {
        /**
         * One chunk: the first {@code length} bytes of {@code data}. The array is the sink's from
         * now on: the chunker never reads or writes it again (a sink may give it back to the
         * chunker's {@link Buffers} once done with it).
         *
         * @throws IOException to fail the {@code write} or {@code close} that cut the chunk;
         *     the chunker is unusable after that
         */
        void accept(byte[] data, int length) throws IOException;
    }

    /** Where a handing-off chunker takes its buffers from. */
    @FunctionalInterface
    public interface Buffers {
        /** An array of at least {@code atLeast} bytes, no longer used by anyone else; its contents do not matter. */
        byte[] take(int atLeast);
    }

    /**
     * Chunk size bounds in bytes.
     *
     * @param min a chunk (but the last) is longer than this; at least 64, less than {@code avg}
     * @param avg the size where the cut condition loosens (a power of two); the mean chunk
     *     size on incompressible data is close to it
     * @param max a chunk is at most this long; more than {@code avg}, at most 64 MiB. This is
     *     also the most the chunker buffers.
     * @throws ConfigException naming every bound that is out of range
     */
    public record Sizes(int min, int avg, int max) {
        /** The smallest allowed {@code min}: the gear hash window. */
        public static final int MIN_MIN = 64;

        /** The largest allowed {@code max}. */
        public static final int MAX_MAX = 64 << 20;

        /**
         * The defaults, chosen with bench/cdc-params.sh: on a 730 MiB {@code pg_dump -Fc -Z0}
         * archive after 1% of pgbench_accounts rows changed, the new chunks (as zstd -3 frames)
         * took 271 KiB for a range update and 3.3 MiB for a scattered one, about what restic
         * adds (284 KiB, 3.4 MiB), in 529 chunks; avg 256 KiB saved more on the range update
         * (81 KiB) with four times the chunks (index and manifest entries), avg 2 MiB lost
         * (662 KiB). A larger min or max changed nothing measurable but memory.
         */
        public static final Sizes DEFAULT = new Sizes(256 << 10, 1 << 20, 4 << 20);

        public Sizes {
            List<String> problems = new ArrayList<>();
            if (min < MIN_MIN) {
                problems.add("chunk min size " + min + " is below " + MIN_MIN + " bytes");
            }
            if (avg <= 0 || Integer.bitCount(avg) != 1) {
                problems.add("chunk avg size " + avg + " is not a power of two (e.g. 1048576)");
            }
            if (avg <= min) {
                problems.add("chunk avg size " + avg + " must be larger than min size " + min);
            }
            if (max <= avg) {
                problems.add("chunk max size " + max + " must be larger than avg size " + avg);
            }
            if (max > MAX_MAX) {
                problems.add("chunk max size " + max + " is above " + MAX_MAX + " bytes (64 MiB)");
            }
            if (!problems.isEmpty()) {
                throw new ConfigException(problems);
            }
        }

        @Override
        public String toString() {
            return "min " + min + ", avg " + avg + ", max " + max;
        }
    }

    private static final long[] GEAR = gearTable();

    private final ChunkHandoff handoff;
    private final Buffers buffers;
    private final int min;
    private final int avg;
    private final int max;
    private final long maskS;
    private final long maskL;

    private byte[] buf;
    private int filled;
    // Where the hash scan of the pending chunk resumes, and the hash there.
    private int scanned;
    private long hash;
    private long chunks;
    private long bytes;
    private boolean closed;
    private boolean broken;

    /**
     * A chunker that hands each chunk to {@code sink}.
     *
     * @param sizes the size bounds, not null
     * @param sink receives the chunks, not null
     */
    public ContentDefinedChunker(Sizes sizes, ChunkSink sink) {
        this(sizes, lend(Objects.requireNonNull(sink, "sink")), byte[]::new);
    }

    /**
     * A chunker that gives each chunk away to {@code handoff} in the buffer it was cut in.
     *
     * @param sizes the size bounds, not null
     * @param handoff receives the chunks, not null
     * @param buffers gives the chunker each new buffer, not null
     */
    public ContentDefinedChunker(Sizes sizes, ChunkHandoff handoff, Buffers buffers) {
        this.handoff = Objects.requireNonNull(handoff, "handoff");
        this.buffers = Objects.requireNonNull(buffers, "buffers");
        this.min = sizes.min();
        this.avg = sizes.avg();
        this.max = sizes.max();
        int bits = Integer.numberOfTrailingZeros(avg);
        this.maskS = -1L << (64 - (bits + 2));
        this.maskL = -1L << (64 - (bits - 2));
        this.buf = newBuffer(initialCapacity());
    }

    @Override
    public void write(int b) throws IOException {
        ensureWritable();
        if (filled == buf.length) {
            grow();
        }
        buf[filled++] = (byte) b;
        bytes++;
        cutAllReady();
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        ensureWritable();
        while (len > 0) {
            if (filled == buf.length) {
                grow();
            }
            int n = Math.min(len, buf.length - filled);
            System.arraycopy(b, off, buf, filled, n);
            filled += n;
            bytes += n;
            off += n;
            len -= n;
            cutAllReady();
        }
    }

    /** Cuts nothing: a chunk ends only where its content says or at the end of the stream. */
    @Override
    public void flush() {}

    /**
     * Hands the bytes not yet cut to the sink as the last chunk (if there are any). Does nothing
     * when called again or after the sink failed.
     */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        if (!broken && filled > 0) {
            emit(filled);
        }
    }

    /** Chunks handed to the sink so far. */
    public long chunkCount() {
        return chunks;
    }

    /** Bytes written so far. */
    public long byteCount() {
        return bytes;
    }

    private void ensureWritable() throws IOException {
        if (closed) {
            throw new IOException("the chunk stream is closed");
        }
        if (broken) {
            throw new IOException("the chunk stream failed earlier; start a new one");
        }
    }

    private void grow() {
        // Only reached below max: a full max-size buffer is always cut.
        byte[] bigger = newBuffer((int) Math.min(max, 2L * buf.length));
        System.arraycopy(buf, 0, bigger, 0, filled);
        buf = bigger;
    }

    private int initialCapacity() {
        return Math.min(max, 1 << 20);
    }

    /** A {@link ChunkSink} as a hand-off: it is lent each chunk, which is then dropped. */
    private static ChunkHandoff lend(ChunkSink sink) {
        return (data, length) -> sink.accept(data, 0, length);
    }

    private byte[] newBuffer(int length) {
        byte[] b = buffers.take(length);
        if (b.length < length) {
            throw new IllegalStateException(
                    "the chunk buffers gave " + b.length + " bytes where " + length + " were asked");
        }
        return b;
    }

    private void cutAllReady() throws IOException {
        int cut;
        while ((cut = findCut()) > 0) {
            emit(cut);
        }
    }

    /** The length of the pending chunk if its end is in the buffer, else 0 (scan state kept). */
    private int findCut() {
        int end = Math.min(filled, max);
        int i = Math.max(scanned, min);
        long h = hash;
        final byte[] b = buf;
        final long[] gear = GEAR;
        final long ms = maskS;
        final long ml = maskL;
        int normalEnd = Math.min(end, avg);
        for (; i < normalEnd; i++) {
            h = (h << 1) + gear[b[i] & 0xff];
            if ((h & ms) == 0) {
                return i + 1;
            }
        }
        for (; i < end; i++) {
            h = (h << 1) + gear[b[i] & 0xff];
            if ((h & ml) == 0) {
                return i + 1;
            }
        }
        if (end == max) {
            return max;
        }
        scanned = i;
        hash = h;
        return 0;
    }

    private void emit(int length) throws IOException {
        byte[] chunk = buf;
        int rest = filled - length;
        // the bytes after the cut go on in a new buffer before the chunk is given away (none
        // after the last one)
        buf = closed ? new byte[rest] : newBuffer(Math.max(rest, initialCapacity()));
        System.arraycopy(chunk, length, buf, 0, rest);
        filled = rest;
        scanned = 0;
        hash = 0;
        try {
            handoff.accept(chunk, length);
        } catch (IOException | RuntimeException | Error e) {
            broken = true;
            throw e;
        }
        chunks++;
    }

    /** {@code GEAR[i]}, for tests that pin the table. */
    static long gear(int i) {
        return GEAR[i];
    }

    private static long[] gearTable() {
        MessageDigest sha = Sha256.newDigest();
        long[] table = new long[256];
        for (int i = 0; i < 256; i++) {
            byte[] d = sha.digest(("drkit-cdc-gear-v1/" + i).getBytes(StandardCharsets.US_ASCII));
            long v = 0;
            for (int k = 0; k < 8; k++) {
                v = (v << 8) | (d[k] & 0xff);
            }
            table[i] = v;
        }
        return table;
    }
}
