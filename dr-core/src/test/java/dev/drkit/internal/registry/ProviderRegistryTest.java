package dev.drkit.internal.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ProviderException;
import dev.drkit.Settings;
import dev.drkit.VerifyLevel;
import dev.drkit.files.FilesBackupTargetProvider;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.StorageBackendProvider;
import dev.drkit.spi.VerifierProvider;
import dev.drkit.storage.FileStorageBackendProvider;
import java.net.URI;
import java.util.List;
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
        assertThat(r.storage("file")).isInstanceOf(FileStorageBackendProvider.class);
        assertThat(r.target("files")).isInstanceOf(FilesBackupTargetProvider.class);
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
        assertThat(r.storage("file")).isSameAs(mine);
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
        assertThat(r.storage("S3")).isSameAs(high);
    }
}
