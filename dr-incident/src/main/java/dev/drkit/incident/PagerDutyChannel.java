package dev.drkit.incident;

import dev.drkit.spi.support.Hosts;
import java.io.IOException;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Sends notices to PagerDuty's Events API v2: an initial notice and each update as a
 * {@code trigger} (an update to an open alert is added to it, not paged again), a resolution as
 * a {@code resolve}, all with the incident's id as {@code dedup_key}. The routing key is a
 * secret: it is only ever sent in the request body, never in {@code toString()}, logs or
 * events. Thread-safe.
 */
public final class PagerDutyChannel implements IncidentChannel {
    /** The Events API v2 endpoint. */
    public static final URI DEFAULT_ENDPOINT = URI.create("https://events.pagerduty.com/v2/enqueue");

    private static final int MAX_SUMMARY = 1024;

    private final String routingKey;
    private final URI endpoint;

    /**
     * @param routingKey the integration's routing key (a secret)
     * @param endpoint the Events API endpoint, {@link #DEFAULT_ENDPOINT} unless a proxy or a test
     *     receiver stands in
     * @throws IllegalArgumentException when the key is empty or holds white space, or the
     *     endpoint is not http(s)
     */
    public PagerDutyChannel(String routingKey, URI endpoint) {
        if (routingKey == null
                || routingKey.isBlank()
                || !routingKey.strip().equals(routingKey)
                || routingKey.chars().anyMatch(Character::isWhitespace)) {
            throw new IllegalArgumentException(
                    "the PagerDuty routing key is empty or holds white space; give the integration key of the "
                            + "service's Events API v2 integration");
        }
        this.routingKey = routingKey;
        this.endpoint = HttpJson.checkUrl(endpoint, "PagerDuty endpoint");
    }

    @Override
    public void send(Notice notice) throws IOException {
        HttpJson.post(endpoint, payload(notice, routingKey));
    }

    static Map<String, Object> payload(Notice notice, String routingKey) {
        Incident i = notice.incident();
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("routing_key", routingKey);
        body.put("dedup_key", i.id());
        if (notice.type() == Notice.Type.RESOLUTION) {
            body.put("event_action", "resolve");
            return body;
        }
        body.put("event_action", "trigger");
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("impact", i.impact());
        details.put("root_cause", i.rootCause());
        details.put("status", i.status());
        details.put("notice", notice.text());
        Map<String, Object> payload = new LinkedHashMap<>();
        String summary = notice.title();
        payload.put("summary", summary.length() <= MAX_SUMMARY ? summary : summary.substring(0, MAX_SUMMARY));
        payload.put("source", Hosts.name());
        payload.put("severity", i.severity().wire());
        payload.put("timestamp", i.startedAt().toString());
        payload.put("component", i.target());
        payload.put("group", "drkit");
        payload.put("class", i.kind().slug());
        payload.put("custom_details", details);
        body.put("payload", payload);
        body.put("client", "drkit");
        return body;
    }

    @Override
    public String toString() {
        return "PagerDuty at " + endpoint.getHost();
    }
}
