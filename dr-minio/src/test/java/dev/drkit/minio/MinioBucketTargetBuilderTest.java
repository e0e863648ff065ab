package dev.drkit.minio;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.DrKit;
import dev.drkit.DrKitConfig;
import dev.drkit.Settings;
import io.minio.MinioClient;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

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

    @Test
    void aBucketNameS3RefusesIsAConfigurationProblemNamingTheSetting(@TempDir Path repo) {
        for (String bucket : new String[] {"b", "Uploads", "up_loads", "a..b", "-uploads"}) {
            try (DrKit kit = DrKit.builder()
                    .config(DrKitConfig.builder().repository(repo.toString()).build())
                    .target(
                            "bucket",
                            MinioBucketTarget.of(
                                    CLIENT,
                                    Settings.builder().set("bucket", bucket).build()))
                    .build()) {
                assertThatThrownBy(() -> kit.backup("bucket"))
                        .as(bucket)
                        .isInstanceOf(ConfigException.class)
                        .hasMessageContaining("setting 'bucket'")
                        .hasMessageContaining("'" + bucket + "'")
                        .hasMessageNotContaining("Exception");
                assertThat(kit.list("bucket")).as(bucket).isEmpty();
            }
        }
    }
}
