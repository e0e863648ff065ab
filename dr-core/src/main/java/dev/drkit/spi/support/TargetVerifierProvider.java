package dev.drkit.spi.support;

import dev.drkit.Settings;
import dev.drkit.VerifyLevel;
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
    private final Function<Settings, Verifier> factory;

    protected TargetVerifierProvider(
            String name, VerifyLevel level, String targetType, Function<Settings, Verifier> factory) {
        this.name = name;
        this.level = level;
        this.targetType = targetType;
        this.factory = factory;
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
