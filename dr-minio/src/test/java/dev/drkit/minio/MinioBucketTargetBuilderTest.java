package dev.drkit.minio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import io.minio.MinioClient;
import org.junit.jupiter.api.Test;

class MinioBucketTargetBuilderTest {
    private static final MinioClient CLIENT =
            MinioClient.builder().endpoint("http://localhost:9").build();

    @Test
    void aTargetBuiltInCodeChecksItsSettingsAsTheProviderDoes() {
        assertThatThrownBy(() -> MinioBucketTarget.builder()
                        .client(CLIENT)
                        .settings(Settings.builder().set("buckett", "uploads").build())
                        .build())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("'buckett'")
                .hasMessageContaining("bucket");
    }

    @Test
    void aTargetNeedsAClientOrAnEndpoint() {
        assertThatThrownBy(() -> MinioBucketTarget.builder()
                        .settings(Settings.builder().set("bucket", "uploads").build())
                        .build())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("MinioClient or setting 'endpoint'");
        assertThat(MinioBucketTarget.builder()
                        .client(CLIENT)
                        .settings(Settings.builder().set("bucket", "uploads").build())
                        .build()
                        .type())
                .isEqualTo("minio-bucket");
    }
}
