package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Settings.redactText: free text a program printed, quoted in a message. */
class SettingsRedactTextTest {
    @Test
    void secretWordsWithAValueAreRedactedWhereverTheyStand() {
        assertThat(Settings.redactText("host=db password=s3cr3t dbname=app"))
                .isEqualTo("host=db password=**** dbname=app");
        assertThat(Settings.redactText("PGPASSWORD=s3cr3t\nnext")).isEqualTo("PGPASSWORD=****\nnext");
        assertThat(Settings.redactText("{\"api_token\": \"s3cr3t\", \"user\": \"ops\"}"))
                .isEqualTo("{\"api_token\": \"****\", \"user\": \"ops\"}");
        assertThat(Settings.redactText("secret-key: s3cr3t")).isEqualTo("secret-key: ****");
        assertThat(Settings.redactText("redis://:s3cr3t@cache:6379")).isEqualTo("redis://:****@cache:6379");
    }

    @Test
    void wordsWithoutAValueAndRedactedValuesStayAsTheyAre() {
        String text = "FATAL: password authentication failed for user \"ops\"; token expired";
        assertThat(Settings.redactText(text)).isEqualTo(text);
        assertThat(Settings.redactText("password=****")).isEqualTo("password=****");
        assertThat(Settings.redactText("")).isEmpty();
    }
}
