package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Values a host's configuration may hold by mistake: each is a ConfigException that names its key. */
class HostileSettingsValuesTest {

    @Test
    void aDurationTooLargeForALongIsAConfigProblemNotANumberFormatException() {
        // 20 digits: Long.parseLong fails; "For input string" reached the CLI (exit 1) and Spring's startup
        assertThatThrownBy(() -> Settings.parseDuration("keep-within", "9999999999999999999d"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("keep-within")
                .hasMessageNotContaining("For input string");
    }

    @Test
    void aDurationThatOverflowsADurationIsAConfigProblemNotAnArithmeticException() {
        assertThatThrownBy(() -> Settings.parseDuration("rpo", "999999999999999y"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("rpo")
                .hasMessageNotContaining("Exceeds capacity");
        assertThatThrownBy(() -> Settings.parseDuration("rpo", "9223372036854775807s1s"))
                .isInstanceOf(ConfigException.class);
    }

    @Test
    void aDurationSoLongThatTimeArithmeticOverflowsIsRefusedWhenRead() {
        // accepted before, then 'Instant exceeds minimum or maximum instant' in the middle of a prune
        assertThatThrownBy(() -> Settings.parseDuration("keep-within", "99999999999y"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("keep-within");
        assertThat(Settings.parseDuration("keep-within", "100y")).isEqualTo(Duration.ofDays(36_500));
    }

    @Test
    void aNegativeIsoDurationIsRefusedWhenRead() {
        // "P-1D" read as minus one day: a retention, an RPO, a lock wait or a grace period that is negative
        assertThatThrownBy(() -> Settings.parseDuration("keep-within", "P-1D"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("keep-within")
                .hasMessageContaining("negative");
        assertThatThrownBy(() -> Settings.parseDuration("lock-wait", "-PT5S")).isInstanceOf(ConfigException.class);
    }

    @Test
    void drKitConfigFromCollectsAnOverlongDurationAsAProblem() {
        assertThatThrownBy(() -> DrKitConfig.from(Settings.of(
                        Map.of("repository", "/tmp/drkit-hostile-settings", "lock-wait", "99999999999999999999s"))))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("lock-wait");
    }
}
