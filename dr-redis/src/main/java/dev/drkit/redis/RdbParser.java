package dev.drkit.redis;

import dev.drkit.CorruptDataException;
import java.io.ByteArrayInputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * Walks an RDB file from the magic to the EOF opcode and its CRC-64 trailer, without loading
 * values: it counts keys per database, checks the structure and the checksum, and, on request,
 * hands each key with its type, expiry and serialized value to a {@link Visitor} (the parts of a
 * DUMP payload). Optionally copies the bytes it consumes to an output, so a snapshot can be
 * checked while it streams into a backup.
 *
 * <p>Reads what Redis up to 8.8 writes ({@code REDIS0001} to {@code REDIS0014}) and what Valkey
 * writes ({@code REDIS0011} up to 8.1, {@code VALKEY080} from 9.0): every value type of those
 * versions. Hashes with field expiry are read in all their encodings: Redis 7.4+ types 22 to 25
 * (the metadata and listpack-ex layouts, release-candidate and GA) and Valkey 9's type 22;
 * streams in all five layouts, up to Redis 8.6's type 26 (with idempotent-producer state) and
 * Redis 8.8's type 27 (with each consumer group's NACKed entries); Redis 8.8's arrays (type 28);
 * module values in the self-describing module-2 format (the JSON, time series and probabilistic
 * types of Redis 8) are walked opcode by opcode; Redis 8.6's per-key metadata opcode, Redis 7.4's
 * slot info and Valkey 9's slot-import opcode are read. Anything else fails with a message that
 * names the type and the server version that wrote the file.
 *
 * <p>Counting: a key counts as expiring ({@link Summary#expires}) only when the key itself has a
 * TTL; a hash whose fields have TTLs but that has none itself is not an expiring key, and is
 * counted in {@link Summary#fieldExpiryKeys} instead. Not thread-safe: one parser reads one
 * stream once.
 */
final class RdbParser {
    /** The newest Redis RDB version this parser reads (Redis 8.8). */
    static final int MAX_VERSION = 14;
    /** The newest Valkey RDB version this parser reads (Valkey 9.0 and 9.1). */
    static final int MAX_VALKEY_VERSION = 80;

    /** Redis 8.6+: module metadata of the key that follows (Valkey 9 uses the same byte for slot imports). */
    static final int OP_KEY_META = 0xF3;

    static final int OP_SLOT_INFO = 0xF4;
    static final int OP_FUNCTION2 = 0xF5;
    static final int OP_FUNCTION_PRE_GA = 0xF6;
    static final int OP_MODULE_AUX = 0xF7;
    static final int OP_IDLE = 0xF8;
    static final int OP_FREQ = 0xF9;
    static final int OP_AUX = 0xFA;
    /** Aux fields hold versions, times and ids (old servers: Lua scripts): far less than this. */
    static final int AUX_MAX = 16 << 20;
    /** The aux fields kept in {@link Summary#aux}: the writer's version. */
    private static final Set<String> KEPT_AUX = Set.of("redis-ver", "valkey-ver");
    /** The longest aux field name and kept value read: servers write a few bytes. */
    static final int AUX_NAME_MAX = 1024;

    static final int AUX_KEPT_MAX = 256;

    static final int OP_RESIZEDB = 0xFB;
    static final int OP_EXPIRETIME_MS = 0xFC;
    static final int OP_EXPIRETIME = 0xFD;
    static final int OP_SELECTDB = 0xFE;
    static final int OP_EOF = 0xFF;

    /** The largest field expiry (ms) a Redis hash holds ({@code EB_EXPIRE_TIME_MAX}, 2^48 - 1). */
    static final long FIELD_EXPIRY_MAX = (1L << 48) - 1;

    private static final int MODULE_OPCODE_UINT = 2;
    private static final int STREAM_ID_BYTES = 16;
    // A stream's idempotent-producer limits, as a Redis 8.6+ server checks them on load.
    private static final long IDMP_MIN = 1;
    private static final long IDMP_MAX_DURATION = 86_400;
    private static final long IDMP_MAX_ENTRIES = 10_000;
    // Type tags of array elements (Redis 8.8).
    private static final int ARRAY_STRING = 0;
    private static final int ARRAY_INTEGER = 1;
    private static final int ARRAY_DOUBLE = 2;
    private static final int ARRAY_SMALL_STRING = 3;
    private static final long ARRAY_SMALL_STRING_MAX = 7;
    private static final int MAX_DB = 1 << 20;
    /** Records per call of {@link #records}. */
    private static final int BATCH = 64;

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
         * {@code type} and {@code value} are the first byte and the rest of the key's DUMP
         * payload: for a key with Redis 8.6 module metadata, {@code type} is {@link #OP_KEY_META}
         * and {@code value} holds the metadata, the value type and the value.
         */
        void entry(int db, byte[] key, int type, long expireAtMs, byte[] value) throws IOException;
    }

    /**
     * Told each key's Redis Cluster hash slot, in file order, by a parser that reads no keys:
     * the slot is computed from the key's bytes where they are read, with no array per key.
     */
    @FunctionalInterface
    interface KeySlots {
        void slot(int slot) throws IOException;
    }

    /** Told each function library: its code as the file stores it (an RDB string, length first). */
    interface FunctionListener {
        void function(byte[] storedCode) throws IOException;

        /** Told of each record of module data beside the keys ({@code OP_MODULE_AUX}), which is passed over. */
        default void moduleAux() throws IOException {}
    }

    /** Told the file's RDB version once the header is read, before any entry. */
    interface VersionListener {
        void version(int version) throws IOException;
    }

    /** The outcome of a parse. */
    static final class Summary {
        int version;
        /** Whether the file carries Valkey's own magic ({@code VALKEY}). */
        boolean valkey;

        final Map<String, String> aux = new LinkedHashMap<>();
        final TreeMap<Integer, Long> keysPerDb = new TreeMap<>();
        long keys;
        /** Keys with a TTL of their own (not counting hashes whose only TTLs are on fields). */
        long expires;
        /** Hashes with at least one field TTL (HEXPIRE and friends). */
        long fieldExpiryKeys;
        /** Keys holding module values (module-2 format). */
        long moduleValues;
        /** Records of module data beside the keys ({@code OP_MODULE_AUX}: RediSearch's indexes, say). */
        long moduleAux;

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

        /** The server that wrote the file, from its aux fields, e.g. {@code Redis 7.4.2}. */
        String writer() {
            String valkeyVer = aux.get("valkey-ver");
            if (valkeyVer != null) {
                return "Valkey " + valkeyVer;
            }
            String redisVer = aux.get("redis-ver");
            return redisVer != null ? "Redis " + redisVer : "a server that did not record its version";
        }
    }

    private final RdbInput in;
    private final boolean readKeys;
    private final boolean readValues;
    private final String source;
    private Summary summary = new Summary();
    private boolean valkey;
    /** The database the records being read belong to. */
    private int db;
    /** The expiry (ms) read for the next key, or -1. */
    private long expireAt = -1;

    private FunctionListener functionListener;
    private KeySlots keySlots;
    /** Keys read per database, indexed by database number. */
    private long[] perDb = new long[16];
    /** For the entry being read: when its last field expires if every field has a TTL, else -1. */
    private long fieldsGoneAt = -1;
    /** For the entry being read: whether any of its fields has a TTL. */
    private boolean fieldTtl;

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
        } catch (RdbInput.Malformed e) {
            throw new CorruptDataException(source + " is corrupt at byte " + in.position() + ": " + e.getMessage());
        }
    }

    /**
     * During {@link Visitor#entry}: for a hash whose every field has a TTL, the time (ms) its
     * last field expires, after which the server drops the whole key; else -1.
     */
    long fieldsGoneAt() {
        return fieldsGoneAt;
    }

    /** Reads raw bytes that follow the RDB (a transfer's end mark); they are not copied. */
    byte[] readAfter(int n) throws IOException {
        return in.readBytes(n);
    }

    /**
     * After {@link #parse}: whether the stream ends where the RDB does (reading it to its end,
     * so that a checked stream compares what it recorded).
     */
    boolean atEnd() throws IOException {
        return in.atEnd();
    }

    /** What is said of bytes after the RDB (buffered ones included: see {@link #atEnd}). */
    String trailingBytes() {
        return source + " has bytes after the end of the RDB; restore another backup";
    }

    /** After {@link #parse}: refuses bytes after the RDB, as {@link #atEnd} finds them. */
    void requireAtEnd() throws IOException {
        if (!atEnd()) {
            throw new CorruptDataException(trailingBytes());
        }
    }

    /**
     * The length of the Redis 8.6 key metadata at the start of {@code b[off..off+len)} (the bytes
     * after the {@link #OP_KEY_META} byte of a DUMP payload, up to the value type).
     */
    static int keyMetaLength(byte[] b, int off, int len, String source) throws IOException {
        RdbParser p = new RdbParser(new ByteArrayInputStream(b, off, len), null, source, false, false);
        try {
            p.skipKeyMeta();
        } catch (EOFException | RdbInput.Malformed e) {
            throw new CorruptDataException(source + " is corrupt inside its key metadata: " + e.getMessage());
        }
        return (int) p.in.position();
    }

    private Summary parseAll(Visitor visitor, VersionListener versions) throws IOException {
        readHeader(summary);
        if (versions != null) {
            versions.version(summary.version);
        }
        while (records(visitor)) {
            // the next batch
        }
        for (int i = 0; i < perDb.length; i++) {
            if (perDb[i] > 0) {
                summary.keysPerDb.put(i, perDb[i]);
            }
        }
        finish(summary);
        return summary;
    }

    /**
     * Reads up to {@link #BATCH} records; false after the EOF opcode. The JIT compiles a method
     * once it has been called often enough, and a loop inside a method that runs once only much
     * later: reading the file as many short batches of records, rather than in one loop, has the
     * per-key code run compiled after the first few thousand keys, even under the CLI's raised
     * compile thresholds.
     */
    private boolean records(Visitor visitor) throws IOException {
        for (int i = 0; i < BATCH; i++) {
            if (!record(visitor)) {
                return false;
            }
        }
        return true;
    }

    /** Reads one opcode and what it introduces; false after the EOF opcode. */
    private boolean record(Visitor visitor) throws IOException {
        int op = in.readByte();
        switch (op) {
            case OP_AUX -> {
                // only the writer's version is kept: the other values (up to 16 MiB each, LZF
                // expanding a few bytes to as many) are checked and passed over, so that memory
                // follows the bytes that are there, never what a forged file claims
                String name = string(readString(AUX_NAME_MAX, "an aux field's name"));
                if (KEPT_AUX.contains(name)) {
                    summary.aux.put(name, string(readString(AUX_KEPT_MAX, "aux field " + name)));
                } else {
                    skipString(AUX_MAX, "aux field " + printable(name));
                }
            }
            case OP_RESIZEDB -> {
                readLength();
                readLength();
            }
            case OP_SELECTDB -> {
                long n = readCount();
                if (n >= MAX_DB) {
                    throw corrupt("it selects database " + n + ", beyond any server's databases");
                }
                db = (int) n;
                if (db >= perDb.length) {
                    perDb = Arrays.copyOf(perDb, Math.max(db + 1, perDb.length * 2));
                }
            }
            case OP_EXPIRETIME -> expireAt = expiry((int) in.readLongLE(4) * 1000L); // signed, as the server reads it
            case OP_EXPIRETIME_MS -> expireAt = expiry(in.readLongLE(8));
            case OP_FREQ -> in.readByte();
            case OP_IDLE -> readLength();
            case OP_MODULE_AUX -> {
                readLength(); // module id
                long when = readLength();
                if (when != MODULE_OPCODE_UINT) {
                    throw corrupt("module aux data starts with opcode " + when + ", not 2");
                }
                readLength(); // when
                skipModuleValue();
                summary.moduleAux++;
                if (functionListener != null) {
                    functionListener.moduleAux();
                }
            }
            case OP_FUNCTION2 -> {
                if (functionListener != null) {
                    in.startRecording();
                    skipString();
                    functionListener.function(in.stopRecording());
                } else {
                    skipString();
                }
                summary.functions++;
            }
            case OP_FUNCTION_PRE_GA ->
                throw new CorruptDataException(source + " holds functions in the format of Redis 7.0 release "
                        + "candidates, which drkit does not read: load it into Redis 7.0 or newer, SAVE, and "
                        + "back up that server");
            case OP_SLOT_INFO -> {
                readLength(); // slot
                readLength(); // keys in the slot
                readLength(); // expiring keys in the slot
            }
            case OP_KEY_META -> {
                if (valkey) {
                    skipSlotImport();
                } else {
                    readKeyWithMeta(visitor);
                }
            }
            case OP_EOF -> {
                return false;
            }
            default -> {
                requireKnownType(op);
                readEntry(visitor, op, op, null);
            }
        }
        return true;
    }

    private void readHeader(Summary s) throws IOException {
        byte[] magic = in.readBytes(9);
        String head = new String(magic, StandardCharsets.ISO_8859_1);
        int digitsFrom;
        if (head.startsWith("REDIS")) {
            digitsFrom = 5;
        } else if (head.startsWith("VALKEY")) {
            digitsFrom = 6;
            valkey = true;
        } else {
            throw new CorruptDataException(
                    source + " is not an RDB file: it does not start with REDIS or VALKEY and a version");
        }
        if (!head.substring(digitsFrom).chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new CorruptDataException(source + " is not an RDB file: its header " + printable(head)
                    + " does not end with a version number");
        }
        s.version = Integer.parseInt(head.substring(digitsFrom));
        s.valkey = valkey;
        if (valkey && (s.version < RdbVersions.VALKEY_FIRST || s.version > MAX_VALKEY_VERSION)) {
            if (s.version < RdbVersions.VALKEY_FIRST) {
                throw new CorruptDataException(source + " has the header " + head + ", which no Valkey writes "
                        + "(Valkey's own format starts at version " + RdbVersions.VALKEY_FIRST + ")");
            }
            throw new CorruptDataException(source + " has Valkey RDB version " + s.version + ", newer than this drkit "
                    + "reads (Valkey up to 9.1, version " + MAX_VALKEY_VERSION + "); use a drkit release that reads "
                    + "it");
        }
        if (!valkey && (s.version < 1 || s.version > MAX_VERSION)) {
            throw new CorruptDataException(source + " has RDB version " + s.version + ", which this drkit does not "
                    + "read (versions 1 to " + MAX_VERSION + ": Redis up to 8.8, Valkey up to 8.1); use a drkit "
                    + "release that reads it");
        }
    }

    /** Redis 8.6+: key metadata, then the key; its DUMP payload starts with the metadata. */
    private void readKeyWithMeta(Visitor visitor) throws IOException {
        if (readValues) {
            in.startRecording();
        }
        skipKeyMeta();
        int type = in.readByte();
        requireKnownType(type);
        byte[] prefix = readValues ? in.stopRecording() : null;
        readEntry(visitor, OP_KEY_META, type, prefix);
    }

    /**
     * Tells {@code slots} each key's hash slot as the parse reads it (for a parser that reads no
     * keys; one that does gives them to its visitor); returns this parser.
     */
    RdbParser onKeySlots(KeySlots slots) {
        this.keySlots = slots;
        return this;
    }

    /** Tells {@code listener} each function library as the parse reads it; returns this parser. */
    RdbParser onFunctions(FunctionListener listener) {
        this.functionListener = listener;
        return this;
    }

    /**
     * An expiry as a server reads it: -1 is none, and any other time before 1970 has passed (the
     * server drops such a key when it loads the file), so it is given as 0, never as "none".
     */
    static long expiry(long at) {
        return at < -1 ? 0 : at;
    }

    /** One key: its name, its value, and the expiry read before it, which it consumes. */
    private void readEntry(Visitor visitor, int payloadType, int type, byte[] prefix) throws IOException {
        long expiry = expireAt;
        expireAt = -1;
        byte[] key = readKeys ? readString() : null;
        int slot = -1;
        if (!readKeys) {
            if (keySlots != null) {
                slot = keySlot();
            } else {
                skipString();
            }
        }
        if (readValues) {
            in.startRecording();
        }
        fieldsGoneAt = -1;
        fieldTtl = false;
        skipValue(type);
        byte[] value = readValues ? concat(prefix, in.stopRecording()) : null;
        Summary s = summary;
        s.keys++;
        perDb[db]++;
        if (expiry >= 0) {
            s.expires++;
        }
        if (fieldTtl) {
            s.fieldExpiryKeys++;
        }
        if (type == 7) {
            s.moduleValues++;
        }
        if (visitor != null) {
            visitor.entry(db, key, payloadType, expiry, value);
        }
        if (slot >= 0) {
            keySlots.slot(slot);
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

    /** Fails on a byte that is neither an opcode handled above nor a value type of this file's server. */
    private void requireKnownType(int type) {
        boolean common = (type >= 0 && type <= 7) || (type >= 9 && type <= 21);
        boolean dialect = valkey ? type == 22 : type >= 22 && type <= 28;
        if (common || dialect) {
            return;
        }
        throw new CorruptDataException(source + " holds an unknown record type " + type + " at byte "
                + (in.position() - 1) + " (written by " + summary.writer() + ", RDB version " + summary.version
                + "): the file is damaged, or a server newer than Redis 8.8 and Valkey 9.1 wrote a type this drkit "
                + "does not know; restore an older backup, or use a drkit release that reads it");
    }

    private void skipValue(int type) throws IOException {
        switch (type) {
            case 0 -> skipString(); // string
            case 1, 2 -> skipStrings(readCount()); // list, set
            case 3 -> { // zset with string scores
                long n = readCount();
                for (long i = 0; i < n; i++) {
                    skipString();
                    int len = in.readByte();
                    if (len < 253) {
                        in.skip(len);
                    }
                }
            }
            case 4 -> skipStrings(2 * readCount()); // hash
            case 5 -> { // zset with binary scores
                long n = readCount();
                for (long i = 0; i < n; i++) {
                    skipString();
                    in.skip(8);
                }
            }
            case 7 -> { // module value, self-describing
                readLength();
                skipModuleValue();
            }
            case 9, 10, 11, 12, 13 -> skipString(); // zipmap, ziplists, intset
            case 16, 17 -> walkListpack("hash or sorted set", 2); // field (member), value (score) pairs
            case 20 -> walkListpack("set", 1);
            case 14 -> skipStrings(readCount()); // quicklist of ziplists
            case 18 -> { // quicklist of listpacks
                long n = readCount();
                for (long i = 0; i < n; i++) {
                    long container = readCount();
                    if (container == QUICKLIST_PACKED) {
                        walkListpack("list", 1);
                    } else if (container == QUICKLIST_PLAIN) {
                        skipString();
                    } else {
                        throw corrupt("a list node has the unknown container kind " + container);
                    }
                }
            }
            case 15, 19, 21, 26, 27 -> skipStream(type);
            case 28 -> skipArray();
            case 6 ->
                throw new CorruptDataException(source + " holds a module value in the format of Redis 4.0 release "
                        + "candidates, which cannot be read without the module");
            case 22 -> {
                if (valkey) {
                    skipValkeyFieldExpiryHash();
                } else {
                    skipMetadataHash(false);
                }
            }
            case 24 -> skipMetadataHash(true);
            case 23, 25 -> skipListpackExHash(type == 25);
            default -> throw new IllegalStateException("type " + type + " passed requireKnownType");
        }
    }

    private static final int QUICKLIST_PLAIN = 1;
    private static final int QUICKLIST_PACKED = 2;

    /**
     * A listpack value, walked strictly (sizes, back lengths, count, terminator) so that a blob
     * whose entries lie fails here instead of reaching a server that restores it unchecked (with
     * its default sanitize-dump-payload no, Redis crashes on the first read of such a key).
     */
    private void walkListpack(String what, int group) throws IOException {
        long at = in.position();
        byte[] lp = readString();
        String name = source + ": the listpack of a " + what + " (at byte " + at + ")";
        long count = Listpack.walk(lp, name, (index, integer, value, bytes, off, len) -> {});
        if (count % group != 0) {
            throw new CorruptDataException(name + " is corrupt: it holds " + count + " entries, not pairs");
        }
    }

    /**
     * Redis 7.4+ hash in a hash table with field TTLs: type 24 (GA) starts with the smallest
     * field expiry (8 bytes, little-endian) and stores each TTL as {@code expiry - min + 1}
     * (0: no TTL); type 22 (7.4 release candidates) has no minimum and absolute TTLs. Each field
     * is {@code [ttl length][field string][value string]}.
     */
    private void skipMetadataHash(boolean ga) throws IOException {
        long min = 0;
        if (ga) {
            min = in.readLongLE(8);
            if (Long.compareUnsigned(min, FIELD_EXPIRY_MAX + 1) > 0) {
                throw corrupt("a hash gives the minimum field expiry " + Long.toUnsignedString(min)
                        + ", beyond the largest a server holds");
            }
        }
        long n = readCount();
        FieldExpiries expiries = new FieldExpiries(n);
        for (long i = 0; i < n; i++) {
            long ttl = readCount();
            if (ttl > FIELD_EXPIRY_MAX) {
                throw corrupt("a hash field has the TTL " + ttl + ", beyond the largest a server holds");
            }
            long at = ga && ttl != 0 ? ttl + min - 1 : ttl;
            if (at > FIELD_EXPIRY_MAX) {
                throw corrupt("a hash field expires at " + at + ", beyond the largest time a server holds");
            }
            expiries.field(at);
            skipString(); // field
            skipString(); // value
        }
        expiries.done();
    }

    /**
     * Redis 7.4+ listpack hash with field TTLs: type 25 (GA) starts with the smallest field
     * expiry (8 bytes, 0 for none), type 23 (release candidates) does not; then a listpack of
     * {@code field, value, ttl} triplets, the TTL an integer entry holding an absolute time in
     * ms or 0 for none.
     */
    private void skipListpackExHash(boolean ga) throws IOException {
        if (ga) {
            in.readLongLE(8); // minimum field expiry, kept by the server for later use only
        }
        byte[] lp = readString();
        String what = source + ": the listpack of a hash with field expiry";
        FieldExpiries expiries = new FieldExpiries(-1);
        long count = Listpack.walk(lp, what, (index, integer, value, bytes, off, len) -> {
            if (index % 3 != 2) {
                return;
            }
            long at = integer ? value : decimal(bytes, off, len, what);
            if (at < 0 || at > FIELD_EXPIRY_MAX) {
                throw new CorruptDataException(what + " is corrupt: a field expires at " + at);
            }
            expiries.field(at);
        });
        if (count % 3 != 0) {
            throw new CorruptDataException(
                    what + " is corrupt: it holds " + count + " entries, not field, value, TTL triplets");
        }
        expiries.fields = count / 3;
        expiries.done();
    }

    /** Valkey 9 hash with field TTLs (type 22): {@code [field][value][expiry: 8 bytes LE, -1 for none]} each. */
    private void skipValkeyFieldExpiryHash() throws IOException {
        long n = readCount();
        FieldExpiries expiries = new FieldExpiries(n);
        for (long i = 0; i < n; i++) {
            skipString(); // field
            skipString(); // value
            long at = in.readLongLE(8);
            if (at < -1) {
                throw corrupt("a hash field has the expiry " + at);
            }
            expiries.field(at == -1 ? 0 : at);
        }
        expiries.done();
    }

    /** Tracks the field TTLs of one hash: 0 for a field without one. */
    private final class FieldExpiries {
        private long fields;
        private long withTtl;
        private long latest = -1;

        FieldExpiries(long fields) {
            this.fields = fields;
        }

        void field(long at) {
            if (at != 0) {
                withTtl++;
                latest = Math.max(latest, at);
            }
        }

        void done() {
            fieldTtl = withTtl > 0;
            fieldsGoneAt = withTtl > 0 && withTtl == fields ? latest : -1;
        }
    }

    private static long decimal(byte[] b, int off, int len, String what) {
        try {
            return Long.parseLong(new String(b, off, len, StandardCharsets.US_ASCII));
        } catch (NumberFormatException e) {
            throw new CorruptDataException(what + " is corrupt: a field TTL is not a number");
        }
    }

    /**
     * A stream: listpack nodes keyed by their 128-bit master ID, the stream metadata, the consumer
     * groups, and from type 26 (Redis 8.6) the idempotent-producer state. Type 19 adds the first
     * and maximal deleted IDs and the entries-added counter (and a group's entries-read), type 21
     * a consumer's active time, type 27 (Redis 8.8) each group's NACK zone.
     */
    private void skipStream(int type) throws IOException {
        long nodes = readCount();
        for (long i = 0; i < nodes; i++) {
            long masterId = skipString();
            if (masterId != STREAM_ID_BYTES) {
                throw corrupt("a stream node is keyed by " + masterId + " bytes, not a 16-byte stream ID");
            }
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
        long groups = readCount();
        for (long g = 0; g < groups; g++) {
            skipConsumerGroup(type);
        }
        if (type >= 26) {
            skipIdempotentProducers();
        }
    }

    private void skipConsumerGroup(int type) throws IOException {
        skipString(); // name
        readLength(); // last id ms
        readLength(); // last id seq
        if (type >= 19) {
            readLength(); // entries read
        }
        long pending = readCount();
        for (long p = 0; p < pending; p++) {
            in.skip(STREAM_ID_BYTES + 8); // id, delivery time
            readLength(); // delivery count
        }
        // Each entry a consumer owns, and each NACKed one, is a distinct entry of the group's PEL.
        long unclaimed = pending;
        long consumers = readCount();
        for (long c = 0; c < consumers; c++) {
            skipString(); // name
            in.skip(type >= 21 ? 16 : 8); // seen time (and active time)
            unclaimed = skipPendingIds(readCount(), unclaimed, pending, "a stream consumer owns");
        }
        if (type >= 27) {
            skipPendingIds(readCount(), unclaimed, pending, "a stream consumer group's NACK zone lists");
        }
    }

    /** Raw 16-byte IDs of entries of a group's PEL, as a consumer's PEL and a NACK zone hold them. */
    private long skipPendingIds(long n, long unclaimed, long pending, String what) throws IOException {
        if (n > unclaimed) {
            throw corrupt(what + " " + n + " entries, more than the " + unclaimed + " of the group's " + pending
                    + " pending entries no one else holds");
        }
        in.skip(STREAM_ID_BYTES * n);
        return unclaimed - n;
    }

    /**
     * Redis 8.6+ idempotent-producer (IDMP) state at the end of a stream: duration (seconds) and
     * maximal entries per producer, the producers, each an ID and its {@code iid -> stream ID}
     * entries, then the all-time counts of IIDs added and of duplicates.
     */
    private void skipIdempotentProducers() throws IOException {
        long duration = readNumber();
        if (duration < IDMP_MIN || duration > IDMP_MAX_DURATION) {
            throw corrupt("a stream keeps idempotent IDs for " + Long.toUnsignedString(duration)
                    + " seconds, outside the 1 to " + IDMP_MAX_DURATION + " a server allows");
        }
        long maxEntries = readNumber();
        if (maxEntries < IDMP_MIN || maxEntries > IDMP_MAX_ENTRIES) {
            throw corrupt("a stream keeps " + Long.toUnsignedString(maxEntries)
                    + " idempotent IDs per producer, outside the 1 to " + IDMP_MAX_ENTRIES + " a server allows");
        }
        long producers = readCount();
        for (long p = 0; p < producers; p++) {
            skipString(); // producer id
            long entries = readCount();
            for (long e = 0; e < entries; e++) {
                skipString(); // idempotent id
                readNumber(); // stream id ms
                readNumber(); // stream id seq
            }
        }
        readNumber(); // IIDs added
        readNumber(); // duplicate IIDs
    }

    /**
     * Redis 8.8 array (type 28): element count (at least 1), an insert-cursor flag (0 or 1) and
     * the cursor when set, then per element its index (not 2^64 - 1), a type tag and the value:
     * an 8-byte integer or double, a string of at most 7 bytes, or any string.
     */
    private void skipArray() throws IOException {
        long count = readCount();
        if (count == 0) {
            throw corrupt("an array holds no elements");
        }
        long cursorFlag = readCount();
        if (cursorFlag > 1) {
            throw corrupt("an array has the insert-cursor flag " + cursorFlag + ", not 0 or 1");
        }
        if (cursorFlag == 1) {
            readNumber(); // insert cursor
        }
        for (long i = 0; i < count; i++) {
            if (readNumber() == -1L) {
                throw corrupt("an array element has the index 2^64 - 1, which no array holds");
            }
            long tag = readCount();
            switch ((int) Math.min(tag, Integer.MAX_VALUE)) {
                case ARRAY_STRING -> skipString();
                case ARRAY_INTEGER, ARRAY_DOUBLE -> in.skip(8);
                case ARRAY_SMALL_STRING -> {
                    long len = skipString();
                    if (len > ARRAY_SMALL_STRING_MAX) {
                        throw corrupt(
                                "an array's small string holds " + len + " bytes, more than " + ARRAY_SMALL_STRING_MAX);
                    }
                }
                default -> throw corrupt("an array element has the unknown type tag " + tag);
            }
        }
    }

    /** Redis 8.6 key metadata: a count, then per class a 4-byte class spec and a module value. */
    private void skipKeyMeta() throws IOException {
        long classes = readCount();
        for (long i = 0; i < classes; i++) {
            in.skip(4);
            skipModuleValue();
        }
    }

    /** Valkey 9 slot import in progress: job name, then slot ranges. */
    private void skipSlotImport() throws IOException {
        skipString();
        long ranges = readCount();
        for (long i = 0; i < ranges; i++) {
            readLength();
            readLength();
        }
    }

    /** A module value in the module-2 format: opcode-tagged items up to the EOF opcode. */
    private void skipModuleValue() throws IOException {
        while (true) {
            long opcode = readLength();
            switch ((int) Math.min(opcode, Integer.MAX_VALUE)) {
                case 0 -> {
                    return;
                }
                case 1, 2 -> readLength(); // signed, unsigned
                case 3 -> in.skip(4); // float
                case 4 -> in.skip(8); // double
                case 5 -> skipString();
                default ->
                    throw corrupt("a module value holds the unknown item opcode " + Long.toUnsignedString(opcode));
            }
        }
    }

    private void skipStrings(long n) throws IOException {
        if (n < 0) {
            throw corrupt("a count of " + Long.toUnsignedString(n) + " is too large");
        }
        for (long i = 0; i < n; i++) {
            skipString();
        }
    }

    /** Encoding of the last length read: -1 for a plain length, else the special encoding. */
    private int encoding;

    /** A length as stored, 64-bit values unsigned (module integers use all 64 bits). */
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

    /** A count of things that follow: a plain length that fits in a signed long. */
    private long readCount() throws IOException {
        long n = readLength();
        if (encoding >= 0) {
            throw corrupt("a string encoding stands where a count belongs");
        }
        if (n < 0) {
            throw corrupt("a count of " + Long.toUnsignedString(n) + " is too large");
        }
        return n;
    }

    /** A number stored as a length (all 64 bits, unsigned), never a string encoding. */
    private long readNumber() throws IOException {
        long n = readLength();
        if (encoding >= 0) {
            throw corrupt("a string encoding stands where a number belongs");
        }
        return n;
    }

    /** Skips a string and returns its length as the server holds it (an integer as its decimal text). */
    private long skipString() throws IOException {
        long len = readLength();
        if (encoding < 0) {
            in.skip(len);
            return len;
        }
        switch (encoding) {
            case 0 -> {
                return decimalLength((byte) in.readByte());
            }
            case 1 -> {
                return decimalLength((short) in.readLongLE(2));
            }
            case 2 -> {
                return decimalLength((int) in.readLongLE(4));
            }
            case 3 -> {
                long compressed = readCount();
                int plain = lzfPlainLength(compressed, readCount());
                in.skip(compressed);
                return plain;
            }
            default -> throw badEncoding();
        }
    }

    /** Reads a key and returns its hash slot, without holding a plain key's bytes. */
    private int keySlot() throws IOException {
        long len = readLength();
        if (encoding < 0) {
            return in.slot(len);
        }
        switch (encoding) {
            case 0 -> {
                return SlotHashes.slot((byte) in.readByte());
            }
            case 1 -> {
                return SlotHashes.slot((short) in.readLongLE(2));
            }
            case 2 -> {
                return SlotHashes.slot((int) in.readLongLE(4));
            }
            default -> {
                return SlotHashes.slot(readCompressed(Integer.MAX_VALUE - 16, "a key"));
            }
        }
    }

    /** Passes over a string of at most {@code max} bytes (plain or decompressed); a longer one is damage. */
    private void skipString(long max, String what) throws IOException {
        long len = skipString();
        if (len > max) {
            throw corrupt(what + " claims " + len + " bytes, more than the " + max + " a server writes");
        }
    }

    private byte[] readString() throws IOException {
        return readString(Integer.MAX_VALUE - 16, "a string");
    }

    /** A string of at most {@code max} bytes, plain or decompressed; a longer one is damage. */
    private byte[] readString(long max, String what) throws IOException {
        long len = readLength();
        if (encoding < 0) {
            if (len > max) {
                throw corrupt(what + " claims " + len + " bytes, more than the " + max + " a server writes");
            }
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
                return readCompressed(max, what);
            }
            default -> throw badEncoding();
        }
    }

    /** An LZF-compressed string (its length read, with {@code encoding} 3) of at most {@code max} bytes. */
    private byte[] readCompressed(long max, String what) throws IOException {
        if (encoding != 3) {
            throw badEncoding();
        }
        long compressed = readCount();
        int plain = lzfPlainLength(compressed, readCount());
        if (plain > max) {
            throw corrupt(what + " claims " + plain + " bytes, more than the " + max + " a server writes");
        }
        // LZF expands up to ~90 times: a few MiB of a forged file must not ask for GiBs of heap
        long budget = Runtime.getRuntime().maxMemory() / 4;
        if (plain > budget) {
            throw new CorruptDataException(source + " holds at byte " + in.position() + " " + what
                    + " compressed to " + compressed + " bytes that claims " + (plain >> 20)
                    + " MiB, more than a quarter of this JVM's heap (" + (budget >> 20) + " MiB of "
                    + (Runtime.getRuntime().maxMemory() >> 20) + "); the file is forged or damaged, or, "
                    + "if it is genuine, run drkit with a larger heap (-Xmx)");
        }
        return Lzf.decompress(in.readBytes(compressed), plain, source);
    }

    /** The length of {@code v} in decimal, sign included, as the server holds an integer-encoded string. */
    static int decimalLength(int v) {
        int digits = v < 0 ? 2 : 1;
        for (long rest = Math.abs((long) v); rest >= 10; rest /= 10) {
            digits++;
        }
        return digits;
    }

    /** LZF expands at most about 90 times: a larger claim is damage, not data. */
    private int lzfPlainLength(long compressed, long plain) {
        if (compressed > Integer.MAX_VALUE || plain > compressed * 100 + 64 || plain > Integer.MAX_VALUE - 16) {
            throw corrupt("an LZF string of " + compressed + " bytes claims to hold " + plain);
        }
        return (int) plain;
    }

    private CorruptDataException badEncoding() {
        return new CorruptDataException(
                source + " is corrupt: unknown string encoding " + encoding + " at byte " + in.position());
    }

    private CorruptDataException corrupt(String why) {
        return new CorruptDataException(source + " is corrupt at byte " + in.position() + ": " + why);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        if (a == null) {
            return b;
        }
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    private static String printable(String s) {
        return s.replaceAll("[^\\x20-\\x7e]", "?");
    }

    private static String string(byte[] b) {
        return new String(b, StandardCharsets.UTF_8);
    }
}
