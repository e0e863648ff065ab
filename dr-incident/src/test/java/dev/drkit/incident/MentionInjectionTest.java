package dev.drkit.incident;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * SlackWebhookChannel is documented for Mattermost and Rocket.Chat too, and both act on plain
 * {@code @channel}, {@code @all} and {@code @here} in a webhook's text (Slack needs
 * {@code <!channel>}, which is escaped). A file in the backed-up data named {@code @all}, quoted in
 * an error message, pages every member of the channel under drkit's name.
 */
class MentionInjectionTest {
    @Test
    void plainAtMentionsFromAnErrorMessageAreShownNotActedOn() {
        Instant t = Instant.parse("2026-12-02T12:00:00Z");
        Incident i = new Incident(
                "drkit-db-verification-failed-20261202T120000Z",
                Incident.Kind.VERIFICATION_FAILED,
                "db",
                Incident.Severity.ERROR,
                t,
                null,
                "impact",
                "cannot read /srv/data/@all: permission denied; see @channel and @here",
                "investigating",
                List.of(),
                null);
        Notice n = NoticeTemplates.defaults().render(Notice.Type.INITIAL, i, t, t.plusSeconds(3600));
        for (boolean blocks : List.of(false, true)) {
            Map<String, Object> p = SlackWebhookChannel.payload(n, blocks);
            assertThat(p.toString()).doesNotContainPattern("(^|[^\\w])@(all|channel|here)\\b");
        }
    }
}
