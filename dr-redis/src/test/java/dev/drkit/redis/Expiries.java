package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import java.util.TreeMap;

/** The remaining time to live of every expiring key, to compare a restore with its source. */
final class Expiries {
    private Expiries() {}

    /** db/key to its PTTL in milliseconds, for every key that expires, in every database. */
    static Map<String, Long> of(RedisData data) {
        Map<String, Long> all = new TreeMap<>();
        for (int db = 0; db < 16; db++) {
            data.sync.select(db);
            for (String key : data.sync.keys("*")) {
                long pttl = data.sync.pttl(key);
                if (pttl > 0) {
                    all.put(db + "/" + key, pttl);
                }
            }
        }
        data.sync.select(0);
        return all;
    }

    /**
     * The same keys expire, each no later than before and at most {@code elapsedMs} (the time between
     * the two readings) earlier, plus a second for rounding and clocks.
     */
    static void assertKept(Map<String, Long> before, Map<String, Long> after, long elapsedMs) {
        assertThat(after.keySet()).isEqualTo(before.keySet());
        before.forEach((key, ttl) -> assertThat(after.get(key))
                .as("the remaining TTL of %s", key)
                .isBetween(ttl - elapsedMs - 1000, ttl + 1000));
    }
}
