package dev.drkit;

import dev.drkit.internal.pipeline.Compression;
import dev.drkit.spi.support.BackupIds;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;

/**
 * What to back up: a target's name (its folder in the repository, e.g. {@code config}),
 * its type ({@code files}, {@code postgres-logical}, ...) and its settings.
 *
 * <p>Two settings apply to targets of every type and belong to the kit, not to the type:
 * {@value #DEDUP} and {@value #COMPRESSION_LEVEL}. The type's provider is given the rest
 * ({@link #typeSettings()}).
 *
 * @param name target name: letters, digits, {@code . _ -}
 * @param type target type, as a {@link dev.drkit.spi.BackupTargetProvider} names it
 * @param settings the target's settings
 */
public record TargetSpec(String name, String type, Settings settings) {

    public TargetSpec {
        BackupIds.checkTargetName(name);
        Objects.requireNonNull(type, "type");
        settings = settings == null ? Settings.empty() : settings;
    }

    /** Setting of every type: store this target's backups deduplicated ({@code true}/{@code false}; else {@link DrKitConfig#dedup()}). */
    public static final String DEDUP = "dedup";

    /** Why {@link #DEDUP} is refused with another codec than zstd; each caller puts the setting it read first. */
    public static final String DEDUP_NEEDS_ZSTD =
            "deduplicated storage compresses each chunk with zstd; set 'compression' to zstd, or turn 'dedup' off";

    /**
     * Setting of every type: this target's compression level, -1 for the codec's default (else
     * {@link DrKitConfig#compressionLevel()}).
     */
    public static final String COMPRESSION_LEVEL = "compression-level";

    /** The settings the type's provider takes: all but {@value #DEDUP} and {@value #COMPRESSION_LEVEL}. */
    public Settings typeSettings() {
        return settings.toBuilder().remove(DEDUP).remove(COMPRESSION_LEVEL).build();
    }

    /** Only this target's {@value #DEDUP} and {@value #COMPRESSION_LEVEL}, those it sets. */
    public Settings kitSettings() {
        Settings.Builder b = Settings.builder();
        settings.get(DEDUP).ifPresent(v -> b.set(DEDUP, v));
        settings.get(COMPRESSION_LEVEL).ifPresent(v -> b.set(COMPRESSION_LEVEL, v));
        return b.build();
    }

    /**
     * This target's {@value #COMPRESSION_LEVEL}, checked against the codec's range.
     *
     * @param codec the repository's codec ({@link DrKitConfig#compression()}: {@code zstd},
     *     {@code gzip}, {@code lz4}, {@code xz} or {@code none})
     * @return empty when the target sets none
     * @throws ConfigException when the setting is not a level of that codec (naming the range),
     *     or the codec is unknown
     */
    public OptionalInt compressionLevel(String codec) {
        Compression.parse(Objects.requireNonNull(codec, "codec")); // an unknown codec is not the target's fault
        Optional<String> own = settings.get(COMPRESSION_LEVEL);
        if (own.isEmpty()) {
            return OptionalInt.empty();
        }
        try {
            return OptionalInt.of(compressionLevel(codec, own.get()));
        } catch (ConfigException e) {
            throw new ConfigException(COMPRESSION_LEVEL + " of target " + name + ": " + e.getMessage());
        }
    }

    /**
     * A compression level checked against a codec's range.
     *
     * @param codec {@code zstd}, {@code gzip}, {@code lz4}, {@code xz} or {@code none}
     * @param level the level as written, for example {@code "3"}; -1 is the codec's default
     * @throws ConfigException saying which levels the codec takes (or that the codec is unknown)
     */
    public static int compressionLevel(String codec, String level) {
        Compression compression = Compression.parse(codec);
        int parsed;
        try {
            parsed = Integer.parseInt(level.trim());
        } catch (NumberFormatException e) {
            parsed = Integer.MIN_VALUE;
        }
        if (parsed < -1 || parsed > compression.maxLevel()) {
            throw new ConfigException("'" + level + "' is not a " + compression.codecName()
                    + " level; use -1 (the codec's default) to " + compression.maxLevel());
        }
        return parsed;
    }

    /**
     * Checks the kit's settings of this target as a backup would, before anything is made:
     * {@value #DEDUP} true or false (and true only with zstd, which compresses each chunk),
     * {@value #COMPRESSION_LEVEL} within the codec's range.
     *
     * @param codec the repository's codec, as for {@link #compressionLevel(String)}
     * @throws ConfigException naming the setting and what it takes
     */
    public void checkKitSettings(String codec) {
        compressionLevel(codec);
        boolean dedup;
        try {
            dedup = settings.bool(DEDUP, false);
        } catch (ConfigException e) {
            throw new ConfigException(
                    DEDUP + " of target " + name + ": '" + settings.get(DEDUP).orElse("") + "' is not true or false");
        }
        if (dedup && Compression.parse(codec) != Compression.ZSTD) {
            throw new ConfigException(DEDUP + " of target " + name + ": deduplicated storage compresses each chunk "
                    + "with zstd; set 'compression' to zstd, or turn off setting 'dedup' for this target");
        }
    }

    /** A {@code files} target over the given paths. */
    public static TargetSpec files(String name, String... paths) {
        Settings.Builder b = Settings.builder();
        for (String p : paths) {
            b.add("path", p);
        }
        return new TargetSpec(name, "files", b.build());
    }
}
