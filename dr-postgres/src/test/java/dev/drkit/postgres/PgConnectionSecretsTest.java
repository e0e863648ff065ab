package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.Settings;
import org.junit.jupiter.api.Test;

/** A password in a JDBC URL must not reach an exception message. */
class PgConnectionSecretsTest {
    @Test
    void aUrlThatIsNotAUriDoesNotQuoteItsPassword() {
        // a space, a caret or a quote in a password is common; the URL is then no valid URI
        Settings s = Settings.builder()
                .set("url", "jdbc:postgresql://db:5432/app?user=u&password=Tr0ub4dor^3 horse")
                .build();
        assertThatThrownBy(() -> PgConnection.from(s))
                .hasMessageNotContaining("Tr0ub4dor")
                .hasMessageNotContaining("horse");
    }

    @Test
    void aUrlWithoutTheJdbcPrefixDoesNotQuoteTheCredentialsItHolds() {
        // the libpq form that psql takes is the first thing people paste
        for (String url : new String[] {
            "postgresql://app:Tr0ub4dor@db:5432/app",
            "postgres://app:Tr0ub4dor@db/app?sslmode=require",
            "jdbc:postgres://app:Tr0ub4dor@db/app",
            "postgresql://app:x/Tr0ub4dor@db/app",
            "app:Tr0ub4dor@db/app"
        }) {
            Settings s = Settings.builder().set("url", url).build();
            assertThatThrownBy(() -> PgConnection.from(s))
                    .hasMessageContaining("must start with jdbc:postgresql://")
                    .hasMessageContaining("db")
                    .hasMessageNotContaining("Tr0ub4dor");
        }
    }
}
