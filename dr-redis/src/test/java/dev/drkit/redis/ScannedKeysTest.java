package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

class ScannedKeysTest {
    private static byte[] key(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    @Test
    void aKeyComesFirstOnceAcrossGrowthAndPerDatabase() {
        ScannedKeys keys = new ScannedKeys("db 0");
        for (int i = 0; i < 100_000; i++) { // grows the set several times
            assertThat(keys.first(0, key("key:" + i))).isTrue();
        }
        assertThat(keys.first(0, key("key:4242"))).isFalse();
        assertThat(keys.first(0, key(""))).isTrue();
        assertThat(keys.first(0, key(""))).isFalse();
        assertThat(keys.first(1, key("key:4242"))).as("another database's key").isTrue();
    }

    @Test
    void pastItsBoundEveryKeyIsWritten() {
        ScannedKeys keys = new ScannedKeys("db 0", 1 << 12);
        for (int i = 0; i < 10_000; i++) {
            keys.first(0, key("key:" + i));
        }
        assertThat(keys.first(0, key("key:1"))).isTrue();
    }
}
