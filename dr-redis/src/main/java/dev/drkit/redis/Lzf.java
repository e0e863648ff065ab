package dev.drkit.redis;

import dev.drkit.CorruptDataException;

/** LZF decompression, for the compressed strings (keys, aux fields) of RDB files. */
final class Lzf {
    private Lzf() {}

    static byte[] decompress(byte[] in, int plainLength, String source) {
        byte[] out = new byte[plainLength];
        int ip = 0;
        int op = 0;
        try {
            while (ip < in.length) {
                int ctrl = in[ip++] & 0xFF;
                if (ctrl < 32) { // literal run of ctrl + 1 bytes
                    int run = ctrl + 1;
                    System.arraycopy(in, ip, out, op, run);
                    ip += run;
                    op += run;
                } else { // back reference
                    int len = ctrl >> 5;
                    if (len == 7) {
                        len += in[ip++] & 0xFF;
                    }
                    int ref = op - ((ctrl & 0x1F) << 8) - 1 - (in[ip++] & 0xFF);
                    if (ref < 0) {
                        throw new CorruptDataException(source + " is corrupt: LZF back reference before the start");
                    }
                    for (int i = 0; i < len + 2; i++) {
                        out[op++] = out[ref++];
                    }
                }
            }
        } catch (ArrayIndexOutOfBoundsException e) {
            throw new CorruptDataException(source + " is corrupt: an LZF string does not decompress to its length");
        }
        if (op != plainLength) {
            throw new CorruptDataException(
                    source + " is corrupt: an LZF string decompresses to " + op + " bytes, not " + plainLength);
        }
        return out;
    }
}
