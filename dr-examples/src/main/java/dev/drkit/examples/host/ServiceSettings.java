package dev.drkit.examples.host;

import java.nio.file.Path;

/**
 * The example host service's settings, as it would read them from its own configuration.
 *
 * @param repository where backups go
 * @param jdbcUrl the service's database
 * @param user the database user
 * @param passwordFile a 0600 file holding that user's password (never the password itself)
 * @param configDir the service's configuration directory
 */
public record ServiceSettings(Path repository, String jdbcUrl, String user, Path passwordFile, Path configDir) {}
