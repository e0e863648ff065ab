/**
 * PostgreSQL targets: {@code postgres-logical} (pg_dump/pg_restore) and {@code postgres-physical}
 * (base backups, WAL archiving and streaming, point-in-time recovery), with their verifiers. Hosts
 * name the target types or construct the targets; the rest of the package serves them.
 */
package dev.drkit.postgres;
