package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SettingsMaskTest {
    @Test
    void aLongSecretIsMaskedWhereverItStands() {
        assertThat(Settings.mask("auth failed for xS3cretPassw0rdx and S3cretPassw0rd", "S3cretPassw0rd"))
                .isEqualTo("auth failed for x****x and ****");
    }

    @Test
    void aShortSecretIsMaskedAsAWordOfItsOwnAndLeavesLongerWordsReadable() {
        // a password "pg": the message stays readable, the password still goes
        assertThat(Settings.mask(
                        "FATAL: password authentication failed; upgrade pg_hba.conf (password=pg; redis://:pg@db)",
                        "pg"))
                .isEqualTo("FATAL: password authentication failed; upgrade ****_hba.conf (password=****; "
                        + "redis://:****@db)");
        assertThat(Settings.mask("pg", "pg")).isEqualTo("****");
        assertThat(Settings.mask("pgpg pg", "pg")).isEqualTo("pgpg ****");
    }

    @Test
    void aShortSecretOfSignsIsMaskedEvenBetweenLetters() {
        assertThat(Settings.mask("a#!b", "#!")).isEqualTo("a****b");
    }

    @Test
    void nothingToMaskChangesNothing() {
        assertThat(Settings.mask("text", null)).isEqualTo("text");
        assertThat(Settings.mask("text", "")).isEqualTo("text");
        assertThat(Settings.mask(null, "pw")).isNull();
    }
}
