package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.spi.StorageBackend;
import java.net.URI;
import org.junit.jupiter.api.Test;

/** Options of an S3 repository URI are checked before any client is built, and name themselves. */
class S3StorageBackendProviderTest {
    private static StorageBackend create(String uri) {
        return new S3StorageBackendProvider().create(URI.create(uri), Settings.empty());
    }

    private static void assertRefused(String query, String option, String expected) {
        assertThatThrownBy(() -> create("s3://bucket/prefix?region=eu-west-1&" + query))
                .as(query)
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(option)
                .hasMessageContaining(expected)
                .hasMessageNotContaining("Exception")
                .hasMessageNotContaining("input string");
    }

    @Test
    void malformedOptionsNameTheOptionAndTheExpectedForm() {
        assertRefused("partSize=banana", "partSize", "partSize=16MiB");
        assertRefused("partSize=", "partSize", "partSize=16MiB");
        assertRefused("partSize=1MiB", "partSize", "at least 5MiB");
        assertRefused("pathStyle=banana", "pathStyle", "true or false");
        assertRefused("objectLock=governance&lockFor=banana", "'lockFor'", "a duration such as 36h, 7d");
        assertRefused("objectLock=governance", "lockFor", "lockFor=30d");
        assertRefused("objectLock=sometimes&lockFor=30d", "Object Lock mode", "GOVERNANCE or COMPLIANCE");
    }

    @Test
    void wellFormedOptionsAreTaken() throws Exception {
        try (StorageBackend b = create("s3://bucket/prefix?region=eu-west-1&partSize=8M&pathStyle=true"
                + "&objectLock=governance&lockFor=30d")) {
            assertThat(b).isInstanceOf(S3StorageBackend.class);
        }
    }
}
