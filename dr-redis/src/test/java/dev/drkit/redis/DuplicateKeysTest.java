package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.CorruptDataException;
import java.nio.charset.StandardCharsets;
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
}
