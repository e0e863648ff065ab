package dev.drkit.minio;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import java.net.URI;
import org.junit.jupiter.api.Test;

class MinioStorageBackendProviderTest {
    @Test
    void aMalformedSecureOptionIsRefusedNotTakenForTrue() {
        assertThatThrownBy(() -> new MinioStorageBackendProvider()
                        .create(URI.create("minio://127.0.0.1:9000/bucket/prefix?secure=flase"), Settings.empty()))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("secure")
                .hasMessageContaining("true or false");
    }
}
