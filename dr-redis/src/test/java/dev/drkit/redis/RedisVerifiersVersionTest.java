package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Which scratch servers the load test asks to check every value they load. */
class RedisVerifiersVersionTest {
    @Test
    void redis62AndLaterAndValkeyCheckPayloadsOlderServersAreNotAsked() {
        assertThat(RedisVerifiers.LoadTestVerifier.sanitizes("Redis server v=6.0.16 sha=00000000:0 malloc=jemalloc"))
                .isFalse();
        assertThat(RedisVerifiers.LoadTestVerifier.sanitizes("Redis server v=6.2.14 sha=00000000:0"))
                .isTrue();
        assertThat(RedisVerifiers.LoadTestVerifier.sanitizes("Redis server v=7.0.15 sha=00000000:0"))
                .isTrue();
        assertThat(RedisVerifiers.LoadTestVerifier.sanitizes("Redis server v=8.2.1 sha=00000000:0"))
                .isTrue();
        assertThat(RedisVerifiers.LoadTestVerifier.sanitizes("Valkey server v=8.0.2 sha=00000000:0"))
                .isTrue();
        assertThat(RedisVerifiers.LoadTestVerifier.sanitizes("something else entirely"))
                .isFalse();
    }
}
