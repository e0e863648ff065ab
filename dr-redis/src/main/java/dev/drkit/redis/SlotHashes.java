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
        int whole = 0;
        int tag = 0;
        int tagLength = 0;
        int state = 0;
        for (byte value : key) {
            int c = value & 0xFF;
            whole = (whole << 8) ^ CRC16[((whole >>> 8) ^ c) & 0xFF];
            if (state == 1) {
                if (c == '}') {
                    state = 2;
                } else {
                    tag = (tag << 8) ^ CRC16[((tag >>> 8) ^ c) & 0xFF];
                    tagLength++;
                }
            } else if (state == 0 && c == '{') {
                state = 1;
            }
        }
        return (state == 2 && tagLength > 0 ? tag : whole) & 0x3FFF;
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
