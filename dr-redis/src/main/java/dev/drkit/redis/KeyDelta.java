package dev.drkit.redis;

import dev.drkit.BackupManifest;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.EOFException;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.security.DigestException;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;

/**
 * Key-level delta snapshots: an incremental Redis backup stores only the keys whose value,
 * type or expiry changed since the previous backup, plus the identities of the entries that
 * left, so that an hour in which 1% of the keys changed stores about 1% of a snapshot. The
 * state of a backup is its chain: a full snapshot ({@code dump.rdb}) and the deltas after it.
 *
 * <p>An entry is identified by the first 16 bytes of the SHA-256 of its database, type, expiry,
 * key and serialized value (the parts of its DUMP payload), so an entry that differs in any of
 * them is a different entry. Artifact {@value #ARTIFACT}, format {@code DRKRKD01}, big-endian:
 * the magic, a u32 RDB version (the snapshot's), then records, each a u8 tag: {@code 1} an
 * entry (u32 database, u8 type, i64 expiry in ms or -1, u32 key length, the key, u32 value
 * length, the serialized value); {@code 2} a function library (u32 length, the record as the
 * RDB stores it after its opcode); {@code 3} a removed entry (its 16-byte identity); {@code 0}
 * ends the artifact, followed by a u64 count of entries and a u64 count of removed entries.
 * Functions are stored whole in every delta.
 *
 * <p>A state is rebuilt newest backup first: each delta's entries are taken unless a newer
 * delta took or removed the same entry, each removed identity is dropped from what older
 * backups hold, and the full snapshot's entries fill in the rest. The rebuilt state is written
 * as an RDB of the newest snapshot's version (without the full snapshot's LRU/LFU hints and
 * aux fields, as a filtered restore); its key count and the sum of its identities are checked
 * against what the backup recorded, so a chain that does not rebuild the snapshot fails.
 */
final class KeyDelta {
    /** The artifact of a delta snapshot. */
    static final String ARTIFACT = "keys-delta.bin";
    /** Metadata {@code snapshot} of a delta backup. */
    static final String KIND = "key-delta";
    /** Metadata: the backups whose state this delta builds on, full snapshot first. */
    static final String CHAIN = "chain";
    /** Metadata: the sum of the identities of the state's entries, for the rebuild's check. */
    static final String DIGEST = "stateDigest";

    private static final byte[] MAGIC = "DRKRKD01".getBytes(StandardCharsets.US_ASCII);
    private static final int END = 0;
    private static final int ENTRY = 1;
    private static final int FUNCTION = 2;
    private static final int REMOVED = 3;
    private static final int MAX_KEY = 512 << 20;
    /** The most keys a delta compares: an {@link IdSet} of more would outgrow Java's arrays. */
    static final long MAX_KEYS = 800_000_000L;
    /** Why a snapshot with module data beside the keys is taken whole. */
    static final String MODULE_AUX = "module data beside the keys (written by modules such as RediSearch for their "
            + "indexes), which a key-level delta does not keep";

    /** The longest chain a delta's manifest may list. */
    static final int MAX_CHAIN = 10_000;

    private KeyDelta() {}

    /** Opens an artifact of a backup: the one being read or one it depends on. */
    @FunctionalInterface
    interface Artifacts {
        InputStream open(String backupId, String name) throws IOException;
    }

    /** Whether the backup stores a delta snapshot. */
    static boolean isDelta(BackupManifest m) {
        return KIND.equals(m.metadata().get("snapshot"));
    }

    /** The backups a delta backup builds on, full snapshot first. */
    static List<String> chain(BackupManifest m) {
        if (!(m.metadata().get(CHAIN) instanceof List<?> list) || list.isEmpty() || list.size() > MAX_CHAIN) {
            throw new CorruptDataException("backup " + m.id() + " is a key-level delta but its manifest lists no "
                    + "chain of backups it builds on; it is damaged, restore another backup");
        }
        List<String> ids = new ArrayList<>();
        for (Object o : list) {
            ids.add(String.valueOf(o));
        }
        return ids;
    }

    /** The identity of an entry: two longs of the SHA-256 of its parts. */
    static final class Hasher {
        private final MessageDigest sha;
        private final byte[] head = new byte[17];
        private final byte[] digest = new byte[32];
        long hi;
        long lo;

        Hasher() {
            try {
                sha = MessageDigest.getInstance("SHA-256");
            } catch (NoSuchAlgorithmException e) {
                throw new IllegalStateException(e);
            }
        }

