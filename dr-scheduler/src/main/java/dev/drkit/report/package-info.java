/**
 * The DR report: a self-contained HTML page per repository with, per target, a timeline of backups,
 * verifications and restore tests, RPO and RTO against the objectives, the verification checklist, the
 * recovery testing schedule and open incidents.
 */
package dev.drkit.report;
