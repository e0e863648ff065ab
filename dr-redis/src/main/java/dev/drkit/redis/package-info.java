/**
 * The {@code redis} target: RDB snapshots over the replication protocol, or keys with DUMP and
 * RESTORE, restored as a file or online, with RDB and load-test verifiers.
 */
package dev.drkit.redis;
