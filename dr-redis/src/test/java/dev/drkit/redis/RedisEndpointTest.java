package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.Settings;
import org.junit.jupiter.api.Test;

class RedisEndpointTest {
    @Test
    void anIpv6AddressIsTakenWithoutItsBracketsAndShownWithThem() {
        RedisEndpoint endpoint = RedisEndpoint.from(
                Settings.builder()
                        .set("uri", "redis://app:hunter2@[::1]:6390/2")
                        .build(),
                "uri");

        assertThat(endpoint.host()).isEqualTo("::1");
        assertThat(endpoint.toString()).isEqualTo("redis://app@[::1]:6390/2");
        assertThat(RedisEndpoint.from(
                                Settings.builder()
                                        .set("uri", "redis://cache:6379")
                                        .build(),
                                "uri")
                        .toString())
                .isEqualTo("redis://cache:6379");
    }
}