        void hash(int db, byte[] key, int type, long expireAtMs, byte[] value) {
            putInt(head, 0, db);
            head[4] = (byte) type;
            putLong(head, 5, expireAtMs);
            putInt(head, 13, key.length);
            sha.update(head);
            sha.update(key);
            sha.update(value);
            try {
                sha.digest(digest, 0, 32);
            } catch (DigestException e) {
                throw new IllegalStateException(e);
            }
            hi = getLong(digest, 0);
            lo = getLong(digest, 8);
        }
    }

    /**
     * A set of 128-bit identities, open addressing (the identities are hashes already), with a
     * mark per member; memory is 17 bytes per slot at a load of at most 3/4.
     */
    static final class IdSet {
        private static final long SEED_HI;
        private static final long SEED_LO;

        static {
            SecureRandom random = new SecureRandom();
            SEED_HI = random.nextLong();
            SEED_LO = random.nextLong();
        }

        /** MurmurHash3's 64-bit finalizer: every input bit changes about half the output bits. */
        private static long mix(long h) {
            h ^= h >>> 33;
            h *= 0xff51afd7ed558ccdL;
            h ^= h >>> 33;
            h *= 0xc4ceb9fe1a85ec53L;
            return h ^ (h >>> 33);
        }

        private long[] his;
        private long[] los;
        private boolean[] used;
        private boolean[] marked;
        private int size;

        IdSet(int expected) {
            int cap = Integer.highestOneBit(Math.max(16, (int) Math.min(1 << 30, expected * 4L / 3 + 1)) - 1) << 1;
            allocate(cap);
        }

        private void allocate(int cap) {
            his = new long[cap];
            los = new long[cap];
            used = new boolean[cap];
            marked = new boolean[cap];
        }

        int size() {
            return size;
        }

        /**
         * Where an identity's probe starts: both halves, mixed with a secret of this process. A
         * forged delta can give its removed identities any bits it likes, and slots it could
         * predict would make every insert probe all the others (quadratic time).
         */
        static int home(long hi, long lo, int mask) {
            return (int) mix(mix(hi ^ SEED_HI) ^ lo ^ SEED_LO) & mask;
        }

        private int slot(long hi, long lo) {
            int mask = his.length - 1;
            int i = home(hi, lo, mask);
            while (used[i] && (his[i] != hi || los[i] != lo)) {
                i = (i + 1) & mask;
            }
            return i;
        }

        /** Adds an identity; false when it was there already. */
        boolean add(long hi, long lo) {
            int i = slot(hi, lo);
            if (used[i]) {
                return false;
            }
            used[i] = true;
            his[i] = hi;
            los[i] = lo;
            if (++size * 4L > his.length * 3L) {
                grow();
            }
            return true;
        }

        boolean contains(long hi, long lo) {
            return used[slot(hi, lo)];
        }

        /** Marks a member; false when it is not a member. */
        boolean mark(long hi, long lo) {
            int i = slot(hi, lo);
            if (!used[i]) {
                return false;
            }
            marked[i] = true;
            return true;
        }

        /** Each member not marked. */
        void forEachUnmarked(IdConsumer each) throws IOException {
            for (int i = 0; i < his.length; i++) {
                if (used[i] && !marked[i]) {
                    each.accept(his[i], los[i]);
                }
            }
        }

        private void grow() {
            long[] h = his;
            long[] l = los;
            boolean[] u = used;
            boolean[] m = marked;
            allocate(h.length * 2);
            for (int i = 0; i < h.length; i++) {
                if (u[i]) {
                    int j = slot(h[i], l[i]);
                    used[j] = true;
                    his[j] = h[i];
                    los[j] = l[i];
                    marked[j] = m[i];
                }
            }
        }
    }

    @FunctionalInterface
    interface IdConsumer {
        void accept(long hi, long lo) throws IOException;
    }

    /**
     * The count and the sum of the identities of a state's entries: what a rebuild is checked
     * against. A consistency check (a chain put together wrongly, a removal lost), not a
     * security one: the artifacts' recorded SHA-256 guards against forged bytes.
     */
    static final class Digest {
        long entries;
        private long sumHi;
        private long sumLo;

        void add(long hi, long lo) {
            entries++;
            sumHi += hi;
            sumLo += lo;
        }

        String text() {
            return String.format("%016x%016x", sumHi, sumLo);
        }
    }

    /** Writes a delta artifact; not thread-safe. */
    static final class Writer implements AutoCloseable {
        private final DataOutputStream out;
        private long entries;
        private long removed;
        private boolean closed;

        Writer(OutputStream out, int rdbVersion) throws IOException {
            this.out = new DataOutputStream(new BufferedOutputStream(out, 1 << 16));
            this.out.write(MAGIC);
            this.out.writeInt(rdbVersion);
        }

