package dev.drkit.redis;

import dev.drkit.CorruptDataException;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.TreeMap;

/**
 * Walks an RDB file (versions 1 to 12, Redis up to 7.2's value types and 7.4's slot info) from
 * the magic to the EOF opcode and its CRC-64 trailer, without loading values: it counts keys
 * per database, checks the structure and the checksum, and, on request, hands each key with
 * its type, expiry and serialized value to a {@link Visitor} (the parts of a DUMP payload).
 * Optionally copies the bytes it consumes to an output, so a snapshot can be checked while it
 * streams into a backup.
 */
final class RdbParser {
    /** The newest RDB version this parser reads. */
    static final int MAX_VERSION = 12;

    static final int OP_SLOT_INFO = 0xF4;
    static final int OP_FUNCTION2 = 0xF5;
    static final int OP_FUNCTION_PRE_GA = 0xF6;
    static final int OP_MODULE_AUX = 0xF7;
    static final int OP_IDLE = 0xF8;
    static final int OP_FREQ = 0xF9;
    static final int OP_AUX = 0xFA;
    static final int OP_RESIZEDB = 0xFB;
    static final int OP_EXPIRETIME_MS = 0xFC;
    static final int OP_EXPIRETIME = 0xFD;
    static final int OP_SELECTDB = 0xFE;
    static final int OP_EOF = 0xFF;

    /** What the parser found. */
    enum Checksum {
        /** The trailer matches the CRC-64 of the file. */
        VALID,
        /** The trailer is zero: the server ran with {@code rdbchecksum no}; nothing to check. */
        ABSENT,
        /** RDB versions before 5 have no trailer. */
        NONE,
        /** The trailer does not match. */
        MISMATCH
    }

    /** Receives entries as they are parsed. */
    interface Visitor {
        /**
         * One key. {@code key} is null unless keys were asked for; {@code value} (the
         * serialized value without the type byte) is null unless values were asked for.
         */
        void entry(int db, byte[] key, int type, long expireAtMs, byte[] value) throws IOException;
    }

    /** Told the file's RDB version once the header is read, before any entry. */
    interface VersionListener {
        void version(int version) throws IOException;
    }

    /** The outcome of a parse. */
    static final class Summary {
        int version;
        final Map<String, String> aux = new LinkedHashMap<>();
        final TreeMap<Integer, Long> keysPerDb = new TreeMap<>();
        long keys;
        long expires;
        int functions;
        Checksum checksum;
        long storedCrc;
        long computedCrc;
        long bytes;

        Map<String, Long> keysPerDbAsStrings() {
            Map<String, Long> m = new LinkedHashMap<>();
            keysPerDb.forEach((db, n) -> m.put(String.valueOf(db), n));
            return m;
        }
    }

    private final RdbInput in;
    private final boolean readKeys;
    private final boolean readValues;
    private final String source;

    /**
     * @param source what is parsed, for error messages (e.g. {@code dump.rdb of backup X})
     * @param copy where to copy the consumed bytes, or null
     * @param readKeys whether the visitor gets keys
     * @param readValues whether the visitor gets serialized values
     */
    RdbParser(InputStream stream, OutputStream copy, String source, boolean readKeys, boolean readValues) {
        this.in = new RdbInput(stream, copy);
        this.source = source;
        this.readKeys = readKeys || readValues;
        this.readValues = readValues;
    }

    /** Parses to the end of the RDB (the trailer included) and stops there. */
    Summary parse(Visitor visitor) throws IOException {
        return parse(visitor, null);
    }

    /** Parses to the end, telling {@code versions} the version first. */
    Summary parse(Visitor visitor, VersionListener versions) throws IOException {
        try {
            return parseAll(visitor, versions);
        } catch (EOFException e) {
            throw new CorruptDataException(source + " is truncated: " + e.getMessage());
        }
    }

    /** Reads raw bytes that follow the RDB (a transfer's end mark); they are not copied. */
    byte[] readAfter(int n) throws IOException {
        return in.readBytes(n);
    }

