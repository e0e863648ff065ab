package dev.drkit.redis;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Objects;

/**
 * The CRC-64 Redis puts at the end of RDB files and DUMP payloads: Jones polynomial
 * (reflected {@code 0x95AC9329AC4BC9B5}), initial value 0, no final xor; {@code "123456789"}
 * gives {@code 0xE9C6D914C4B8D9CA}. Slice-by-16 (two 8-byte loads, sixteen table look-ups per
 * 16 bytes), so that checking a snapshot keeps up with the network on one core.
 */
final class Crc64 {
    private static final long POLY = 0x95AC9329AC4BC9B5L;
    private static final int SLICES = 16;
    /** Table {@code t} (0 to 15) at {@code t * 256}: the CRC of a byte followed by {@code t} zero bytes. */
    private static final long[] TABLE = new long[SLICES * 256];
    /**
     * Bytes per call of {@link #block}. The JIT compiles a method once it has been called often
     * enough: a short block is called thousands of times in the first megabytes, so the loop
     * runs compiled almost from the start, while one long loop per buffer would run in the
     * interpreter for most of a short backup (the CLI starts with raised compile thresholds).
     */
    private static final int BLOCK = 256;

    private static final VarHandle LONG_LE =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    static {
        for (int n = 0; n < 256; n++) {
            TABLE[n] = bitwise(0, new byte[] {(byte) n}, 0, 1);
        }
        for (int t = 1; t < SLICES; t++) {
            for (int n = 0; n < 256; n++) {
                long prev = TABLE[(t - 1) * 256 + n];
                TABLE[t * 256 + n] = (prev >>> 8) ^ TABLE[(int) (prev & 0xFF)];
            }
        }
    }

    private Crc64() {}

    /** Continues {@code crc} over {@code len} bytes of {@code b} from {@code off}. */
    static long update(long crc, byte[] b, int off, int len) {
        Objects.checkFromIndexSize(off, len, b.length);
        int i = off;
        int end = off + len;
        for (; end - i >= BLOCK; i += BLOCK) {
            crc = block(crc, b, i, i + BLOCK);
        }
        return block(crc, b, i, end);
    }

    static long of(byte[] b, int off, int len) {
        return update(0, b, off, len);
    }

    private static long block(long crc, byte[] b, int from, int to) {
        long[] t = TABLE;
        int i = from;
        for (; to - i >= SLICES; i += SLICES) {
            long x = crc ^ (long) LONG_LE.get(b, i);
            long y = (long) LONG_LE.get(b, i + 8);
            crc = t[15 * 256 + (int) (x & 0xFF)]
                    ^ t[14 * 256 + (int) ((x >>> 8) & 0xFF)]
                    ^ t[13 * 256 + (int) ((x >>> 16) & 0xFF)]
                    ^ t[12 * 256 + (int) ((x >>> 24) & 0xFF)]
                    ^ t[11 * 256 + (int) ((x >>> 32) & 0xFF)]
                    ^ t[10 * 256 + (int) ((x >>> 40) & 0xFF)]
                    ^ t[9 * 256 + (int) ((x >>> 48) & 0xFF)]
                    ^ t[8 * 256 + (int) (x >>> 56)]
                    ^ t[7 * 256 + (int) (y & 0xFF)]
                    ^ t[6 * 256 + (int) ((y >>> 8) & 0xFF)]
                    ^ t[5 * 256 + (int) ((y >>> 16) & 0xFF)]
                    ^ t[4 * 256 + (int) ((y >>> 24) & 0xFF)]
                    ^ t[3 * 256 + (int) ((y >>> 32) & 0xFF)]
                    ^ t[2 * 256 + (int) ((y >>> 40) & 0xFF)]
                    ^ t[256 + (int) ((y >>> 48) & 0xFF)]
                    ^ t[(int) (y >>> 56)];
        }
        for (; i < to; i++) {
            crc = t[(int) ((crc ^ b[i]) & 0xFF)] ^ (crc >>> 8);
        }
        return crc;
    }

    /**
     * The definition, one bit at a time: the reference the tables are built from and that the
     * tests compare the sliced loop with.
     */
    static long bitwise(long crc, byte[] b, int off, int len) {
        for (int i = off; i < off + len; i++) {
            crc ^= b[i] & 0xFF;
            for (int k = 0; k < 8; k++) {
                crc = (crc & 1) != 0 ? (crc >>> 1) ^ POLY : crc >>> 1;
            }
        }
        return crc;
    }
}
