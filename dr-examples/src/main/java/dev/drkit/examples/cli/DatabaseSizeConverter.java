package dev.drkit.examples.cli;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.examples.drill.DatabaseDrill;
import picocli.CommandLine;

/**
 * {@code drill --database-size}: a size written as the library's settings take sizes
 * ({@code 100MB}, {@code 1GB}, {@code 4GiB}; binary units, so {@code 1GB} is 1024 MiB), at
 * least {@link DatabaseDrill#MIN_DATABASE_SIZE}. Stateless.
 */
final class DatabaseSizeConverter implements CommandLine.ITypeConverter<Long> {
    @Override
    public Long convert(String value) {
        return parse(value);
    }

    /**
     * The size in bytes.
     *
     * @throws CommandLine.TypeConversionException saying what to give instead (picocli makes it a
     *     usage error naming the option)
     */
    static long parse(String value) {
        long bytes;
        try {
            bytes = Settings.parseSize("database-size", value);
        } catch (ConfigException e) {
            throw new CommandLine.TypeConversionException("'" + value + "' is not a size the drill can load; give "
                    + "e.g. 100MB, 1GB or 4GiB (binary units: 1GB is 1024 MiB)");
        }
        if (bytes < DatabaseDrill.MIN_DATABASE_SIZE) {
            throw new CommandLine.TypeConversionException("'" + value + "' is too small: the sample database needs "
                    + "at least " + (DatabaseDrill.MIN_DATABASE_SIZE >> 20) + "MiB; give e.g. 100MB or 1GB");
        }
        return bytes;
    }
}
