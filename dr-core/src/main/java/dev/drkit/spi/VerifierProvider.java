package dev.drkit.spi;

import dev.drkit.Settings;
import dev.drkit.VerifyLevel;

/**
 * Creates {@link Verifier}s by name. Stateless with a cheap no-arg constructor.
 */
public interface VerifierProvider {

    /** The verifier name (e.g. {@code checksum}, {@code decode}, {@code pg-archive}). */
    String name();

    /** The level this verifier belongs to; verifying at a level runs it and cheaper ones. */
    VerifyLevel level();

    /** Whether the verifier applies to backups of this target type. */
    boolean supports(String targetType);

    /** Breaks ties between providers of one name; equal priorities are an error. */
    default int priority() {
        return 0;
    }

    /** Creates a verifier with the given options (e.g. where to restore a scratch copy). */
    Verifier create(Settings settings);

    /**
     * The options {@link #create} reads. Every verifier that runs for one verification is given
     * the same options, together with the target's settings, so a key is checked against the
     * schemas of all of them. The default is {@link OptionSchema#unchecked()}: nothing is checked.
     */
    default OptionSchema schema() {
        return OptionSchema.unchecked();
    }
}
