/**
 * Local PostgreSQL clusters for the DR drill and for tests: {@code PostgresLauncher} runs initdb,
 * starts a cluster on a free loopback port and stops it (as the {@code postgres} user when this
 * process is root); {@code PostgresBinaries} finds the server binaries ({@code PG_BIN}, Debian's
 * {@code /usr/lib/postgresql/N/bin}, or zonky's Maven-packaged bundles). {@code dr-postgres}'s
 * {@code EmbeddedPostgres} and {@code dr-testkit}'s {@code PostgresServer} are built on it.
 */
package dev.drkit.postgres.launcher;
