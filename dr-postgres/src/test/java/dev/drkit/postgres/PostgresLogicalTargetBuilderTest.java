package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

class PostgresLogicalTargetBuilderTest {

    @Test
    void aTargetBuiltInCodeChecksItsSettingsAsTheProviderDoes() {
        assertThatThrownBy(() -> PostgresLogicalTarget.builder()
                        .dataSource(new PGSimpleDataSource())
                        .settings(Settings.builder()
                                .set("pasword-file", "/run/secrets/pg")
                                .build())
                        .build())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("'pasword-file'")
                .hasMessageContaining("password-file");
    }

    @Test
    void aTargetNeedsADataSourceOrAUrl() {
        assertThatThrownBy(() -> PostgresLogicalTarget.builder().build())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("DataSource or setting 'url'");
        assertThat(PostgresLogicalTarget.builder()
                        .dataSource(new PGSimpleDataSource())
                        .build()
                        .type())
                .isEqualTo("postgres-logical");
    }
}
