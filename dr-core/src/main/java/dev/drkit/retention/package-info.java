/**
 * The grandfather-father-son retention policy (keep the last N, hourly, daily, weekly, monthly
 * and yearly backups) hosts construct or name as {@code gfs}.
 */
package dev.drkit.retention;
