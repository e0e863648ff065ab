package dev.drkit.redis;

import java.nio.charset.StandardCharsets;

/**
 * Redis Cluster's key hash slots (CRC-16/XMODEM of the key or of its hash tag, modulo 16384),
 * for keys the RDB parser reads in place ({@link RdbInput#slot}) or holds as text. Stateless.
 */
final class SlotHashes {
    /** CRC-16/XMODEM (polynomial 0x1021, initial value 0) by byte; the 16 bits are in the low bits. */
    static final int[] CRC16 = table();

    private SlotHashes() {}

    /** The slot of a key given whole. */
    static int slot(byte[] key) {
        Hasher h = new Hasher();
        h.update(key, 0, key.length);
        return h.slot();
    }

    /**
     * The slot of one key fed in pieces (a key that spans a reader's buffer refills): the CRC-16
     * of the whole key and of its hash tag (what stands between its first {@code {} and the first
     * {@code }} after it), kept side by side as the bytes pass. Reusable after {@link #reset}. Not
     * thread-safe.
     */
    static final class Hasher {
        private int whole;
        private int tag;
        private int tagLength;
        private int state; // 0: no '{' yet; 1: inside the tag; 2: the tag closed

        void reset() {
            whole = 0;
            tag = 0;
            tagLength = 0;
            state = 0;
        }

        void update(byte[] b, int from, int to) {
            int w = whole;
            int t = tag;
            int tl = tagLength;
            int st = state;
            for (int i = from; i < to; i++) {
                int c = b[i] & 0xFF;
                w = (w << 8) ^ CRC16[((w >>> 8) ^ c) & 0xFF];
                if (st == 1) {
                    if (c == '}') {
                        st = 2;
                    } else {
                        t = (t << 8) ^ CRC16[((t >>> 8) ^ c) & 0xFF];
                        tl++;
                    }
                } else if (st == 0 && c == '{') {
                    st = 1;
                }
            }
            whole = w;
            tag = t;
            tagLength = tl;
            state = st;
        }

        /** The slot of the bytes fed since the last reset. */
        int slot() {
            return (state == 2 && tagLength > 0 ? tag : whole) & 0x3FFF;
        }
    }

    /** The slot of a key held as an integer (its decimal text, as the server holds it). */
    static int slot(long integerKey) {
        return slot(Long.toString(integerKey).getBytes(StandardCharsets.US_ASCII));
    }

    private static int[] table() {
        int[] t = new int[256];
        for (int i = 0; i < 256; i++) {
            int crc = i << 8;
            for (int k = 0; k < 8; k++) {
                crc = (crc & 0x8000) != 0 ? (crc << 1) ^ 0x1021 : crc << 1;
            }
            t[i] = crc & 0xFFFF;
        }
        return t;
    }
}
