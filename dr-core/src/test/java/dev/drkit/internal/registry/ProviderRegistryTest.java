package dev.drkit.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.ProviderException;
import dev.drkit.Settings;
import dev.drkit.VerifyLevel;
import dev.drkit.files.FilesBackupTargetProvider;
import dev.drkit.retention.GfsRetentionPolicyProvider;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.StorageBackendProvider;
import dev.drkit.spi.VerifierProvider;
import dev.drkit.storage.FileStorageBackendProvider;
import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class ProviderRegistryTest {

    private static StorageBackendProvider fake(String scheme, int priority) {
        return new StorageBackendProvider() {
            @Override
            public Set<String> schemes() {
                return Set.of(scheme);
            }

            @Override
            public int priority() {
                return priority;
            }

            @Override
            public StorageBackend create(URI uri, Settings settings) {
                throw new UnsupportedOperationException();
            }
        };
    }

    @Test
    void discoversTheBuiltInProviders() {
        ProviderRegistry r = new ProviderRegistry(List.of(), getClass().getClassLoader());
        assertThat(CheckedProviders.unwrap(r.storage("file"))).isInstanceOf(FileStorageBackendProvider.class);
        assertThat(CheckedProviders.unwrap(r.target("files"))).isInstanceOf(FilesBackupTargetProvider.class);
        assertThat(r.retention("gfs")).isNotNull();
        assertThat(r.verifiers("files", VerifyLevel.DECODE))
                .extracting(VerifierProvider::name)
                .containsExactly("checksum", "checksum-files", "decode", "files-archive");
        assertThat(r.verifiers("files", VerifyLevel.CHECKSUM))
                .extracting(VerifierProvider::name)
                .containsExactly("checksum", "checksum-files");
        assertThat(r.brokenProviders()).isEmpty();
    }

    @Test
    void unknownSchemeListsTheKnownOnes() {
        ProviderRegistry r = new ProviderRegistry(List.of(), getClass().getClassLoader());
        assertThatThrownBy(() -> r.storage("gopher"))
                .isInstanceOf(ProviderException.class)
                .hasMessageContaining("'gopher'")
                .hasMessageContaining("known: file");
        assertThatThrownBy(() -> r.target("oracle"))
                .isInstanceOf(ProviderException.class)
                .hasMessageContaining("known: files");
    }

    @Test
    void explicitRegistrationWinsOverDiscovery() {
        StorageBackendProvider mine = fake("file", -100);
        ProviderRegistry r = new ProviderRegistry(List.of(mine), getClass().getClassLoader());
        assertThat(CheckedProviders.unwrap(r.storage("file"))).isSameAs(mine);
    }

    @Test
    void twoProvidersAtTheSamePriorityAreAnErrorNamingBoth() {
        ProviderRegistry r = new ProviderRegistry(List.of(fake("s3", 0), fake("s3", 0)), null);
        assertThatThrownBy(() -> r.storage("s3"))
                .isInstanceOf(ProviderException.class)
                .hasMessageContaining("more than one")
                .hasMessageContaining("ProviderRegistryTest");
    }

    @Test
    void higherPriorityBreaksTies() {
        StorageBackendProvider high = fake("s3", 10);
        ProviderRegistry r = new ProviderRegistry(List.of(fake("s3", 0), high), null);
        assertThat(CheckedProviders.unwrap(r.storage("S3"))).isSameAs(high);
    }

    @Test
    void targetsAndPoliciesCreatedThroughTheRegistryHaveTheirSettingsChecked() {
        ProviderRegistry r = new ProviderRegistry(List.of(), getClass().getClassLoader());
        assertThatThrownBy(() -> r.target("files")
                        .create(Settings.builder()
                                .add("path", "/srv")
                                .add("exlude", "*.tmp")
                                .build()))
                .isInstanceOf(ConfigException.class)
                .hasMessage("backup target type 'files': unknown setting 'exlude'; did you mean setting 'exclude'?");
        assertThatThrownBy(() -> r.retention("gfs").create(Settings.of(Map.of("keep-dayly", "7", "keep-last", "x"))))
                .isInstanceOfSatisfying(
                        ConfigException.class,
                        e -> assertThat(e.problems())
                                .containsExactlyInAnyOrder(
                                        "retention policy 'gfs': unknown setting 'keep-dayly'; did you mean setting "
                                                + "'keep-daily'?",
                                        "retention policy 'gfs': setting 'keep-last' must be a whole number, not 'x'"));
    }

    @Test
    void aFileRepositoryTakesNoQueryOptionsButSharedStorageSettingsOfOtherBackendsPass() {
        ProviderRegistry r = new ProviderRegistry(List.of(), getClass().getClassLoader());
        assertThatThrownBy(() -> r.storage("file").create(URI.create("file:/srv/b?region=x"), Settings.empty()))
                .isInstanceOf(ConfigException.class)
                .hasMessage("repository URI scheme 'file': unknown setting 'region'; known: none");
        assertThatThrownBy(
                        () -> r.storage("file").create(URI.create("file:/srv/b"), Settings.of(Map.of("regoin", "x"))))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("unknown setting 'regoin'");
    }

    @Test
    void verifiersAreCheckedAgainstEveryVerifierOfTheTypeAndTheTargetsSettings() {
        ProviderRegistry r = new ProviderRegistry(List.of(), getClass().getClassLoader());
        VerifierProvider decode = r.verifiers("files", VerifyLevel.DECODE).get(0);
        assertThat(decode.create(Settings.of(Map.of("path", "/srv")))).isNotNull();
        assertThatThrownBy(() -> decode.create(Settings.of(Map.of("validate", "SELECT 1"))))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("verification of a 'files' backup: unknown setting 'validate'");
    }

    @Test
    void theFilesTargetAndGfsAcceptEveryOptionTheyPublish() {
        FilesBackupTargetProvider files = new FilesBackupTargetProvider();
        ProviderRegistry r = new ProviderRegistry(List.of(), getClass().getClassLoader());
        assertThat(r.target("files").create(everyOption(files.schema()))).isNotNull();
        GfsRetentionPolicyProvider gfs = new GfsRetentionPolicyProvider();
        assertThat(r.retention("gfs").create(everyOption(gfs.schema()))).isNotNull();
        assertThat(files.restoreSchema().options())
                .extracting(OptionSpec::name)
                .containsExactly("to", "include", "shared-destination");
    }

    private static Settings everyOption(OptionSchema schema) {
        Settings.Builder b = Settings.builder();
        for (OptionSpec o : schema.options()) {
            b.set(
                    o.name(),
                    o.type() == OptionSpec.Type.INT ? "1" : o.type() == OptionSpec.Type.DURATION ? "1d" : "/srv");
        }
        return b.build();
    }
}
