package dev.drkit.redis;

import dev.drkit.CorruptDataException;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

/**
 * Writes an RDB file from keys and serialized values (the parts of DUMP payloads): header,
 * aux fields, SELECTDB, expiries, entries, EOF and the CRC-64 trailer. The result is a
 * standard {@code dump.rdb} that {@code redis-server} loads and {@code redis-check-rdb} accepts
 * (with Valkey's {@code VALKEY} magic for Valkey 9 versions, 80 and up). Values pass through
 * unchanged, so a hash's field TTLs (types 22 to 25, and Valkey's 22) and module values stay as
 * the server wrote them; a Redis 8.6 payload that starts with key metadata is split so the key
 * goes between the metadata and the value type, where an RDB file holds it. Not thread-safe.
 */
final class RdbWriter implements AutoCloseable {
    private final OutputStream out;
    private final int version;
    private final byte[] scratch = new byte[9];
    private long crc;
    private int db = -1;
    private boolean finished;

    RdbWriter(OutputStream out, int version, Map<String, String> aux) throws IOException {
        this.out = out;
        this.version = version;
        String magic = version >= RdbVersions.VALKEY_FIRST
                ? String.format("VALKEY%03d", version)
                : String.format("REDIS%04d", version);
        write(magic.getBytes(StandardCharsets.US_ASCII));
        for (var e : aux.entrySet()) {
            writeByte(RdbParser.OP_AUX);
            writeString(e.getKey().getBytes(StandardCharsets.UTF_8));
            writeString(e.getValue().getBytes(StandardCharsets.UTF_8));
        }
    }

    /**
     * Writes records as they are (function libraries from FUNCTION DUMP: opcode and code each),
     * before any key.
     */
    void records(byte[] b, int off, int len) throws IOException {
        if (db != -1) {
            throw new IllegalStateException("records go before the keys");
        }
        write(b, off, len);
    }

    /** Writes one key; {@code value} is the serialized value without type byte, version or checksum. */
    void entry(int db, byte[] key, int type, long expireAtMs, byte[] value, int valueOff, int valueLen)
            throws IOException {
        if (db != this.db) {
            writeByte(RdbParser.OP_SELECTDB);
            writeLength(db);
            this.db = db;
        }
        if (expireAtMs >= 0) {
            writeByte(RdbParser.OP_EXPIRETIME_MS);
            for (int i = 0; i < 8; i++) {
                scratch[i] = (byte) (expireAtMs >>> (8 * i));
            }
            write(scratch, 0, 8);
        }
        if (type == RdbParser.OP_KEY_META && version < RdbVersions.VALKEY_FIRST) {
            int meta = RdbParser.keyMetaLength(value, valueOff, valueLen, "the DUMP payload of a key");
            if (meta >= valueLen) {
                throw new CorruptDataException("the DUMP payload of a key ends inside its key metadata");
            }
            writeByte(type);
            write(value, valueOff, meta);
            valueOff += meta;
            valueLen -= meta;
            type = value[valueOff++] & 0xFF;
            valueLen--;
        }
        writeByte(type);
        writeString(key);
        write(value, valueOff, valueLen);
    }

    /** Writes EOF and the checksum; the underlying stream stays open. */
    void finish() throws IOException {
        if (finished) {
            return;
        }
        finished = true;
        writeByte(RdbParser.OP_EOF);
        long sum = crc;
        for (int i = 0; i < 8; i++) {
            scratch[i] = (byte) (sum >>> (8 * i));
        }
        out.write(scratch, 0, 8);
    }

    @Override
    public void close() throws IOException {
        finish();
    }

    private void writeString(byte[] s) throws IOException {
        writeLength(s.length);
        write(s, 0, s.length);
    }

    private void writeLength(long len) throws IOException {
        if (len < 0x40) {
            writeByte((int) len);
        } else if (len < 0x4000) {
            scratch[0] = (byte) (0x40 | (len >> 8));
            scratch[1] = (byte) len;
            write(scratch, 0, 2);
        } else if (len <= 0xFFFFFFFFL) {
            scratch[0] = (byte) 0x80;
            for (int i = 0; i < 4; i++) {
                scratch[1 + i] = (byte) (len >>> (8 * (3 - i)));
            }
            write(scratch, 0, 5);
        } else {
            scratch[0] = (byte) 0x81;
            for (int i = 0; i < 8; i++) {
                scratch[1 + i] = (byte) (len >>> (8 * (7 - i)));
            }
            write(scratch, 0, 9);
        }
    }

    private void writeByte(int b) throws IOException {
        scratch[0] = (byte) b;
        write(scratch, 0, 1);
    }

    private void write(byte[] b) throws IOException {
        write(b, 0, b.length);
    }

    private void write(byte[] b, int off, int len) throws IOException {
        crc = Crc64.update(crc, b, off, len);
        out.write(b, off, len);
    }
}
