package dev.drkit;

import dev.drkit.spi.support.BackupIds;
import java.util.Objects;

/**
 * What to back up: a target's name (its folder in the repository, e.g. {@code config}),
 * its type ({@code files}, {@code postgres-logical}, ...) and its settings.
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

    /** A {@code files} target over the given paths. */
    public static TargetSpec files(String name, String... paths) {
        Settings.Builder b = Settings.builder();
        for (String p : paths) {
            b.add("path", p);
        }
        return new TargetSpec(name, "files", b.build());
    }
}
