package dev.drkit.spi;

import dev.drkit.Settings;

/**
 * Creates {@link RetentionPolicy}s by name ({@code gfs}, ...). Stateless with a cheap
 * no-arg constructor.
 */
public interface RetentionPolicyProvider {

    /** The policy name. */
    String name();

    /** Breaks ties between providers of one name; equal priorities are an error. */
    default int priority() {
        return 0;
    }

    /**
     * Creates a policy.
     *
     * @throws dev.drkit.ConfigException listing every invalid setting
     */
    RetentionPolicy create(Settings settings);

    /** The settings {@link #create} reads. The default is {@link OptionSchema#unchecked()}: nothing is checked. */
    default OptionSchema schema() {
        return OptionSchema.unchecked();
    }
}
