package dev.drkit;

import java.util.Arrays;
import java.util.Locale;
import java.util.stream.Collectors;

/**
 * How deep a verification goes, cheapest first. Verifying at a level runs every verifier
 * of that level and below that applies to the backup's target type.
 */
public enum VerifyLevel {
    /** Re-read the stored bytes and compare their size and sha256 with the manifest. */
    CHECKSUM,
    /** Decrypt and decompress every artifact end to end, checking the raw size and CRC32C. */
    DECODE,
    /** Restore into a scratch destination and validate the result. */
    RESTORE;

    /** Parses {@code checksum}, {@code decode} or {@code restore}, case-insensitively. */
    public static VerifyLevel parse(String text) {
        try {
            return valueOf(text.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new ConfigException("unknown verify level '" + text + "'; use one of "
                    + Arrays.stream(values())
                            .map(v -> v.name().toLowerCase(Locale.ROOT))
                            .collect(Collectors.joining(", ")));
        }
    }
}
