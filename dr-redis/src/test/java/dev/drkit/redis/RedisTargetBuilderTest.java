package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import io.lettuce.core.RedisClient;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

class RedisTargetBuilderTest {
    static RedisClient client;

    @BeforeAll
    static void client() {
        client = RedisClient.create("redis://localhost:9"); // never connected
    }

    @AfterAll
    static void shutdown() {
        client.shutdown();
    }

    @Test
    void aTargetBuiltInCodeChecksItsSettingsAsTheProviderDoes() {
        assertThatThrownBy(() -> RedisTarget.builder()
                        .client(client)
                        .settings(Settings.builder().set("mdoe", "keys").build())
                        .build())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("'mdoe'")
                .hasMessageContaining("mode");
    }

    @Test
    void aSnapshotBackupCannotGoThroughTheClientAndSaysWhatToGiveInstead() {
        assertThatThrownBy(() -> RedisTarget.builder().client(client).build())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("setting 'uri'")
                .hasMessageContaining("'mode' to keys");
        assertThat(RedisTarget.builder()
                        .client(client)
                        .settings(Settings.builder()
                                .set("mode", "rdb")
                                .set("uri", "redis://localhost:6379")
                                .build())
                        .build()
                        .type())
                .isEqualTo("redis");
    }

    @Test
    void aTargetNeedsAClientOrAUri() {
        assertThatThrownBy(() -> RedisTarget.builder()
                        .settings(Settings.builder().set("mode", "keys").build())
                        .build())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("RedisClient or setting 'uri'");
        assertThat(RedisTarget.builder()
                        .client(client)
                        .settings(Settings.builder().set("mode", "keys").build())
                        .build()
                        .type())
                .isEqualTo("redis");
    }
}
