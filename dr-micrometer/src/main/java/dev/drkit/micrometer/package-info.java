/**
 * Micrometer meters for drkit ({@link dev.drkit.micrometer.DrMetrics}): a {@link dev.drkit.DrListener}
 * that times backups, restores and verifications and keeps per-target gauges of the live RPO and the
 * measured RTO in the host's {@code MeterRegistry}. Public.
 */
package dev.drkit.micrometer;
