/**
 * Incidents from drkit's events and status, and the notices about them. An
 * {@link dev.drkit.incident.IncidentManager} is a {@link dev.drkit.DrListener} that declares an
 * {@link dev.drkit.incident.Incident} when a target's RPO is at risk, when its backups fail
 * several times in a row, when a verification fails or when a failover starts, and resolves it
 * when the condition clears. Each incident gets an initial notice, updates at an interval while
 * it stays open, and a resolution notice, rendered from Mustache templates
 * ({@link dev.drkit.incident.NoticeTemplates}) and delivered to {@link dev.drkit.incident.IncidentChannel}s:
 * Slack-compatible incoming webhooks, PagerDuty Events API v2, a generic JSON webhook and e-mail.
 * {@link dev.drkit.incident.IncidentSetup} builds all of it from a setup file's
 * {@code notifications.incidents} section. Public.
 */
package dev.drkit.incident;
