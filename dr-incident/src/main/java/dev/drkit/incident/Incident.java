package dev.drkit.incident;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;

/**
 * An incident: a condition that puts a target's recovery at risk, from when it was declared to
 * when it was resolved. Immutable; a change is a new instance ({@code with...} methods).
 *
 * @param id a stable identifier, also the PagerDuty dedup key, e.g.
 *     {@code drkit-db-rpo-at-risk-20261202T100000Z}
 * @param kind what was declared
 * @param target the target concerned (for a failover: the database or service that failed over)
 * @param severity how urgent
 * @param startedAt when it was declared
 * @param endedAt when it was resolved, or null while it is open
 * @param impact what it means for recovery, in one or two sentences
 * @param rootCause what caused it: the message of the event that declared it (never a secret)
 * @param status the current status line (investigating, the latest failure, or how it was resolved)
 * @param actions what happened since it was declared, one line each (e.g. the backup that resolved it)
 * @param lastNoticeAt when the latest notice about it was sent, or null before the first
 */
public record Incident(
        String id,
        Kind kind,
        String target,
        Severity severity,
        Instant startedAt,
        Instant endedAt,
        String impact,
        String rootCause,
        String status,
        List<String> actions,
        Instant lastNoticeAt) {

    /** What was declared. */
    public enum Kind {
        /**
         * The newest backup (or the data archived since, for a point-in-time-recovery target) is
         * older than the configured share of the target's RPO objective.
         */
        RPO_AT_RISK("RPO at risk"),
        /** Backups of the target failed several times in a row. */
        BACKUP_FAILURES("backups failing"),
        /** A verification of the target's backup failed. */
        VERIFICATION_FAILED("verification failed"),
        /** A failover started: the primary failed. */
        FAILOVER("failover");

        private final String title;

        Kind(String title) {
            this.title = title;
        }

        /** A short human title, e.g. {@code RPO at risk}. */
        public String title() {
            return title;
        }

        /** The kind in ids and payloads, e.g. {@code rpo-at-risk}. */
        public String slug() {
            return name().toLowerCase(Locale.ROOT).replace('_', '-');
        }
    }

    /** How urgent, in PagerDuty's terms (its {@code payload.severity}). */
    public enum Severity {
        CRITICAL,
        ERROR,
        WARNING;

        /** Lower case, as PagerDuty wants it. */
        public String wire() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    public Incident {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(kind, "kind");
        Objects.requireNonNull(target, "target");
        Objects.requireNonNull(severity, "severity");
        Objects.requireNonNull(startedAt, "startedAt");
        actions = actions == null ? List.of() : List.copyOf(actions);
    }

    /** Whether it is still open. */
    public boolean open() {
        return endedAt == null;
    }

    /** How long it lasted, or has lasted until {@code now} while it is open. */
    public Duration duration(Instant now) {
        return Duration.between(startedAt, endedAt != null ? endedAt : now);
    }

    /** A one-line title, e.g. {@code RPO at risk: db}. */
    public String title() {
        return kind.title() + ": " + target;
    }

    Incident withStatus(String newStatus, String action) {
        return new Incident(
                id,
                kind,
                target,
                severity,
                startedAt,
                endedAt,
                impact,
                rootCause,
                newStatus,
                plus(action),
                lastNoticeAt);
    }

    Incident resolved(Instant at, String how) {
        return new Incident(id, kind, target, severity, startedAt, at, impact, rootCause, "resolved", plus(how), at);
    }

    Incident noticed(Instant at) {
        return new Incident(id, kind, target, severity, startedAt, endedAt, impact, rootCause, status, actions, at);
    }

    private List<String> plus(String action) {
        if (action == null) {
            return actions;
        }
        List<String> out = new ArrayList<>(actions);
        out.add(action);
        // a long outage must not grow the state file and the notices without bound
        return out.size() > 20 ? out.subList(out.size() - 20, out.size()) : out;
    }
}
