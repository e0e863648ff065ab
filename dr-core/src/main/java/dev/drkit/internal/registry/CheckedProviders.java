package dev.drkit.internal.registry;

import dev.drkit.BackupManifest;
import dev.drkit.Capability;
import dev.drkit.Settings;
import dev.drkit.VerifyLevel;
import dev.drkit.spi.BackupContext;
import dev.drkit.spi.BackupTarget;
import dev.drkit.spi.BackupTargetProvider;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.RestoreContext;
import dev.drkit.spi.RetentionPolicy;
import dev.drkit.spi.RetentionPolicyProvider;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.StorageBackendProvider;
import dev.drkit.spi.Verifier;
import dev.drkit.spi.VerifierProvider;
import dev.drkit.spi.support.OptionValidator;
import dev.drkit.spi.support.OptionValidator.Problem;
import java.io.IOException;
import java.net.URI;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * Providers as the registry hands them out: each checks the settings it is given against its
 * provider's {@link OptionSchema} before the provider sees them, so that every instance the
 * library creates is checked in the one place. Required options are not checked here: the
 * library also creates targets without settings, to restore or prune, and a target says what
 * it misses when it backs up; the setup file checks them.
 */
final class CheckedProviders {
    private CheckedProviders() {}

    /** What a checking provider wraps. */
    interface Checking {
        Object provider();
    }

    /** The provider itself, for a checking one; anything else as it is. */
    static Object unwrap(Object provider) {
        return provider instanceof Checking c ? c.provider() : provider;
    }

    static BackupTargetProvider target(BackupTargetProvider p) {
        class CheckedBackupTargetProvider implements BackupTargetProvider, Checking {
            @Override
            public Object provider() {
                return p;
            }

            @Override
            public String type() {
                return p.type();
            }

            @Override
            public int priority() {
                return p.priority();
            }

            @Override
            public OptionSchema schema() {
                return p.schema();
            }

            @Override
            public OptionSchema restoreSchema() {
                return p.restoreSchema();
            }

            @Override
            public List<String> archiveAreas() {
                return p.archiveAreas();
            }

            @Override
            public List<String> pruneArchive(
                    List<BackupManifest> kept, Function<String, FileArchive> archive, boolean dryRun)
                    throws IOException {
                return p.pruneArchive(kept, archive, dryRun);
            }

            @Override
            public List<String> dependencies(BackupManifest manifest) {
                return p.dependencies(manifest);
            }

            @Override
            public Optional<Instant> recoveryPoint(BackupManifest newest, Function<String, FileArchive> archive)
                    throws IOException {
                return p.recoveryPoint(newest, archive);
            }

            @Override
            public BackupTarget create(Settings settings) {
                OptionValidator.validate("backup target type '" + p.type() + "'", p.schema(), settings, false);
                return new CheckedTarget(p.create(settings), p);
            }
        }
        return new CheckedBackupTargetProvider();
    }

    /**
     * @param knownToAnyBackend whether some backend reads a key: storage settings are shared by
     *     every repository the kit opens (copies included), so only the URI's query is strict
     */
    static StorageBackendProvider storage(StorageBackendProvider p, Predicate<String> knownToAnyBackend) {
        class CheckedStorageBackendProvider implements StorageBackendProvider, Checking {
            @Override
            public Object provider() {
                return p;
            }

            @Override
            public Set<String> schemes() {
                return p.schemes();
            }

            @Override
            public int priority() {
                return p.priority();
            }

            @Override
            public OptionSchema schema() {
                return p.schema();
            }

            @Override
            public StorageBackend create(URI uri, Settings settings) throws IOException {
                String subject = "repository URI scheme '" + uri.getScheme() + "'";
                List<Problem> problems =
                        new ArrayList<>(OptionValidator.problems(subject, p.schema(), Settings.fromQuery(uri), false));
                problems.addAll(OptionValidator.problems(subject, p.schema(), settings, false, knownToAnyBackend));
                OptionValidator.throwIfAny(problems);
                return p.create(uri, settings);
            }
        }
        return new CheckedStorageBackendProvider();
    }

    static RetentionPolicyProvider retention(RetentionPolicyProvider p) {
        class CheckedRetentionPolicyProvider implements RetentionPolicyProvider, Checking {
            @Override
            public Object provider() {
                return p;
            }

            @Override
            public String name() {
                return p.name();
            }

            @Override
            public int priority() {
                return p.priority();
            }

            @Override
            public OptionSchema schema() {
                return p.schema();
            }

            @Override
            public RetentionPolicy create(Settings settings) {
                OptionValidator.validate("retention policy '" + p.name() + "'", p.schema(), settings, false);
                return p.create(settings);
            }
        }
        return new CheckedRetentionPolicyProvider();
    }

    /**
     * @param shared what every verifier of one verification may be given: the target's settings
     *     and the options of every verifier of its type
     */
    static VerifierProvider verifier(VerifierProvider p, String targetType, OptionSchema shared) {
        class CheckedVerifierProvider implements VerifierProvider, Checking {
            @Override
            public Object provider() {
                return p;
            }

            @Override
            public String name() {
                return p.name();
            }

            @Override
            public VerifyLevel level() {
                return p.level();
            }

            @Override
            public boolean supports(String type) {
                return p.supports(type);
            }

            @Override
            public int priority() {
                return p.priority();
            }

            @Override
            public OptionSchema schema() {
                return p.schema();
            }

            @Override
            public Verifier create(Settings settings) {
                OptionValidator.validate("verification of a '" + targetType + "' backup", shared, settings, false);
                return p.create(settings);
            }
        }
        return new CheckedVerifierProvider();
    }

    /** A target built elsewhere (by a host) whose restores check their options against {@code provider}'s schemas. */
    static BackupTarget checkingRestores(BackupTarget target, BackupTargetProvider provider) {
        return new CheckedTarget(target, provider);
    }

    private static final class CheckedTarget implements BackupTarget {
        private final BackupTarget target;
        private final BackupTargetProvider provider;

        CheckedTarget(BackupTarget target, BackupTargetProvider provider) {
            this.target = target;
            this.provider = provider;
        }

        @Override
        public String type() {
            return target.type();
        }

        @Override
        public Set<Capability> capabilities() {
            return target.capabilities();
        }

        @Override
        public boolean prefersFastCompression() {
            return target.prefersFastCompression();
        }

        @Override
        public boolean sourceCompetesForCpu() {
            return target.sourceCompetesForCpu();
        }

        @Override
        public void backup(BackupContext context) throws IOException {
            target.backup(context);
        }

        @Override
        public void restore(RestoreContext context) throws IOException {
            OptionValidator.validate(
                    "restore of a '" + provider.type() + "' backup",
                    provider.schema().plus(provider.restoreSchema()),
                    context.options(),
                    false);
            target.restore(context);
        }

        @Override
        public String toString() {
            return target.toString();
        }
    }
}
