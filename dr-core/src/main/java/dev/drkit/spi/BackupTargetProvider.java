package dev.drkit.spi;

import dev.drkit.Settings;

/**
 * Creates {@link BackupTarget}s of one type from settings. Stateless with a cheap no-arg
 * constructor; registered in {@code META-INF/services/dev.drkit.spi.BackupTargetProvider}
 * or given to the builder.
 */
public interface BackupTargetProvider {

    /** The target type served (e.g. {@code files}, {@code postgres-logical}). */
    String type();

    /** Breaks ties between providers of one type; equal priorities are an error. */
    default int priority() {
        return 0;
    }

    /**
     * Creates a target.
     *
     * @param settings the target's settings (for {@code files}: {@code path}, {@code exclude})
     * @throws dev.drkit.ConfigException listing every invalid or missing setting
     */
    BackupTarget create(Settings settings);

    /**
     * The settings {@link #create} reads, which a target keeps for every backup. The default is
     * {@link OptionSchema#unchecked()}: settings are passed on as given, and {@code drkit targets}
     * says the type does not publish its options.
     */
    default OptionSchema schema() {
        return OptionSchema.unchecked();
    }

    /**
     * The options a restore reads from {@link RestoreContext#options()}. A restore may be given
     * the target's settings too (a configured target's settings under the ones given for one
     * restore), so they are checked against this schema plus {@link #schema()}. The default is
     * {@link OptionSchema#unchecked()}.
     */
    default OptionSchema restoreSchema() {
        return OptionSchema.unchecked();
    }
}
