package dev.drkit.failover;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * A SQL health check on a JDBC URL that carries its password ({@code ?password=}, as
 * pgjdbc takes it) must not put it in its result: "No suitable driver found for URL" quotes it.
 */
class SqlHealthCheckRedactionTest {
    @Test
    void aUrlNoDriverTakesIsNotQuotedWithItsPassword() {
        HealthResult r = SqlHealthCheck.builder("db")
                // a typo of the scheme (or a driver missing from the class path)
                .jdbcUrl("jdbc:postgres://db:5432/app?user=app&password=hunter2", null, null)
                .build()
                .check();
        assertThat(r.healthy()).isFalse();
        assertThat(r.detail()).doesNotContain("hunter2");
    }
}
