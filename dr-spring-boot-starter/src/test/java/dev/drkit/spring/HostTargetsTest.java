package dev.drkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.URI;
import org.junit.jupiter.api.Test;

class HostTargetsTest {
    @Test
    void theApplicationsRedisServerBecomesAUriWithoutCredentialsEvenOnAnIpv6Address() {
        assertThat(HostTargets.redisUri(false, "cache.internal", 6379, 2)).isEqualTo("redis://cache.internal:6379/2");
        assertThat(HostTargets.redisUri(true, "::1", 6380, 0)).isEqualTo("rediss://[::1]:6380/0");
        assertThat(URI.create(HostTargets.redisUri(false, "fe80::1", 6379, 0)).getHost())
                .isEqualTo("[fe80::1]");
    }
}
