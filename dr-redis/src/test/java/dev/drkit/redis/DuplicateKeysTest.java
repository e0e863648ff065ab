package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.CorruptDataException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import org.junit.jupiter.api.Test;

class DuplicateKeysTest {
    private static byte[] key(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void distinctKeysRaiseNoSuspicionAndTheSameKeyInAnotherDatabaseIsNotADuplicate() {
        DuplicateKeys keys = new DuplicateKeys("test");
        for (int i = 0; i < 200_000; i++) { // grows the set several times
            keys.add(0, key("key:" + i));
        }
        keys.add(1, key("key:7"));
        keys.add(0, key(""));
        keys.add(1, key(""));

        assertThat(keys.suspected()).isFalse();
    }

    @Test
    void aKeyTwiceIsSuspectedThenConfirmedOnItsBytes() {
        DuplicateKeys keys = new DuplicateKeys("test");
        for (int i = 0; i < 1000; i++) {
            keys.add(0, key("key:" + i));
        }
        keys.add(0, key("key:512"));
        assertThat(keys.suspected()).isTrue();

        for (int i = 0; i < 1000; i++) {
            keys.confirm(0, key("key:" + i), "dump.rdb of backup B");
        }
        assertThatThrownBy(() -> keys.confirm(0, key("key:512"), "dump.rdb of backup B"))
                .isInstanceOf(CorruptDataException.class)
                .hasMessage("dump.rdb of backup B holds the key 'key:512' a second time in database 0, which no "
                        + "server writes and a server refuses to load; the backup is damaged or forged, restore "
                        + "another backup");
    }

    @Test
    void aHashCollisionIsToldFromADuplicateByTheKeysBytes() {
        // every key hashes alike: each is a suspect, and only the bytes can tell them apart
        DuplicateKeys keys = new DuplicateKeys("test", 1 << 20, (db, key) -> 7);
        keys.add(0, key("a"));
        keys.add(0, key("b"));
        keys.add(1, key("a"));
        assertThat(keys.suspected()).isTrue();

        keys.confirm(0, key("a"), "s");
        keys.confirm(0, key("b"), "s");
        keys.confirm(1, key("a"), "s"); // the same name in another database is another key

        assertThatThrownBy(() -> keys.confirm(0, key("b"), "s")).isInstanceOf(CorruptDataException.class);
    }

    @Test
    void theSetStopsAtItsBoundAndTheKeysAfterItAreNotChecked() {
        DuplicateKeys keys = new DuplicateKeys("test", 1 << 12);
        for (int i = 0; i < 10_000; i++) {
            keys.add(0, key("key:" + i));
        }
        // 3,072 keys fill 4,096 slots to three quarters: past that, a key twice is not seen, even
        // one whose first copy was checked (the warning says how many were not checked)
        keys.add(0, key("key:9999"));
        keys.add(0, key("key:1"));
        assertThat(keys.suspected()).isFalse();
    }

    @Test
    void aCollisionCannotBeForgedWithoutTheSecret() {
        // two 16-byte keys whose blocks differ where a multiply-and-rotate chain carries the
        // difference to the top bit and out again: they must not hash alike whatever the secret,
        // or a forged snapshot of such pairs fills the suspects past any bound
        long m1 = 0x0123456789abcdefL;
        long m2 = 0x0fedcba987654321L;
        byte[] a = block(unmix(m1), unmix(m2));
        byte[] b = block(unmix(m1 ^ 1L << 36), unmix(m2 ^ 1L << 63));
        assertThat(a).isNotEqualTo(b);

        assertThat(DuplicateKeys.hash(0, a)).isNotEqualTo(DuplicateKeys.hash(0, b));
        // a key and the same bytes and a zero byte more are two keys too
        byte[] c = block(unmix(m1));
        assertThat(DuplicateKeys.hash(0, c)).isNotEqualTo(DuplicateKeys.hash(0, Arrays.copyOf(c, c.length + 1)));
    }

    @Test
    void aSnapshotOfManyKeysEachTwiceKeepsFewSuspectsAndStillFails() {
        // a forged snapshot of 300,000 keys, each twice: the suspects (about 100 bytes each) must
        // not outgrow the set's bound; one duplicate is enough to refuse it
        DuplicateKeys keys = new DuplicateKeys("test");
        for (int copy = 0; copy < 2; copy++) {
            for (int i = 0; i < 300_000; i++) {
                keys.add(0, key("key:" + i));
            }
        }
        assertThat(keys.suspected()).isTrue();
        assertThat(keys.suspects()).isLessThanOrEqualTo(DuplicateKeys.MAX_SUSPECTS);
        assertThatThrownBy(() -> {
                    for (int copy = 0; copy < 2; copy++) {
                        for (int i = 0; i < 300_000; i++) {
                            keys.confirm(0, key("key:" + i), "dump.rdb");
                        }
                    }
                })
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("a second time in database 0");
    }

    @Test
    void theHashIsSipHash24() {
        // the reference vector: key 00..0f, message 00..0e (here the database 00010203, then the key)
        byte[] key = new byte[11];
        for (int i = 0; i < key.length; i++) {
            key[i] = (byte) (i + 4);
        }
        assertThat(DuplicateKeys.sipHash(0x0706050403020100L, 0x0f0e0d0c0b0a0908L, 0x00010203, key))
                .isEqualTo(0xa129ca6149be45e5L);
        assertThat(DuplicateKeys.sipHash(0x0706050403020100L, 0x0f0e0d0c0b0a0908L, 0x00010203, new byte[0]))
                .isEqualTo(0xcf2794e0277187b7L); // message 00..03
    }

    private static byte[] block(long... longs) {
        ByteBuffer b = ByteBuffer.allocate(longs.length * Long.BYTES).order(ByteOrder.LITTLE_ENDIAN);
        for (long l : longs) {
            b.putLong(l);
        }
        return b.array();
    }

    /** The inverse of MurmurHash3's 64-bit finalizer. */
    private static long unmix(long h) {
        h ^= h >>> 33;
        h *= inverse(0xc4ceb9fe1a85ec53L);
        h ^= h >>> 33;
        h *= inverse(0xff51afd7ed558ccdL);
        return h ^ (h >>> 33);
    }

    private static long inverse(long odd) {
        BigInteger two64 = BigInteger.ONE.shiftLeft(64);
        return new BigInteger(Long.toUnsignedString(odd)).modInverse(two64).longValue();
    }
}
