package dev.drkit;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.URI;
import java.time.Duration;
import org.assertj.core.api.Assertions;
import org.junit.jupiter.api.Test;

class SettingsAndConfigTest {

    @Test
    void compressionWorkersRememberWhetherTheHostChoseThem() {
        assertThat(DrKitConfig.builder().build().compressionWorkersSet()).isFalse();
        assertThat(DrKitConfig.builder().build().compressionWorkers())
                .isEqualTo(Math.min(4, Runtime.getRuntime().availableProcessors()));
        assertThat(DrKitConfig.builder().compressionWorkers(2).build().compressionWorkersSet())
                .isTrue();
        DrKitConfig fromSettings = DrKitConfig.from(Settings.builder()
                .set("repository", "file:/tmp/r")
                .set("compression-workers", "0")
                .build());
        assertThat(fromSettings.compressionWorkersSet()).isTrue();
        assertThat(fromSettings.compressionWorkers()).isZero();
        assertThat(fromSettings.toBuilder().build().compressionWorkersSet()).isTrue();
    }

    @Test
    void durationsReadTheCliForms() {
        assertThat(Settings.parseDuration("k", "36h")).isEqualTo(Duration.ofHours(36));
        assertThat(Settings.parseDuration("k", "7d")).isEqualTo(Duration.ofDays(7));
        assertThat(Settings.parseDuration("k", "4w")).isEqualTo(Duration.ofDays(28));
        assertThat(Settings.parseDuration("k", "12m")).isEqualTo(Duration.ofDays(360));
        assertThat(Settings.parseDuration("k", "12mo")).isEqualTo(Duration.ofDays(360));
        assertThat(Settings.parseDuration("k", "90min")).isEqualTo(Duration.ofMinutes(90));
        assertThat(Settings.parseDuration("k", "1y")).isEqualTo(Duration.ofDays(365));
        assertThat(Settings.parseDuration("k", "1d12h")).isEqualTo(Duration.ofHours(36));
        assertThat(Settings.parseDuration("k", "PT90M")).isEqualTo(Duration.ofMinutes(90));
        assertThatThrownBy(() -> Settings.parseDuration("keep-within", "7 days"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("keep-within");
    }

    @Test
    void sizesReadBinaryUnitsAndNameTheKeyWhenMalformed() {
        assertThat(Settings.parseSize("k", "16MiB")).isEqualTo(16L << 20);
        assertThat(Settings.parseSize("k", "8M")).isEqualTo(8L << 20);
        assertThat(Settings.parseSize("k", "8mb")).isEqualTo(8L << 20);
        assertThat(Settings.parseSize("k", "512KiB")).isEqualTo(512L << 10);
        assertThat(Settings.parseSize("k", "1GiB")).isEqualTo(1L << 30);
        assertThat(Settings.parseSize("k", "4096")).isEqualTo(4096L);
        assertThat(Settings.parseSize("k", "4096B")).isEqualTo(4096L);
        for (String bad : new String[] {"banana", "", "16 MiBs", "-1M", "1.5G", "M"}) {
            assertThatThrownBy(() -> Settings.parseSize("partSize", bad))
                    .as(bad)
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining("'partSize'")
                    .hasMessageContaining("partSize=16MiB");
        }
        assertThatThrownBy(() -> Settings.parseSize("partSize", "99999999999T"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("too large");
    }

    @Test
    void uriQueriesBecomeSettingsWithDecodedValues() {
        Settings q = Settings.fromQuery(
                URI.create("s3://b/p?region=eu-west-1&endpoint=http%3A%2F%2Fh%3A9000" + "&flag&partSize=16MiB"));
        assertThat(q.keys()).containsExactly("region", "endpoint", "partSize");
        assertThat(q.require("endpoint")).isEqualTo("http://h:9000");
        assertThat(q.size("partSize")).contains(16L << 20);
        assertThat(Settings.fromQuery(URI.create("s3://b/p")).keys()).isEmpty();
    }

    @Test
    void aPasswordInsideAUriOrJdbcUrlValueIsRedacted() {
        Settings s = Settings.builder()
                .set("uri", "redis://app:hunter2@cache:6379/0")
                .set("to-uri", "rediss://:s3:cr3t@cache:6380")
                .set("url", "jdbc:postgresql://db/shop?user=app&password=pa55&sslmode=require")
                .set("endpoint", "https://s3.example/bucket?X-Amz-Security-Token=tok3n")
                .set("repository", "s3://bucket/prefix")
                .build();
        assertThat(s.toString())
                .doesNotContain("hunter2")
                .doesNotContain("s3:cr3t")
                .doesNotContain("pa55")
                .doesNotContain("tok3n")
                .contains("uri=redis://app:****@cache:6379/0")
                .contains("url=jdbc:postgresql://db/shop?user=app&password=****&sslmode=require")
                .contains("repository=s3://bucket/prefix");
    }

    @Test
    void secretsAreRedacted() {
        Settings s = Settings.builder()
                .set("password", "hunter2")
                .set("api-token", "abc")
                .set("password-file", "/etc/drkit/pw")
                .set("path", "/etc")
                .build();
        assertThat(s.toString())
                .doesNotContain("hunter2")
                .doesNotContain("abc")
                .contains("/etc/drkit/pw")
                .contains("path=/etc");
    }

    @Test
    void repeatedKeysKeepEveryValue() {
        Settings s = Settings.builder().add("path", "/a").add("path", "/b").build();
        assertThat(s.getAll("path")).containsExactly("/a", "/b");
        assertThat(s.get("path")).contains("/b");
    }

    @Test
    void configReportsEveryProblemAtOnce() {
        Settings s = Settings.builder()
                .set("compression", "brotli")
                .set("compression-level", "high")
                .set("lock-ttl", "1s")
                .build();
        assertThatThrownBy(() -> DrKitConfig.from(s))
                .isInstanceOfSatisfying(
                        ConfigException.class,
                        e -> assertThat(e.problems())
                                .hasSize(4)
                                .anyMatch(p -> p.startsWith("repository"))
                                .anyMatch(p -> p.contains("brotli"))
                                .anyMatch(p -> p.contains("compression-level"))
                                .anyMatch(p -> p.startsWith("lock-ttl")));
    }

    @Test
    void configNeverPrintsCredentials() {
        DrKitConfig c = DrKitConfig.builder()
                .repository("s3://user:topsecret@bucket/prefix?secretKey=abc&region=eu")
                .build();
        assertThat(c.toString()).doesNotContain("topsecret").doesNotContain("abc");
    }

    @Test
    void plainPathsBecomeFileUris() {
        DrKitConfig c = DrKitConfig.builder().repository("/var/backups/x").build();
        assertThat(c.repositoryUri().toString()).isEqualTo("file:///var/backups/x");
        assertThat(c.validate()).isEmpty();
    }

    @Test
    void overlaidSettingsTakeEveryKeyOfTheTopWhole() {
        Settings base = Settings.builder()
                .set("url", "jdbc:postgresql://db/app")
                .add("path", "/etc")
                .add("path", "/opt")
                .set("user", "app")
                .build();
        Settings top =
                Settings.builder().add("path", "/srv").set("to", "/tmp/r").build();
        Settings both = base.overlaidBy(top);
        Assertions.assertThat(both.getAll("path")).containsExactly("/srv");
        Assertions.assertThat(both.require("url")).isEqualTo("jdbc:postgresql://db/app");
        Assertions.assertThat(both.require("to")).isEqualTo("/tmp/r");
        Assertions.assertThat(base.getAll("path")).as("unchanged").containsExactly("/etc", "/opt");
    }
}
