/**
 * The scheduler that runs a setup's backups and verifications on their cron schedules, once per
 * slot across every instance sharing a repository.
 */
package dev.drkit.scheduler;
