package dev.drkit.incident;

import dev.drkit.spi.support.Hosts;
import java.io.IOException;
import java.net.URI;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * Posts notices as JSON to a generic webhook, in the shape {@link dev.drkit.notify.WebhookListener}
 * posts events: {@code {"type":"INCIDENT_OPENED","target":..,"at":..,"message":<title>,"host":..,
 * "details":{"incidentId":..,"notice":"initial","kind":..,"severity":..,"startedAt":..,
 * "endedAt":..,"impact":..,"rootCause":..,"status":..,"text":<rendered notice>}}}. The type is
 * {@code INCIDENT_OPENED} for an initial notice, {@code INCIDENT_UPDATE} for an update and
 * {@code INCIDENT_RESOLVED} for a resolution. The URL may hold a token: it never appears in
 * {@code toString()}, logs or events. Thread-safe.
 */
public final class WebhookChannel implements IncidentChannel {
    private final URI url;

    /**
     * @param url where to POST (http or https)
     * @throws IllegalArgumentException when the URL is not http(s)
     */
    public WebhookChannel(URI url) {
        this.url = HttpJson.checkUrl(url, "webhook");
    }

    @Override
    public void send(Notice notice) throws IOException {
        HttpJson.post(url, payload(notice));
    }

    static Map<String, Object> payload(Notice notice) {
        Incident i = notice.incident();
        Map<String, Object> details = new LinkedHashMap<>();
        details.put("incidentId", i.id());
        details.put("notice", notice.type().name().toLowerCase(Locale.ROOT));
        details.put("kind", i.kind().slug());
        details.put("severity", i.severity().wire());
        details.put("startedAt", i.startedAt().toString());
        details.put("endedAt", i.endedAt() == null ? null : i.endedAt().toString());
        details.put("impact", i.impact());
        details.put("rootCause", i.rootCause());
        details.put("status", i.status());
        details.put("text", notice.text());
        Map<String, Object> body = new LinkedHashMap<>();
        body.put(
                "type",
                switch (notice.type()) {
                    case INITIAL -> "INCIDENT_OPENED";
                    case UPDATE -> "INCIDENT_UPDATE";
                    case RESOLUTION -> "INCIDENT_RESOLVED";
                });
        body.put("target", i.target());
        body.put("backupId", null);
        body.put("at", notice.at().toString());
        body.put("message", notice.title());
        body.put("host", Hosts.name());
        body.put("details", details);
        return body;
    }

    @Override
    public String toString() {
        return "webhook at " + url.getHost();
    }
}
