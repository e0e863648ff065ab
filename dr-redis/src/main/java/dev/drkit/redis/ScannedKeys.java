package dev.drkit.redis;

import java.security.SecureRandom;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The keys a keys-mode backup has written from one database's SCAN, which may return a key more
 * than once (when the server's table is resized during the walk): the backup writes each key
 * once, as a server writes an RDB (redis-server refuses to load one that holds a key twice, and
 * so does an online restore). A key is known by a 128-bit keyed hash (two SipHash-2-4 under
 * secrets of this process): two keys never hash alike by chance or by design. 16 to 43 bytes of
 * heap per key, up to an eighth of the JVM's heap; past that, keys are written as SCAN returns
 * them, which is said once. Not thread-safe.
 */
final class ScannedKeys {
    private static final Logger LOG = LoggerFactory.getLogger(ScannedKeys.class);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final long[] SECRET = {RANDOM.nextLong(), RANDOM.nextLong(), RANDOM.nextLong(), RANDOM.nextLong()};

    private final String what;
    private final long maxSlots;
    /** Pairs of longs; a pair of zeros is an empty slot. */
    private long[] slots = new long[2 << 12];

    private int size;
    private boolean full;

    /** @param what the database walked, for the warning */
    ScannedKeys(String what) {
        this(what, Runtime.getRuntime().maxMemory() / 8 / (2 * Long.BYTES));
    }

    ScannedKeys(String what, long maxSlots) {
        this.what = what;
        this.maxSlots = maxSlots;
    }

    /** Whether {@code key} of {@code db} comes for the first time (true, too, once the bound is reached). */
    boolean first(int db, byte[] key) {
        if (full) {
            return true;
        }
        long hi = DuplicateKeys.sipHash(SECRET[0], SECRET[1], db, key);
        long lo = DuplicateKeys.sipHash(SECRET[2], SECRET[3], db, key);
        if (hi == 0 && lo == 0) {
            lo = 1;
        }
        int pairs = slots.length / 2;
        int i = (int) (hi & (pairs - 1));
        while (slots[2 * i] != 0 || slots[2 * i + 1] != 0) {
            if (slots[2 * i] == hi && slots[2 * i + 1] == lo) {
                return false;
            }
            i = (i + 1) & (pairs - 1);
        }
        slots[2 * i] = hi;
        slots[2 * i + 1] = lo;
        if (++size * 4L > pairs * 3L) {
            if (pairs * 2L > maxSlots) {
                full = true;
                LOG.warn(
                        "{}: past {} keys, a key SCAN returns twice is backed up twice (telling them apart takes 16 "
                                + "to 43 bytes per key, up to an eighth of the JVM's heap; give it more heap)",
                        what,
                        size);
            } else {
                grow();
            }
        }
        return true;
    }

    private void grow() {
        long[] old = slots;
        slots = new long[old.length * 2];
        int mask = slots.length / 2 - 1;
        for (int j = 0; j < old.length; j += 2) {
            if (old[j] != 0 || old[j + 1] != 0) {
                int i = (int) (old[j] & mask);
                while (slots[2 * i] != 0 || slots[2 * i + 1] != 0) {
                    i = (i + 1) & mask;
                }
                slots[2 * i] = old[j];
                slots[2 * i + 1] = old[j + 1];
            }
        }
    }
}
