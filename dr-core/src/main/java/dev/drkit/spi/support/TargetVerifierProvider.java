package dev.drkit.spi.support;

import dev.drkit.Settings;
import dev.drkit.VerifyLevel;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.Verifier;
import dev.drkit.spi.VerifierProvider;
import java.util.function.Function;

/**
 * A verifier provider for the backups of one target type: a name, a level and a factory.
 * Subclasses only call the constructor (ServiceLoader needs a public no-argument class).
 */
public abstract class TargetVerifierProvider implements VerifierProvider {
    private final String name;
    private final VerifyLevel level;
    private final String targetType;
    private final OptionSchema schema;
    private final Function<Settings, Verifier> factory;

    /** A verifier whose options are unchecked. */
    protected TargetVerifierProvider(
            String name, VerifyLevel level, String targetType, Function<Settings, Verifier> factory) {
        this(name, level, targetType, OptionSchema.unchecked(), factory);
    }

    /** A verifier that reads the options of {@code schema}. */
    protected TargetVerifierProvider(
            String name,
            VerifyLevel level,
            String targetType,
            OptionSchema schema,
            Function<Settings, Verifier> factory) {
        this.name = name;
        this.level = level;
        this.targetType = targetType;
        this.schema = schema;
        this.factory = factory;
    }

    @Override
    public final OptionSchema schema() {
        return schema;
    }

    @Override
    public final String name() {
        return name;
    }

    @Override
    public final VerifyLevel level() {
        return level;
    }

    @Override
    public final boolean supports(String type) {
        return targetType.equals(type);
    }

    @Override
    public final Verifier create(Settings settings) {
        return factory.apply(settings);
    }
}
