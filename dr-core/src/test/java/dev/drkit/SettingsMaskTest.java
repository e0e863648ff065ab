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

    @Test
    void aShortSecretBesideLettersOfAnotherScriptIsMasked() {
        // Chinese and Japanese run their words together: a password beside them is still a word of its own
        assertThat(Settings.mask("用户pg的密码认证失败", "pg")).isEqualTo("用户****的密码认证失败");
        assertThat(Settings.mask("パスワードpgが違います", "pg")).isEqualTo("パスワード****が違います");
        assertThat(Settings.mask("Пароль:pgне", "pg")).isEqualTo("Пароль:****не");
        // within a word of its own script it stays readable, as in upgrade
        assertThat(Settings.mask("upgrade", "pg")).isEqualTo("upgrade");
        assertThat(Settings.mask("pg15", "pg")).isEqualTo("pg15");
        // nor is a password of such letters ever part of a longer word
        assertThat(Settings.mask("密码是秘密了", "秘密")).isEqualTo("密码是****了");
    }
}