    private Summary parseAll(Visitor visitor, VersionListener versions) throws IOException {
        Summary s = new Summary();
        byte[] magic = in.readBytes(9);
        String head = new String(magic, StandardCharsets.ISO_8859_1);
        if (!head.startsWith("REDIS") || !head.substring(5).chars().allMatch(Character::isDigit)) {
            throw new CorruptDataException(source + " is not an RDB file: it does not start with REDIS and a version");
        }
        s.version = Integer.parseInt(head.substring(5));
        if (s.version < 1 || s.version > MAX_VERSION) {
            throw new CorruptDataException(
                    source + " has RDB version " + s.version + ", which this drkit does not read " + "(versions 1 to "
                            + MAX_VERSION + ", Redis up to 7.4 and 8.0)");
        }
        if (versions != null) {
            versions.version(s.version);
        }
        int db = 0;
        long expireAt = -1;
        long[] perDb = new long[16];
        while (true) {
            int op = in.readByte();
            switch (op) {
                case OP_AUX -> s.aux.put(string(readString()), string(readString()));
                case OP_RESIZEDB -> {
                    readLength();
                    readLength();
                }
                case OP_SELECTDB -> {
                    db = (int) readLength();
                    if (db >= perDb.length) {
                        perDb = Arrays.copyOf(perDb, Math.max(db + 1, perDb.length * 2));
                    }
                }
                case OP_EXPIRETIME -> expireAt = in.readLongLE(4) * 1000;
                case OP_EXPIRETIME_MS -> expireAt = in.readLongLE(8);
                case OP_FREQ -> in.readByte();
                case OP_IDLE -> readLength();
                case OP_MODULE_AUX -> {
                    readLength(); // module id
                    readLength(); // when opcode
                    readLength(); // when
                    skipModuleValue();
                }
                case OP_FUNCTION2 -> {
                    skipString();
                    s.functions++;
                }
                case OP_FUNCTION_PRE_GA ->
                    throw new CorruptDataException(source + " holds functions in the format of "
                            + "Redis 7.0 release candidates, which drkit does not read");
                case OP_SLOT_INFO -> {
                    readLength();
                    readLength();
                    readLength();
                }
                case OP_EOF -> {
                    for (int i = 0; i < perDb.length; i++) {
                        if (perDb[i] > 0) {
                            s.keysPerDb.put(i, perDb[i]);
                        }
                    }
                    finish(s);
                    return s;
                }
                default -> {
                    byte[] key = readKeys ? readString() : null;
                    if (!readKeys) {
                        skipString();
                    }
                    if (readValues) {
                        in.startRecording();
                    }
                    skipValue(op);
                    byte[] value = readValues ? in.stopRecording() : null;
                    s.keys++;
                    perDb[db]++;
                    if (expireAt >= 0) {
                        s.expires++;
                    }
                    if (visitor != null) {
                        visitor.entry(db, key, op, expireAt, value);
                    }
                    expireAt = -1;
                }
            }
        }
    }

    private void finish(Summary s) throws IOException {
        s.computedCrc = in.crc();
        if (s.version >= 5) {
            s.storedCrc = in.readLongLE(8);
            if (s.storedCrc == 0) {
                s.checksum = Checksum.ABSENT;
            } else {
                s.checksum = s.storedCrc == s.computedCrc ? Checksum.VALID : Checksum.MISMATCH;
            }
        } else {
            s.checksum = Checksum.NONE;
        }
        in.finish();
        s.bytes = in.position();
    }

    private void skipValue(int type) throws IOException {
        switch (type) {
            case 0 -> skipString(); // string
            case 1, 2 -> skipStrings(readLength()); // list, set
            case 3 -> { // zset with string scores
                long n = readLength();
                for (long i = 0; i < n; i++) {
                    skipString();
                    int len = in.readByte();
                    if (len < 253) {
                        in.skip(len);
                    }
                }
            }
            case 4 -> skipStrings(2 * readLength()); // hash
            case 5 -> { // zset with binary scores
                long n = readLength();
                for (long i = 0; i < n; i++) {
                    skipString();
                    in.skip(8);
                }
            }
            case 7 -> { // module value, self-describing
                readLength();
                skipModuleValue();
            }
            case 9, 10, 11, 12, 13, 16, 17, 20 -> skipString(); // zipmap, ziplists, intset, listpacks
            case 14 -> skipStrings(readLength()); // quicklist of ziplists
            case 18 -> { // quicklist of listpacks
                long n = readLength();
                for (long i = 0; i < n; i++) {
                    readLength(); // container kind
                    skipString();
                }
            }
            case 15, 19, 21 -> skipStream(type);
            case 6 ->
                throw new CorruptDataException(source + " holds a module value in the pre-4.0 format, which "
                        + "cannot be read without the module");
            case 22, 23, 24, 25 ->
                throw new CorruptDataException(source + " holds hashes with field expiry (Redis 7.4+, " + "type " + type
                        + "), which this drkit does not read yet");
            default ->
                throw new CorruptDataException(
                        source + " is corrupt: unknown value type " + type + " at byte " + (in.position() - 1));
        }
    }

