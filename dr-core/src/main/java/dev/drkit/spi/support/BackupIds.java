package dev.drkit.spi.support;

import dev.drkit.ConfigException;
import dev.drkit.internal.repo.RepositoryLayout;
import java.security.SecureRandom;
import java.time.Instant;
import java.time.LocalDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * Backup ids such as {@code 20250103T020000Z-3f9a1c}: a UTC timestamp, so that ids sort by
 * time for programs and humans alike, and a random suffix, so that two backups in the same
 * second never collide.
 */
public final class BackupIds {
    private static final DateTimeFormatter FORMAT =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'").withZone(ZoneOffset.UTC);
    private static final Pattern ID = Pattern.compile("\\d{8}T\\d{6}Z-[0-9a-f]{6}");
    private static final Pattern NAME = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]{0,99}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private BackupIds() {}

    public static String next(Instant time) {
        byte[] suffix = new byte[3];
        RANDOM.nextBytes(suffix);
        return FORMAT.format(time.truncatedTo(ChronoUnit.SECONDS)) + "-"
                + HexFormat.of().formatHex(suffix);
    }

    public static boolean isValid(String id) {
        return id != null && ID.matcher(id).matches();
    }

    /** The time a backup id names (to the second). */
    public static Instant time(String id) {
        if (!isValid(id)) {
            throw new IllegalArgumentException("not a backup id: " + id);
        }
        return LocalDateTime.parse(id.substring(0, 15), DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss"))
                .toInstant(ZoneOffset.UTC);
    }

    /** Whether a target or type name is well formed (see {@link #checkTargetName}). */
    public static boolean isValidName(String name) {
        return name != null && NAME.matcher(name).matches();
    }

    /** Whether an artifact name is well formed (see {@link #checkArtifactName}). */
    public static boolean isValidArtifactName(String name) {
        return isValidName(name)
                && !name.startsWith("manifest.")
                && !name.endsWith(".sha256")
                && !name.equals(RepositoryLayout.DELETING);
    }

    /** Checks a backup id given by a user. */
    public static String check(String id) {
        if (!isValid(id)) {
            throw new ConfigException("'" + id + "' is not a backup id (expected e.g. 20250103T020000Z-3f9a1c); "
                    + "listing the target's backups (DrKit.list) shows the ids");
        }
        return id;
    }

    /** Checks a target name: letters, digits, {@code .}, {@code _}, {@code -}, up to 100. */
    public static String checkTargetName(String name) {
        if (name == null || !NAME.matcher(name).matches()) {
            throw new ConfigException("invalid target name '" + name
                    + "': use letters, digits, '.', '_' and '-', starting with a letter or digit");
        }
        return name;
    }

    /** Checks an artifact name: a simple file name that cannot clash with repository files. */
    public static String checkArtifactName(String name) {
        if (!isValidArtifactName(name)) {
            throw new ConfigException("invalid artifact name '" + name + "'");
        }
        return name;
    }
}
