package dev.drkit.failover;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/**
 * Oracle's thin driver takes the user and password before the host without "://"
 * ({@code jdbc:oracle:thin:user/password@host:port/service}): the redaction of a URL's user part
 * looks for "://user:password@" only, so the password was shown in toString and in the result.
 */
class SqlHealthCheckOracleUrlTest {
    @Test
    void aSqlCheckNeverShowsAPasswordOfAnOracleThinUrl() {
        SqlHealthCheck check = SqlHealthCheck.builder("db")
                .jdbcUrl("jdbc:oracle:thin:app/hun@ter2@127.0.0.1:1/orcl", null, null)
                .build();
        assertThat(check.toString()).doesNotContain("ter2");
        assertThat(check.check().detail()).doesNotContain("ter2");
    }
}
