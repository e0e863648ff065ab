package dev.drkit.incident;

import java.time.Instant;
import java.util.Objects;

/**
 * One notice about an incident, rendered and ready for a channel. Immutable.
 *
 * @param type which notice
 * @param incident the incident as it stood when the notice was made
 * @param title a one-line summary (a mail's subject, a page's summary)
 * @param text the rendered body, from the {@link NoticeTemplates}
 * @param at when the notice was made
 * @param nextUpdateAt when the next update is due, or null for a resolution notice
 */
public record Notice(Type type, Incident incident, String title, String text, Instant at, Instant nextUpdateAt) {

    /** Which notice. */
    public enum Type {
        /** The plan's "Initial Incident Notice": sent when the incident is declared. */
        INITIAL,
        /** Sent at the update interval while the incident is open, and when a failover fails. */
        UPDATE,
        /** The plan's "Resolution Notice": start, end, duration, impact, root cause, actions. */
        RESOLUTION
    }

    public Notice {
        Objects.requireNonNull(type, "type");
        Objects.requireNonNull(incident, "incident");
        Objects.requireNonNull(title, "title");
        Objects.requireNonNull(text, "text");
        Objects.requireNonNull(at, "at");
    }
}
