package dev.drkit.s3;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.spi.StorageBackend;
import dev.drkit.testkit.OptionSamples;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Options of an S3 repository URI are checked before any client is built, and name themselves. */
class S3StorageBackendProviderTest {
    @TempDir
    Path dir;

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
        assertRefused("part-size=banana", "'part-size'", "part-size=16MiB");
        assertRefused("part-size=", "'part-size'", "part-size=16MiB");
        assertRefused("part-size=1MiB", "part-size=1MiB", "at least 5MiB");
        assertRefused("path-style=banana", "'path-style'", "true or false");
        assertRefused("object-lock=governance&lock-for=banana", "'lock-for'", "a duration such as 36h, 7d");
        assertRefused("object-lock=governance", "lock-for=DURATION", "lock-for=30d");
        assertRefused("object-lock=sometimes&lock-for=30d", "Object Lock mode", "GOVERNANCE or COMPLIANCE");
    }

    @Test
    void wellFormedOptionsAreTaken() throws Exception {
        try (StorageBackend b = create("s3://bucket/prefix?region=eu-west-1&part-size=8M&path-style=true"
                + "&object-lock=governance&lock-for=30d")) {
            assertThat(b).isInstanceOf(S3StorageBackend.class);
        }
    }

    @Test
    void theOldCamelCaseSpellingFailsWithTheOneNameToUse() {
        assertThatThrownBy(() -> DrKit.builder()
                        .repository("s3://bucket/prefix?region=eu-west-1&partSize=8M&kmsKeyId=k")
                        .build())
                .isInstanceOfSatisfying(
                        ConfigException.class,
                        e -> assertThat(e.problems())
                                .containsExactly(
                                        "repository URI scheme 's3': unknown setting 'partSize'; did you mean setting "
                                                + "'part-size'?",
                                        "repository URI scheme 's3': unknown setting 'kmsKeyId'; did you mean setting "
                                                + "'kms-key-id'?"));
    }

    @Test
    void everyOptionOfTheSchemaIsAccepted() throws Exception {
        Path key = Files.write(dir.resolve("sse-c.key"), new byte[32]);
        Path creds = Files.writeString(
                dir.resolve("credentials"), "[backup]\naws_access_key_id = a\naws_secret_access_key = b\n");
        for (Path p : new Path[] {key, creds}) {
            Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rw-------"));
        }
        S3StorageBackendProvider provider = new S3StorageBackendProvider();
        Settings every = OptionSamples.everyOption(
                provider.schema(),
                Settings.builder()
                        .set("endpoint", "http://127.0.0.1:9")
                        .set("sse", "aws:kms")
                        .set("sse-customer-key-file", key.toString())
                        .set("credentials-file", creds.toString())
                        .set("profile", "backup")
                        .set("lock-for", "30d")
                        .build());
        assertThat(every.keys()).hasSize(provider.schema().options().size());
        // SSE-C and sse exclude each other: each is taken, in turn
        for (String left : new String[] {"sse", "sse-customer-key-file"}) {
            Settings settings = every.toBuilder().remove(left).build();
            try (StorageBackend b = provider.create(URI.create("s3://bucket/prefix"), settings)) {
                assertThat(b).as("all but " + left).isInstanceOf(S3StorageBackend.class);
            }
        }
    }
}
