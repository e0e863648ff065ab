package dev.drkit.redis;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Builds RDB bytes by hand, following the layouts of Redis' and Valkey's {@code rdb.c}: lengths
 * (6, 14, 32 or 64 bit), strings, little-endian times, and the CRC-64 trailer. Tests use it to
 * make files of encodings no server here writes.
 */
final class RdbBytes {
    private final ByteArrayOutputStream out = new ByteArrayOutputStream();

    private RdbBytes(String magic) {
        out.writeBytes(magic.getBytes(StandardCharsets.US_ASCII));
    }

    static RdbBytes redis(int version) {
        return new RdbBytes(String.format("REDIS%04d", version));
    }

    static RdbBytes valkey(int version) {
        return new RdbBytes(String.format("VALKEY%03d", version));
    }

    /** Bytes of a value alone (no header), e.g. the body of a DUMP payload. */
    static RdbBytes value() {
        return new RdbBytes("");
    }

    RdbBytes op(int opcode) {
        out.write(opcode);
        return this;
    }

    RdbBytes aux(String key, String value) {
        return op(RdbParser.OP_AUX).string(key).string(value);
    }

    RdbBytes selectDb(int db) {
        return op(RdbParser.OP_SELECTDB).length(db);
    }

    RdbBytes expireMs(long at) {
        return op(RdbParser.OP_EXPIRETIME_MS).u64(at);
    }

    RdbBytes length(long n) {
        if (n >= 0 && n < 64) {
            out.write((int) n);
        } else if (n >= 0 && n < 16384) {
            out.write(0x40 | (int) (n >> 8));
            out.write((int) n & 0xFF);
        } else if (n >= 0 && n <= 0xFFFFFFFFL) {
            out.write(0x80);
            for (int i = 3; i >= 0; i--) {
                out.write((int) (n >>> (8 * i)) & 0xFF);
            }
        } else {
            out.write(0x81);
            for (int i = 7; i >= 0; i--) {
                out.write((int) (n >>> (8 * i)) & 0xFF);
            }
        }
        return this;
    }

    RdbBytes string(String s) {
        return string(s.getBytes(StandardCharsets.UTF_8));
    }

    RdbBytes string(byte[] b) {
        length(b.length);
        out.writeBytes(b);
        return this;
    }

    /** Little-endian 64-bit, as rdbSaveMillisecondTime writes times. */
    RdbBytes u64(long v) {
        for (int i = 0; i < 8; i++) {
            out.write((int) (v >>> (8 * i)) & 0xFF);
        }
        return this;
    }

    /** A stream ID as stored raw in a PEL or NACK zone: ms and seq, 64-bit big-endian each. */
    RdbBytes streamId(long ms, long seq) {
        for (long v : new long[] {ms, seq}) {
            for (int i = 7; i >= 0; i--) {
                out.write((int) (v >>> (8 * i)) & 0xFF);
            }
        }
        return this;
    }

    RdbBytes raw(byte... b) {
        out.writeBytes(b);
        return this;
    }

    RdbBytes raw(int... b) {
        for (int x : b) {
            out.write(x);
        }
        return this;
    }

    /** The bytes so far, without EOF or trailer. */
    byte[] bytes() {
        return out.toByteArray();
    }

    /** Appends EOF and the CRC-64 of everything, and returns the file. */
    byte[] eof() {
        out.write(RdbParser.OP_EOF);
        byte[] body = out.toByteArray();
        long crc = Crc64.of(body, 0, body.length);
        for (int i = 0; i < 8; i++) {
            out.write((int) (crc >>> (8 * i)) & 0xFF);
        }
        return out.toByteArray();
    }

    /** A listpack as listpack.c lays it out: header, entries with back lengths, 0xFF. */
    static final class Lp {
        private final ByteArrayOutputStream entries = new ByteArrayOutputStream();
        private int count;

        /** A string entry (6-bit, 12-bit or 32-bit length encoding, by size). */
        Lp str(String s) {
            byte[] b = s.getBytes(StandardCharsets.UTF_8);
            ByteArrayOutputStream e = new ByteArrayOutputStream();
            if (b.length < 64) {
                e.write(0x80 | b.length);
            } else if (b.length < 4096) {
                e.write(0xE0 | (b.length >> 8));
                e.write(b.length & 0xFF);
            } else {
                e.write(0xF0);
                for (int i = 0; i < 4; i++) {
                    e.write((b.length >>> (8 * i)) & 0xFF);
                }
            }
            e.writeBytes(b);
            return entry(e.toByteArray());
        }

        /** An integer entry in the smallest encoding listpack.c would pick. */
        Lp integer(long v) {
            ByteArrayOutputStream e = new ByteArrayOutputStream();
            if (v >= 0 && v <= 127) {
                e.write((int) v);
            } else if (v >= -4096 && v <= 4095) {
                long u = v < 0 ? (1 << 13) + v : v;
                e.write(0xC0 | (int) (u >> 8));
                e.write((int) u & 0xFF);
            } else {
                int bytes;
                int code;
                if (v >= Short.MIN_VALUE && v <= Short.MAX_VALUE) {
                    bytes = 2;
                    code = 0xF1;
                } else if (v >= -(1 << 23) && v < (1 << 23)) {
                    bytes = 3;
                    code = 0xF2;
                } else if (v >= Integer.MIN_VALUE && v <= Integer.MAX_VALUE) {
                    bytes = 4;
                    code = 0xF3;
                } else {
                    bytes = 8;
                    code = 0xF4;
                }
                e.write(code);
                for (int i = 0; i < bytes; i++) {
                    e.write((int) (v >>> (8 * i)) & 0xFF);
                }
            }
            return entry(e.toByteArray());
        }

        private Lp entry(byte[] encodedAndData) {
            entries.writeBytes(encodedAndData);
            byte[] back = new byte[5];
            int n = Listpack.encodeBacklen(encodedAndData.length, back, 0);
            entries.write(back, 0, n);
            count++;
            return this;
        }

        byte[] build() {
            return build(count);
        }

        /** With the header's element count set to {@code declared}. */
        byte[] build(int declared) {
            byte[] body = entries.toByteArray();
            int total = 6 + body.length + 1;
            byte[] lp = new byte[total];
            for (int i = 0; i < 4; i++) {
                lp[i] = (byte) (total >>> (8 * i));
            }
            lp[4] = (byte) declared;
            lp[5] = (byte) (declared >>> 8);
            System.arraycopy(body, 0, lp, 6, body.length);
            lp[total - 1] = (byte) 0xFF;
            return lp;
        }
    }
}
