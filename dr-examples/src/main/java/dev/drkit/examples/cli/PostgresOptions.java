package dev.drkit.examples.cli;

import dev.drkit.Settings;
import picocli.CommandLine.Option;

/** Connection options of the PostgreSQL targets and verifiers. */
final class PostgresOptions {
    @Option(
            names = "--url",
            paramLabel = "JDBC_URL",
            description = "postgres: jdbc:postgresql://HOST:PORT/DATABASE[?sslmode=...]")
    String url;

    @Option(names = "--user", paramLabel = "USER", description = "postgres, redis: the user to connect as.")
    String user;

    @Option(
            names = "--password-file",
            paramLabel = "FILE",
            description =
                    "postgres, redis: file whose first line is the password (else env PGPASSWORD, REDISCLI_AUTH).")
    String passwordFile;

    @Option(
            names = "--bin-dir",
            paramLabel = "DIR",
            description = "postgres: where pg_dump/pg_restore live (else PG_BIN, PATH, /usr/lib/postgresql/N/bin).")
    String binDir;

    Settings.Builder addTo(Settings.Builder b) {
        OptionValues.set(b, "url", url);
        OptionValues.set(b, "user", user);
        OptionValues.set(b, "password-file", passwordFile);
        OptionValues.set(b, "bin-dir", binDir);
        return b;
    }
}
