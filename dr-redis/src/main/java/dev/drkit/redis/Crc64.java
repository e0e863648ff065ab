package dev.drkit.redis;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;

/**
 * The CRC-64 Redis puts at the end of RDB files and DUMP payloads: Jones polynomial
 * (reflected {@code 0x95AC9329AC4BC9B5}), initial value 0, no final xor; {@code "123456789"}
 * gives {@code 0xE9C6D914C4B8D9CA}. Slice-by-8, so that checking a snapshot keeps up with the
 * network.
 */
final class Crc64 {
    private static final long POLY = 0x95AC9329AC4BC9B5L;
    private static final long[][] TABLES = new long[8][256];
    private static final VarHandle LONG_LE =
            MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);

    static {
        for (int n = 0; n < 256; n++) {
            long c = n;
            for (int k = 0; k < 8; k++) {
                c = (c & 1) != 0 ? (c >>> 1) ^ POLY : c >>> 1;
            }
            TABLES[0][n] = c;
        }
        for (int t = 1; t < 8; t++) {
            for (int n = 0; n < 256; n++) {
                long prev = TABLES[t - 1][n];
                TABLES[t][n] = (prev >>> 8) ^ TABLES[0][(int) (prev & 0xFF)];
            }
        }
    }

    private Crc64() {}

    /** Continues {@code crc} over {@code len} bytes of {@code b} from {@code off}. */
    static long update(long crc, byte[] b, int off, int len) {
        long[] t0 = TABLES[0];
        int i = off;
        int end = off + len;
        if (len >= 8) {
            long[] t1 = TABLES[1];
            long[] t2 = TABLES[2];
            long[] t3 = TABLES[3];
            long[] t4 = TABLES[4];
            long[] t5 = TABLES[5];
            long[] t6 = TABLES[6];
            long[] t7 = TABLES[7];
            for (; i + 8 <= end; i += 8) {
                long x = crc ^ (long) LONG_LE.get(b, i);
                crc = t7[(int) (x & 0xFF)]
                        ^ t6[(int) ((x >>> 8) & 0xFF)]
                        ^ t5[(int) ((x >>> 16) & 0xFF)]
                        ^ t4[(int) ((x >>> 24) & 0xFF)]
                        ^ t3[(int) ((x >>> 32) & 0xFF)]
                        ^ t2[(int) ((x >>> 40) & 0xFF)]
                        ^ t1[(int) ((x >>> 48) & 0xFF)]
                        ^ t0[(int) (x >>> 56)];
            }
        }
        for (; i < end; i++) {
            crc = t0[(int) ((crc ^ b[i]) & 0xFF)] ^ (crc >>> 8);
        }
        return crc;
    }

    static long of(byte[] b, int off, int len) {
        return update(0, b, off, len);
    }
}
