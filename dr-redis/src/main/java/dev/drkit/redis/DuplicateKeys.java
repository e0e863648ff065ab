package dev.drkit.redis;

import dev.drkit.CorruptDataException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Finds a key a snapshot holds twice in one database, which no server writes (a server refuses to
 * load such a file) but a forged one can: an online restore would keep one of its values and
 * count the other as "kept", or replace the first with the second when forced, without a word.
 *
 * <p>A first read {@link #add}s every key: a 64-bit hash of the database and the key, keyed with
 * a secret of this process, goes into an open-addressing set (8 to 22 bytes of heap per key; 3M
 * keys take 32 MiB). A hash seen twice is a suspect. Suspects are rare (none without a
 * duplicate, short of a hash collision: about 1 in 4 million for 3M keys), and a second read
 * {@link #confirm}s them on the keys' bytes, so a collision never fails a sound snapshot. The set
 * stops growing at an eighth of the JVM's heap: keys after that are not checked, which is said
 * once. Not thread-safe.
 */
final class DuplicateKeys {
    private static final Logger LOG = LoggerFactory.getLogger(DuplicateKeys.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final long K0 = RANDOM.nextLong();
    private static final long K1 = RANDOM.nextLong();

    private final long maxSlots;
    private long[] slots = new long[1 << 12];
    private int size;
    private long unchecked;
    private final String what;
    private final KeyHash hash;
    /**
     * At most this many suspects are kept (a forged snapshot can hold every key twice): the keyed
     * hash collides by chance only, so among this many at least one is a duplicate, which is
     * enough to refuse the snapshot.
     */
    static final int MAX_SUSPECTS = 1024;

    /** Hashes seen twice, until {@link #confirm} reads the keys again. */
    private final Map<Long, List<byte[]>> suspects = new HashMap<>();

    /** @param what what reads the keys, for the warning (e.g. {@code the online restore into X}) */
    DuplicateKeys(String what) {
        this(what, Runtime.getRuntime().maxMemory() / 8 / Long.BYTES);
    }

    DuplicateKeys(String what, long maxSlots) {
        this(what, maxSlots, DuplicateKeys::hash);
    }

    /** With another hash (tests: one that collides). */
    DuplicateKeys(String what, long maxSlots, KeyHash hash) {
        this.what = what;
        this.maxSlots = Math.max(slots.length, maxSlots);
        this.hash = hash;
    }

    /** A 64-bit hash of a database's key, never 0. */
    @FunctionalInterface
    interface KeyHash {
        long of(int db, byte[] key);
    }

    /** One key of the first read. */
    void add(int db, byte[] key) {
        if (unchecked > 0) {
            unchecked++;
            return;
        }
        long h = hash.of(db, key);
        int mask = slots.length - 1;
        int i = (int) h & mask;
        while (slots[i] != 0) {
            if (slots[i] == h) {
                if (suspects.size() < MAX_SUSPECTS) {
                    suspects.putIfAbsent(h, new ArrayList<>());
                }
                return;
            }
            i = (i + 1) & mask;
        }
        slots[i] = h;
        if (++size * 4L > slots.length * 3L) {
            if (slots.length * 2L > maxSlots) {
                unchecked = 1;
                return;
            }
            grow();
        }
    }

    /** After the first read: whether some hash came twice, so {@link #confirm} must read the keys again. */
    boolean suspected() {
        return !suspects.isEmpty();
    }

    /** How many hashes are suspects (tests). */
    int suspects() {
        return suspects.size();
    }

    /** After the first read: says what was not checked, if the heap bound stopped the set. */
    void reportUnchecked() {
        if (unchecked > 0) {
            LOG.warn(
                    "{}: {} keys after the first {} were not checked for duplicates (the check keeps 8 to 22 bytes "
                            + "per key, up to an eighth of the JVM's heap; give it more heap to check them all)",
                    what,
                    unchecked - 1,
                    size);
        }
    }

    /** One key of the second read of {@code source}, in the first read's order: fails on the second copy of a key. */
    void confirm(int db, byte[] key, String source) {
        List<byte[]> seen = suspects.get(hash.of(db, key));
        if (seen == null) {
            return;
        }
        byte[] tagged = tagged(db, key);
        for (byte[] s : seen) {
            if (Arrays.equals(s, tagged)) {
                throw new Duplicate(source + " holds the key '" + RedisTarget.printable(key) + "' a second time in "
                        + "database " + db);
            }
        }
        seen.add(tagged);
    }

    /** A key found twice: {@link #found} says which and where, the message what to do. */
    static final class Duplicate extends CorruptDataException {
        private static final long serialVersionUID = 1L;
        private final String found;

        Duplicate(String found) {
            super(found + ", which no server writes and a server refuses to load; the backup is damaged or forged, "
                    + "restore another backup");
            this.found = found;
        }

        String found() {
            return found;
        }
    }

    /** The database's number, then the key: what a key is compared on. */
    private static byte[] tagged(int db, byte[] key) {
        byte[] t = new byte[key.length + 4];
        t[0] = (byte) (db >>> 24);
        t[1] = (byte) (db >>> 16);
        t[2] = (byte) (db >>> 8);
        t[3] = (byte) db;
        System.arraycopy(key, 0, t, 4, key.length);
        return t;
    }

    /**
     * A keyed 64-bit hash of the database and the key, never 0 (an empty slot): SipHash-2-4 of the
     * database's number (4 bytes) and the key, under this process's secret. A keyed PRF, so that
     * a forged snapshot cannot hold keys made to hash alike (each would be a suspect, kept outside
     * the set's bound), as it could with a multiply-and-rotate chain whatever its seed.
     */
    static long hash(int db, byte[] key) {
        long h = sipHash(K0, K1, db, key);
        return h == 0 ? 1 : h;
    }

    /** SipHash-2-4 under the key {@code k0, k1} of the database's number (big-endian) and the key. */
    static long sipHash(long k0, long k1, int db, byte[] key) {
        long[] v = {
            k0 ^ 0x736f6d6570736575L, k1 ^ 0x646f72616e646f6dL, k0 ^ 0x6c7967656e657261L, k1 ^ 0x7465646279746573L
        };
        int length = key.length + 4;
        long m = 0;
        for (int i = 0; i < length; i++) {
            int b = i < 4 ? (db >>> (24 - 8 * i)) & 0xFF : key[i - 4] & 0xFF;
            m |= (long) b << (8 * (i & 7));
            if ((i & 7) == 7) {
                compress(v, m);
                m = 0;
            }
        }
        compress(v, m | (long) length << 56);
        v[2] ^= 0xff;
        for (int r = 0; r < 4; r++) {
            sipRound(v);
        }
        return v[0] ^ v[1] ^ v[2] ^ v[3];
    }

    /** One 8-byte word into the state: two rounds (SipHash-2-x). */
    private static void compress(long[] v, long m) {
        v[3] ^= m;
        sipRound(v);
        sipRound(v);
        v[0] ^= m;
    }

    private static void sipRound(long[] v) {
        v[0] += v[1];
        v[1] = Long.rotateLeft(v[1], 13);
        v[1] ^= v[0];
        v[0] = Long.rotateLeft(v[0], 32);
        v[2] += v[3];
        v[3] = Long.rotateLeft(v[3], 16);
        v[3] ^= v[2];
        v[0] += v[3];
        v[3] = Long.rotateLeft(v[3], 21);
        v[3] ^= v[0];
        v[2] += v[1];
        v[1] = Long.rotateLeft(v[1], 17);
        v[1] ^= v[2];
        v[2] = Long.rotateLeft(v[2], 32);
    }

    private void grow() {
        long[] old = slots;
        slots = new long[old.length * 2];
        int mask = slots.length - 1;
        for (long h : old) {
            if (h != 0) {
                int i = (int) h & mask;
                while (slots[i] != 0) {
                    i = (i + 1) & mask;
                }
                slots[i] = h;
            }
        }
    }
}
