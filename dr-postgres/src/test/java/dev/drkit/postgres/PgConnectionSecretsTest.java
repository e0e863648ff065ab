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
}
