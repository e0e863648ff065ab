package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.Settings;
import org.junit.jupiter.api.Test;

/** A password in a Redis URI must not reach an exception message. */
class RedisUriSecretsTest {
    @Test
    void aUriThatIsNotAUriDoesNotQuoteItsPassword() {
        // redis://user:PASS@host is documented; a caret or a space in PASS makes it no valid URI
        Settings s = Settings.builder()
                .set("uri", "redis://app:Tr0ub4dor^3@cache:6379/0")
                .build();
        assertThatThrownBy(() -> RedisTarget.builder().settings(s).build()).hasMessageNotContaining("Tr0ub4dor");
    }
}
