package dev.drkit.incident;

import java.io.IOException;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Posts notices to a Slack-compatible incoming webhook (Slack, Mattermost, Rocket.Chat and
 * others take the same): {@code {"text": "<title>\n<body>"}}, and with blocks a header and a
 * section in Slack's Block Kit besides, for clients that show them. The URL holds the hook's
 * token, so it never appears in {@code toString()}, logs or events. Thread-safe.
 */
public final class SlackWebhookChannel implements IncidentChannel {
    private static final int MAX_HEADER = 150;
    private static final int MAX_SECTION = 3000;

    private final URI url;
    private final boolean blocks;

    /**
     * @param url the incoming webhook's URL (http or https)
     * @param blocks whether to send Block Kit blocks besides the text
     * @throws IllegalArgumentException when the URL is not http(s)
     */
    public SlackWebhookChannel(URI url, boolean blocks) {
        this.url = HttpJson.checkUrl(url, "Slack webhook");
        this.blocks = blocks;
    }

    @Override
    public void send(Notice notice) throws IOException {
        HttpJson.post(url, payload(notice, blocks));
    }

    static Map<String, Object> payload(Notice notice, boolean blocks) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("text", "*" + escape(notice.title()) + "*\n" + escape(notice.text()));
        if (blocks) {
            body.put(
                    "blocks",
                    List.of(
                            Map.of(
                                    "type",
                                    "header",
                                    "text",
                                    Map.of("type", "plain_text", "text", cut(notice.title(), MAX_HEADER))),
                            Map.of(
                                    "type",
                                    "section",
                                    "text",
                                    Map.of(
                                            "type",
                                            "mrkdwn",
                                            "text",
                                            cut("```" + escape(notice.text()) + "```", MAX_SECTION)))));
        }
        return body;
    }

    /**
     * Text for mrkdwn: Slack acts on {@code <!channel>}, {@code <@U123>} and {@code <url|label>},
     * so {@code &}, {@code <} and {@code >} from the incident (target names, error messages that
     * quote file names or server replies) become entities and are shown as written.
     */
    static String escape(String s) {
        // Mattermost and Rocket.Chat also act on plain @channel, @all, @here: a word joiner keeps them text
        return s.replace("&", "&amp;")
                .replace("<", "&lt;")
                .replace(">", "&gt;")
                .replaceAll("(?i)@(channel|all|here|everyone)\\b", "@\u2060$1");
    }

    private static String cut(String s, int max) {
        return s.length() <= max ? s : s.substring(0, max - 1) + "…";
    }

    @Override
    public String toString() {
        return "Slack webhook at " + url.getHost();
    }
}