    private void skipStream(int type) throws IOException {
        long nodes = readLength();
        for (long i = 0; i < nodes; i++) {
            skipString(); // master id
            skipString(); // listpack
        }
        readLength(); // length
        readLength(); // last id ms
        readLength(); // last id seq
        if (type >= 19) {
            for (int i = 0; i < 5; i++) {
                readLength(); // first id, max deleted id, entries added
            }
        }
        long groups = readLength();
        for (long g = 0; g < groups; g++) {
            skipString(); // name
            readLength(); // last id ms
            readLength(); // last id seq
            if (type >= 19) {
                readLength(); // entries read
            }
            long pel = readLength();
            for (long p = 0; p < pel; p++) {
                in.skip(16 + 8); // id, delivery time
                readLength(); // delivery count
            }
            long consumers = readLength();
            for (long c = 0; c < consumers; c++) {
                skipString(); // name
                in.skip(type >= 21 ? 16 : 8); // seen time (and active time)
                long owned = readLength();
                in.skip(16 * owned);
            }
        }
    }

    private void skipModuleValue() throws IOException {
        while (true) {
            long opcode = readLength();
            switch ((int) opcode) {
                case 0 -> {
                    return;
                }
                case 1, 2 -> readLength();
                case 3 -> in.skip(4);
                case 4 -> in.skip(8);
                case 5 -> skipString();
                default -> throw new CorruptDataException(source + " is corrupt: unknown module opcode " + opcode);
            }
        }
    }

    private void skipStrings(long n) throws IOException {
        for (long i = 0; i < n; i++) {
            skipString();
        }
    }

    /** Encoding of the last length read: -1 for a plain length, else the special encoding. */
    private int encoding;

    private long readLength() throws IOException {
        int b = in.readByte();
        encoding = -1;
        switch (b >> 6) {
            case 0:
                return b & 0x3F;
            case 1:
                return ((long) (b & 0x3F) << 8) | in.readByte();
            case 2:
                if (b == 0x80) {
                    return in.readLongBE(4);
                }
                if (b == 0x81) {
                    return in.readLongBE(8);
                }
                throw new CorruptDataException(
                        source + " is corrupt: bad length prefix " + b + " at byte " + (in.position() - 1));
            default:
                encoding = b & 0x3F;
                return 0;
        }
    }

    private void skipString() throws IOException {
        long len = readLength();
        if (encoding < 0) {
            in.skip(len);
            return;
        }
        switch (encoding) {
            case 0 -> in.skip(1);
            case 1 -> in.skip(2);
            case 2 -> in.skip(4);
            case 3 -> {
                long compressed = readLength();
                readLength();
                in.skip(compressed);
            }
            default -> throw badEncoding();
        }
    }

    private byte[] readString() throws IOException {
        long len = readLength();
        if (encoding < 0) {
            return in.readBytes(len);
        }
        switch (encoding) {
            case 0 -> {
                return Long.toString((byte) in.readByte()).getBytes(StandardCharsets.US_ASCII);
            }
            case 1 -> {
                return Long.toString((short) in.readLongLE(2)).getBytes(StandardCharsets.US_ASCII);
            }
            case 2 -> {
                return Long.toString((int) in.readLongLE(4)).getBytes(StandardCharsets.US_ASCII);
            }
            case 3 -> {
                long compressed = readLength();
                long plain = readLength();
                return Lzf.decompress(in.readBytes(compressed), (int) plain, source);
            }
            default -> throw badEncoding();
        }
    }

    private CorruptDataException badEncoding() {
        return new CorruptDataException(
                source + " is corrupt: unknown string encoding " + encoding + " at byte " + in.position());
    }

    private static String string(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
