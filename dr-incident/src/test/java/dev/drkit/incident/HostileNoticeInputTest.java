package dev.drkit.incident;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.drkit.ConfigException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** What an incident's values (error messages, target names) and a setup's template files may hold. */
class HostileNoticeInputTest {
    private static final Instant START = Instant.parse("2026-12-02T10:00:00Z");

    /** A backup failure whose message quotes a file name the backed-up data chose. */
    private static Notice notice(String target, String rootCause) {
        Incident i = new Incident(
                "drkit-db-backup-failures-20261202T100000Z",
                Incident.Kind.BACKUP_FAILURES,
                target,
                Incident.Severity.ERROR,
                START,
                null,
                "2 backups failed in a row",
                rootCause,
                "investigating",
                List.of(),
                START);
        return NoticeTemplates.defaults().render(Notice.Type.INITIAL, i, START, START.plusSeconds(3600));
    }

    @Test
    void slackControlSequencesInAMessageAreShownNotActedOn() {
        // Slack reads <!channel>, <@U..> and <url|label> in mrkdwn text: a file named so in the
        // backed-up data paged the whole channel and showed a forged link under drkit's name
        Notice n = notice(
                "db<!here>",
                "cannot read /srv/data/<!channel> <https://evil.example/restore|Restore steps> ```x``` & more");
        for (boolean blocks : List.of(false, true)) {
            Map<String, Object> p = SlackWebhookChannel.payload(n, blocks);
            String text = (String) p.get("text");
            assertThat(text)
                    .doesNotContain("<!channel>")
                    .doesNotContain("<!here>")
                    .doesNotContain("<https://")
                    .contains("&lt;!channel&gt;")
                    .contains("&amp; more");
            if (blocks) {
                String section = String.valueOf(((List<?>) p.get("blocks")).get(1));
                assertThat(section).doesNotContain("<!channel>").doesNotContain("<https://");
            }
        }
    }

    @Test
    void templateSyntaxInAValueIsNotEvaluated() {
        Notice n = notice("db", "{{host}} {{#actions}}x{{/actions}}");
        assertThat(n.text()).contains("Root Cause: {{host}} {{#actions}}x{{/actions}}");
    }

    @Test
    void aTemplateThatIsNoRegularFileIsHeldToTheSizeLimitToo() {
        // Files.size of a device is 0: /dev/zero passed the 64 KiB check and was read to the end of the heap
        Path zero = Path.of("/dev/zero");
        assertTimeoutPreemptively(
                Duration.ofSeconds(20),
                () -> assertThatThrownBy(() -> NoticeTemplates.of(Map.of(Notice.Type.INITIAL, zero)))
                        .isInstanceOf(ConfigException.class)
                        .hasMessageContaining("64 KiB"));
    }
}
