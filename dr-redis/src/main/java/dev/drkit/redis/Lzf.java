package dev.drkit.redis;

import dev.drkit.CorruptDataException;
import java.util.Arrays;

/** LZF decompression, for the compressed strings (keys, aux fields) of RDB files. */
final class Lzf {
    private Lzf() {}

    /**
     * Decompresses {@code in}, which must give exactly {@code plainLength} bytes. The output grows
     * as bytes are made, so a forged length costs no more memory than the input really expands to.
     */
    static byte[] decompress(byte[] in, int plainLength, String source) {
        byte[] out = new byte[(int) Math.min(plainLength, Math.max(64 << 10, 4L * in.length))];
        int ip = 0;
        int op = 0;
        try {
            while (ip < in.length) {
                int ctrl = in[ip++] & 0xFF;
                if (ctrl < 32) { // literal run of ctrl + 1 bytes
                    int run = ctrl + 1;
                    out = room(out, op + run, plainLength, source);
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
                    out = room(out, op + len + 2, plainLength, source);
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
        return out.length == op ? out : Arrays.copyOf(out, op);
    }

    /** {@code out}, or a larger copy, holding at least {@code needed} bytes; never more than {@code plainLength}. */
    private static byte[] room(byte[] out, int needed, int plainLength, String source) {
        if (needed <= out.length) {
            return out;
        }
        if (needed > plainLength || needed < 0) {
            throw new CorruptDataException(source + " is corrupt: an LZF string decompresses past its length");
        }
        return Arrays.copyOf(out, (int) Math.min(plainLength, Math.max(needed, 2L * out.length)));
    }
}
