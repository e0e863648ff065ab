package dev.drkit.redis;

import dev.drkit.CorruptDataException;

/**
 * Strict walk over a listpack, the blob behind listpack-encoded values: a 6-byte header (total
 * bytes and element count, little-endian), entries (an encoding byte, the data, and a back
 * length that encodes the size of the two), and a 0xFF terminator at exactly the last byte.
 * Every size is checked against the blob before it is used, so a damaged blob fails here with a
 * message instead of misleading the caller.
 */
final class Listpack {
    /** The element count a header holds when the real count does not fit in 16 bits. */
    static final int COUNT_UNKNOWN = 0xFFFF;

    private static final int HEADER = 6;
    private static final int EOF = 0xFF;

    /** Receives each entry in order: a string, or an integer with its value. */
    interface Entries {
        void entry(long index, boolean integer, long value, byte[] lp, int dataOff, int dataLen);
    }

    private Listpack() {}

    /**
     * Walks every entry of {@code lp}.
     *
     * @param what what the blob is, for messages (e.g. {@code dump.rdb: the listpack of a hash})
     * @return the number of entries
     * @throws CorruptDataException when any size, encoding or the terminator is wrong
     */
    static long walk(byte[] lp, String what, Entries entries) {
        if (lp.length < HEADER + 1) {
            throw corrupt(what, "it is " + lp.length + " bytes, shorter than an empty listpack");
        }
        long total = u32(lp, 0);
        if (total != lp.length) {
            throw corrupt(what, "its header gives " + total + " bytes but it holds " + lp.length);
        }
        int declared = (lp[4] & 0xFF) | (lp[5] & 0xFF) << 8;
        int end = lp.length - 1;
        if ((lp[end] & 0xFF) != EOF) {
            throw corrupt(what, "it does not end with the 0xFF terminator");
        }
        int p = HEADER;
        long count = 0;
        while (p < end) {
            int b = lp[p] & 0xFF;
            if (b == EOF) {
                throw corrupt(what, "a terminator at byte " + p + " comes before the end (byte " + end + ")");
            }
            int head;
            long dataLen;
            boolean integer = true;
            long value = 0;
            if ((b & 0x80) == 0) {
                head = 1;
                dataLen = 0;
                value = b & 0x7F;
            } else if ((b & 0xC0) == 0x80) {
                head = 1;
                dataLen = b & 0x3F;
                integer = false;
            } else if ((b & 0xE0) == 0xC0) {
                head = 2;
                dataLen = 0;
                need(p, 2, end, what);
                int v = ((b & 0x1F) << 8) | (lp[p + 1] & 0xFF);
                value = v >= 1 << 12 ? v - (1 << 13) : v;
            } else if ((b & 0xF0) == 0xE0) {
                head = 2;
                need(p, 2, end, what);
                dataLen = ((b & 0x0F) << 8) | (lp[p + 1] & 0xFF);
                integer = false;
            } else if (b == 0xF0) {
                head = 5;
                need(p, 5, end, what);
                dataLen = u32(lp, p + 1);
                integer = false;
            } else if (b >= 0xF1 && b <= 0xF4) {
                int bytes = b == 0xF1 ? 2 : b == 0xF2 ? 3 : b == 0xF3 ? 4 : 8;
                head = 1 + bytes;
                dataLen = 0;
                need(p, head, end, what);
                long v = 0;
                for (int i = 0; i < bytes; i++) {
                    v |= (lp[p + 1 + i] & 0xFFL) << (8 * i);
                }
                int shift = 64 - 8 * bytes;
                value = (v << shift) >> shift; // sign-extend
            } else {
                throw corrupt(what, "entry " + count + " has the unknown encoding byte 0x" + Integer.toHexString(b));
            }
            long entryLen = head + dataLen;
            int backlen = backlenSize(entryLen);
            need(p, entryLen + backlen, end, what);
            int dataOff = p + head;
            if (!backlenMatches(lp, (int) (p + entryLen), backlen, entryLen)) {
                throw corrupt(what, "entry " + count + " has a back length that does not match its size");
            }
            entries.entry(count, integer, value, lp, dataOff, (int) dataLen);
            count++;
            p += (int) (entryLen + backlen);
        }
        if (declared != COUNT_UNKNOWN && declared != count) {
            throw corrupt(what, "its header counts " + declared + " entries but it holds " + count);
        }
        return count;
    }

    /** The size of the back length that follows an entry of {@code len} bytes (as listpack.c encodes it). */
    static int backlenSize(long len) {
        if (len <= 127) {
            return 1;
        } else if (len < 16383) {
            return 2;
        } else if (len < 2097151) {
            return 3;
        } else if (len < 268435455) {
            return 4;
        }
        return 5;
    }

    /** Writes the back length of an entry of {@code len} bytes into {@code out} at {@code off}; returns its size. */
    static int encodeBacklen(long len, byte[] out, int off) {
        int n = backlenSize(len);
        // the first byte holds the highest 7-bit group; the others carry the continuation bit
        for (int i = 0; i < n; i++) {
            int group = (int) ((len >>> (7 * (n - 1 - i))) & 127);
            out[off + i] = (byte) (i == 0 ? group : group | 128);
        }
        return n;
    }

    private static boolean backlenMatches(byte[] lp, int off, int size, long len) {
        byte[] expected = new byte[5];
        encodeBacklen(len, expected, 0);
        for (int i = 0; i < size; i++) {
            if (lp[off + i] != expected[i]) {
                return false;
            }
        }
        return true;
    }

    private static void need(int p, long bytes, int end, String what) {
        if (p + bytes > end) {
            throw corrupt(what, "an entry at byte " + p + " runs past the end of the listpack");
        }
    }

    private static long u32(byte[] b, int off) {
        return (b[off] & 0xFFL) | (b[off + 1] & 0xFFL) << 8 | (b[off + 2] & 0xFFL) << 16 | (b[off + 3] & 0xFFL) << 24;
    }

    private static CorruptDataException corrupt(String what, String why) {
        return new CorruptDataException(what + " is corrupt: " + why);
    }
}
