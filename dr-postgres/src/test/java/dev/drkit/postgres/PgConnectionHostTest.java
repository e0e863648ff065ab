package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import org.junit.jupiter.api.Test;

/**
 * A URL whose host java.net.URI cannot parse (an underscore, as in Docker Compose service names;
 * pgjdbc's multi-host form) must be refused, not replaced by localhost:5432: a failover would then
 * check (and find "down", or find the standby itself) a server that is not the old primary.
 */
class PgConnectionHostTest {
    @Test
    void aHostWithAnUnderscoreIsRefusedNotTakenForLocalhost() {
        Settings s = Settings.builder()
                .set("url", "jdbc:postgresql://old_primary:6543/app")
                .build();
        assertThatThrownBy(() -> PgConnection.from(s).endpoint())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("old_primary");
    }

    @Test
    void aMultiHostUrlIsRefusedNotTakenForLocalhost() {
        Settings s = Settings.builder()
                .set("url", "jdbc:postgresql://db1:5432,db2:5432/app?targetServerType=primary")
                .build();
        assertThatThrownBy(() -> PgConnection.from(s).endpoint()).isInstanceOf(ConfigException.class);
    }
}