        void entry(int db, byte[] key, int type, long expireAtMs, byte[] value) throws IOException {
            out.writeByte(ENTRY);
            out.writeInt(db);
            out.writeByte(type);
            out.writeLong(expireAtMs);
            out.writeInt(key.length);
            out.write(key);
            out.writeInt(value.length);
            out.write(value);
            entries++;
        }

        void function(byte[] stored) throws IOException {
            out.writeByte(FUNCTION);
            out.writeInt(stored.length);
            out.write(stored);
        }

        void removed(long hi, long lo) throws IOException {
            out.writeByte(REMOVED);
            out.writeLong(hi);
            out.writeLong(lo);
            removed++;
        }

        long entries() {
            return entries;
        }

        long removedCount() {
            return removed;
        }

        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            out.writeByte(END);
            out.writeLong(entries);
            out.writeLong(removed);
            out.close();
        }
    }

    /** What a delta artifact holds, in order. */
    interface Sink {
        void entry(int db, byte[] key, int type, long expireAtMs, byte[] value) throws IOException;

        void function(byte[] stored) throws IOException;

        void removed(long hi, long lo) throws IOException;
    }

    /**
     * Reads a delta artifact strictly (the repository may have been forged) to its end.
     *
     * @return the RDB version it records
     */
    static int read(InputStream raw, String what, Sink sink) throws IOException {
        DataInputStream in = new DataInputStream(new BufferedInputStream(raw, 1 << 16));
        try {
            byte[] magic = in.readNBytes(MAGIC.length);
            if (!Arrays.equals(magic, MAGIC)) {
                throw damaged(what, "it does not start with the magic DRKRKD01");
            }
            int version = in.readInt();
            if (version < 1 || version > RdbParser.MAX_VALKEY_VERSION) {
                throw damaged(what, "it records RDB version " + version);
            }
            long entries = 0;
            long removed = 0;
            while (true) {
                int tag = in.readUnsignedByte();
                switch (tag) {
                    case END -> {
                        if (in.readLong() != entries || in.readLong() != removed) {
                            throw damaged(what, "its record counts do not match what it holds");
                        }
                        if (in.read() >= 0) {
                            throw damaged(what, "it has bytes after its end");
                        }
                        return version;
                    }
                    case ENTRY -> {
                        int db = in.readInt();
                        int type = in.readUnsignedByte();
                        long expiry = in.readLong();
                        if (db < 0 || db >= (1 << 20) || expiry < -1) {
                            throw damaged(what, "an entry has database " + db + " or expiry " + expiry);
                        }
                        byte[] key = bytes(in, what, "a key");
                        byte[] value = bytes(in, what, "a value");
                        sink.entry(db, key, type, expiry, value);
                        entries++;
                    }
                    case FUNCTION -> sink.function(bytes(in, what, "a function library"));
                    case REMOVED -> {
                        sink.removed(in.readLong(), in.readLong());
                        removed++;
                    }
                    default -> throw damaged(what, "it holds a record of unknown kind " + tag);
                }
            }
        } catch (EOFException e) {
            throw damaged(what, "it ends too early");
        }
    }

    private static byte[] bytes(DataInputStream in, String what, String which) throws IOException {
        int n = in.readInt();
        if (n < 0 || n > MAX_KEY) {
            throw damaged(what, which + " of " + Integer.toUnsignedString(n) + " bytes");
        }
        byte[] b = in.readNBytes(n); // grows with the bytes there, not with a forged length
        if (b.length != n) {
            throw new EOFException();
        }
        return b;
    }

    static CorruptDataException damaged(String what, String why) {
        return new CorruptDataException(
                what + " is damaged (" + why + "); restore an earlier backup and check the repository");
    }

    /** Opens the artifact a delta is written to, once the snapshot's RDB version is known. */
    @FunctionalInterface
    interface ArtifactOpener {
        OutputStream open() throws IOException;
    }

    /**
     * Compares a snapshot, as it is parsed, with the identities of the previous state and writes
     * the delta: the entries not in that state, then the identities of that state's entries the
     * snapshot lacks.
     */
    static final class Diff implements ReplicationSnapshot.Listener {
        private final IdSet before;
        private final int beforeVersion;
        private final ArtifactOpener artifact;
        private final Hasher hasher = new Hasher();
        private final Digest digest = new Digest();
        private Writer writer;

        /** The RDB version of the snapshot is below the previous state's: a delta cannot hold it. */
        static final class VersionWentDown extends IOException {
            VersionWentDown(String message) {
                super(message);
            }
        }

        /** The snapshot holds module data beside the keys, which a delta does not keep. */
        static final class ModuleAuxData extends IOException {
            ModuleAuxData(String message) {
                super(message);
            }
        }

        Diff(IdSet before, int beforeVersion, ArtifactOpener artifact) {
            this.before = before;
            this.beforeVersion = beforeVersion;
            this.artifact = artifact;
        }

        @Override
        public void version(int version) throws IOException {
            if (version < beforeVersion) {
                throw new VersionWentDown("the snapshot has RDB version " + version + ", older than the previous "
                        + "backup's " + beforeVersion + " (the server was downgraded)");
            }
            writer = new Writer(artifact.open(), version);
        }

        @Override
        public void function(byte[] storedCode) throws IOException {
            writer.function(storedCode);
        }

        @Override
        public void moduleAux() throws IOException {
            throw new ModuleAuxData("the snapshot holds " + MODULE_AUX);
        }

        @Override
        public void entry(int db, byte[] key, int type, long expireAtMs, byte[] value) throws IOException {
            hasher.hash(db, key, type, expireAtMs, value);
            digest.add(hasher.hi, hasher.lo);
            if (!before.mark(hasher.hi, hasher.lo)) {
                writer.entry(db, key, type, expireAtMs, value);
            }
        }

        /** Writes the removed identities and closes the artifact. */
        void finish() throws IOException {
            if (writer == null) {
                throw new IllegalStateException("no snapshot was compared");
            }
            before.forEachUnmarked(writer::removed);
            writer.close();
        }

        long entries() {
            return digest.entries;
        }

        long changed() {
            return writer.entries();
        }

        long removed() {
            return writer.removedCount();
        }

        String digest() {
            return digest.text();
        }
    }

    /** Receives the entries of a state, each with its identity, and, first, its function libraries. */
    interface StateVisitor {
        void function(byte[] stored) throws IOException;

        void entry(int db, byte[] key, int type, long expireAtMs, byte[] value, long hi, long lo) throws IOException;
    }

    /**
     * Visits the state a backup holds (a full snapshot, or a delta with its chain), checked
     * against the key count and, for a delta, the digest the backup recorded.
     *
     * @return the RDB version of the newest snapshot
     */
    static int visitState(BackupManifest m, Artifacts artifacts, StateVisitor visitor) throws IOException {
        boolean delta = isDelta(m);
        List<String> ids = new ArrayList<>(delta ? chain(m) : List.of());
        ids.add(m.id());
        Hasher hasher = new Hasher();
        Digest digest = new Digest();
        IdSet decided = new IdSet(1024); // entries a newer delta took or dropped
        int version = 0;
        for (int i = ids.size() - 1; i >= 1; i--) {
            String id = ids.get(i);
            boolean newest = i == ids.size() - 1;
            try (InputStream in = artifacts.open(id, ARTIFACT)) {
                int v = read(in, "the key delta " + ARTIFACT + " of backup " + id, new Sink() {
                    @Override
                    public void entry(int db, byte[] key, int type, long expireAtMs, byte[] value) throws IOException {
                        hasher.hash(db, key, type, expireAtMs, value);
                        if (decided.add(hasher.hi, hasher.lo)) {
                            digest.add(hasher.hi, hasher.lo);
                            visitor.entry(db, key, type, expireAtMs, value, hasher.hi, hasher.lo);
                        }
                    }

                    @Override
                    public void function(byte[] stored) throws IOException {
                        if (newest) {
                            visitor.function(stored);
                        }
                    }

                    @Override
                    public void removed(long hi, long lo) {
                        decided.add(hi, lo);
                    }
                });
                if (newest) {
                    version = v;
                }
            }
        }
        // the full snapshot: its entries no delta took or dropped (its functions when it is the state)
        String base = ids.get(0);
        String source = RedisTarget.ARTIFACT + " of backup " + base;
        int[] baseVersion = {0};
        try (InputStream in = artifacts.open(base, RedisTarget.ARTIFACT)) {
            RdbParser parser = new RdbParser(in, null, source, true, true);
            if (!delta) {
                parser.onFunctions(visitor::function);
            }
            RdbParser.Summary s = parser.parse(
                    (db, key, type, at, value) -> {
                        hasher.hash(db, key, type, at, value);
                        if (!decided.contains(hasher.hi, hasher.lo)) {
                            digest.add(hasher.hi, hasher.lo);
                            visitor.entry(db, key, type, at, value, hasher.hi, hasher.lo);
                        }
                    },
                    v -> baseVersion[0] = v);
            requireWhole(parser, s, source);
        }
        long recordedKeys = m.metadata().get("keys") instanceof Number n ? n.longValue() : -1;
        if (recordedKeys >= 0 && recordedKeys != digest.entries) {
            throw new CorruptDataException("backup " + m.id() + " records " + recordedKeys + " keys but its snapshot "
                    + (delta ? "chain rebuilds " : "holds ") + digest.entries + "; it is damaged, restore another "
                    + "backup");
        }
        if (!delta) {
            return baseVersion[0];
        }
        Object recorded = m.metadata().get(DIGEST);
        if (!digest.text().equals(recorded)) {
            throw new CorruptDataException("the key deltas of backup " + m.id() + " and the backups it builds on "
                    + "rebuild a state whose digest " + digest.text() + " is not the recorded " + recorded
                    + "; the chain is damaged, restore the full snapshot it starts from (" + base + ") or another "
                    + "backup");
        }
        return version;
    }

    /**
     * A full snapshot was parsed to its EOF opcode and CRC-64: nothing may follow, and reading
     * the stream to its end lets the repository compare the artifact with its recorded SHA-256.
     */
    private static void requireWhole(RdbParser parser, RdbParser.Summary s, String source) throws IOException {
        if (s.checksum == RdbParser.Checksum.MISMATCH) {
            throw new CorruptDataException(source + " fails its CRC-64 check; restore another backup");
        }
        parser.requireAtEnd();
    }

    /**
     * The identities of the entries of a backup's state, for the next delta to compare with;
     * refused beyond {@code maxKeys} (memory: up to 48 bytes per key).
     */
    static IdSet identities(BackupManifest m, Artifacts artifacts, long maxKeys) throws IOException {
        long keys = m.metadata().get("keys") instanceof Number n ? n.longValue() : -1;
        if (keys > Math.min(maxKeys, MAX_KEYS)) {
            throw new DrException(
                    ErrorCode.TARGET,
                    "backup " + m.id() + " holds " + keys + " keys, more than setting 'max-delta-keys' (" + maxKeys
                            + ") lets a key-level delta compare in memory");
        }
        IdSet set = new IdSet((int) Math.min(MAX_KEYS, Math.max(16, keys)));
        visitState(m, artifacts, new StateVisitor() {
            @Override
            public void function(byte[] stored) {}

            @Override
            public void entry(int db, byte[] key, int type, long expireAtMs, byte[] value, long hi, long lo) {
                set.add(hi, lo);
            }
        });
        return set;
    }

    /** Writes the state of a backup as an RDB of the newest snapshot's version, its function libraries first. */
    static void writeState(BackupManifest m, Artifacts artifacts, OutputStream out) throws IOException {
        int version = (int) RedisTarget.recorded(m, "rdbVersion", 0);
        if (version < 1) {
            throw new CorruptDataException("the manifest of backup " + m.id() + " records no RDB version for its "
                    + "key delta; it is damaged, restore another backup");
        }
        RdbWriter writer = new RdbWriter(out, version, Map.of("drkit-rebuilt", "key-delta"));
        byte[] opcode = {(byte) RdbParser.OP_FUNCTION2};
        boolean[] keys = {false};
        visitState(m, artifacts, new StateVisitor() {
            @Override
            public void function(byte[] stored) throws IOException {
                if (keys[0]) {
                    throw new CorruptDataException("the key delta of backup " + m.id() + " holds a function library "
                            + "after its keys; it is damaged, restore another backup");
                }
                writer.records(opcode, 0, 1);
                writer.records(stored, 0, stored.length);
            }

            @Override
            public void entry(int db, byte[] key, int type, long expireAtMs, byte[] value, long hi, long lo)
                    throws IOException {
                keys[0] = true;
                writer.entry(db, key, type, expireAtMs, value, 0, value.length);
            }
        });
        writer.finish();
    }

    /** The state of a backup as an RDB stream, rebuilt on a thread of its own while it is read. */
    static InputStream openState(BackupManifest m, Artifacts artifacts) {
        return ProducedStream.start("drkit-redis-rebuild", out -> writeState(m, artifacts, out));
    }

    private static void putInt(byte[] b, int off, int v) {
        for (int i = 0; i < 4; i++) {
            b[off + i] = (byte) (v >>> (24 - 8 * i));
        }
    }

    private static void putLong(byte[] b, int off, long v) {
        for (int i = 0; i < 8; i++) {
            b[off + i] = (byte) (v >>> (56 - 8 * i));
        }
    }

    private static long getLong(byte[] b, int off) {
        long v = 0;
        for (int i = 0; i < 8; i++) {
            v = (v << 8) | (b[off + i] & 0xFF);
        }
        return v;
    }
}
