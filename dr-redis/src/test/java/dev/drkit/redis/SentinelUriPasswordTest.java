package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.drkit.ConfigException;
import org.junit.jupiter.api.Test;

/**
 * A Sentinel URI whose password holds a '/' (not percent-encoded) was cut at that slash, so the
 * start of the password was taken for a sentinel address and shown in the error. The user
 * information now ends at the last '@'.
 */
class SentinelUriPasswordTest {

    @Test
    void aPasswordWithASlashIsReadWholeAndNeverShown() {
        SentinelResolver.Parsed p =
                SentinelResolver.parse("redis-sentinel://backup:Sup3r/Secret@10.0.0.5:26379/mymaster", "uri");
        assertThat(p.rawUserInfo()).isEqualTo("backup:Sup3r/Secret");
        assertThat(p.sentinels()).containsExactly(new SentinelResolver.Address("10.0.0.5", 26379));
        assertThat(p.master()).isEqualTo("mymaster");
        assertThat(p.toString()).doesNotContain("Sup3r").doesNotContain("Secret");
    }

    @Test
    void aBadAddressAfterAPasswordWithASlashShowsNoneOfThePassword() {
        Throwable t = catchThrowable(
                () -> SentinelResolver.parse("redis-sentinel://backup:pw:12/rest@10.0.0.5:bad/mymaster", "uri"));
        assertThat(t).isNotNull();
        assertThat(t.getMessage()).doesNotContain("pw").doesNotContain("rest@");
    }

    @Test
    void aSecondAtIsRefusedRatherThanGuessedAndNothingOfTheUriIsShown() {
        // the master name cache@eu, or a password s3cret@10.0.0.5:26379/cache: either guess could
        // send the password to a host the user did not name
        Throwable t = catchThrowable(
                () -> SentinelResolver.parse("redis-sentinel://backup:s3cret@10.0.0.5:26379/cache@eu/2", "uri"));
        assertThat(t).isInstanceOf(ConfigException.class).hasMessageContaining("%40");
        assertThat(t.getMessage()).doesNotContain("s3cret").doesNotContain("cache@eu");
        SentinelResolver.Parsed encoded =
                SentinelResolver.parse("redis-sentinel://backup:s3cret%40x@10.0.0.5:26379/cache%40eu/2", "uri");
        assertThat(encoded.master()).isEqualTo("cache@eu");
        assertThat(encoded.database()).isEqualTo(2);
        assertThat(encoded.sentinels()).containsExactly(new SentinelResolver.Address("10.0.0.5", 26379));
    }
}
