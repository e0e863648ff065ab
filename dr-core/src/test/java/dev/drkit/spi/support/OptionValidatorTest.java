package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.OptionSpec;
import dev.drkit.spi.OptionSpec.Type;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class OptionValidatorTest {
    static final OptionSchema SCHEMA = OptionSchema.of(
            OptionSpec.builder("to-database", Type.STRING)
                    .required()
                    .description("where")
                    .build(),
            OptionSpec.builder("jobs", Type.INT).build(),
            OptionSpec.builder("part-size", Type.SIZE).build(),
            OptionSpec.builder("wal-timeout", Type.DURATION).build(),
            OptionSpec.builder("versions", Type.BOOLEAN).build(),
            OptionSpec.builder("uri", Type.URI).build(),
            OptionSpec.builder("time", Type.TIMESTAMP).build(),
            OptionSpec.builder("password", Type.STRING).secret().build(),
            OptionSpec.builder("jobs-max", Type.INT).secret().build(),
            OptionSpec.builder("mode", Type.ENUM).allowed("rdb", "keys").build(),
            OptionSpec.builder("table", Type.STRING).repeatable().build(),
            OptionSpec.builder("tablespace-", Type.PATH).family().build());

    @Test
    void everyProblemIsReportedAtOnceWithADidYouMean() {
        Settings s = Settings.builder()
                .set("to-databse", "x")
                .set("jobs", "four")
                .set("part-size", "big")
                .set("wal-timeout", "soon")
                .set("versions", "maybe")
                .set("uri", "no scheme")
                .set("time", "yesterday")
                .set("mode", "aof")
                .add("jobs-max", "1")
                .add("jobs-max", "2")
                .set("completely-unrelated", "x")
                .build();

        assertThatThrownBy(() -> OptionValidator.validate("target type 't'", SCHEMA, s, true))
                .isInstanceOfSatisfying(
                        ConfigException.class,
                        e -> assertThat(e.problems())
                                .containsExactly(
                                        "target type 't': unknown setting 'to-databse'; did you mean setting 'to-database'?",
                                        "target type 't': setting 'jobs' must be a whole number, not 'four'",
                                        "target type 't': setting 'part-size' must be a size such as 16MiB, not 'big'",
                                        "target type 't': setting 'wal-timeout' must be a duration such as 36h or 7d, not 'soon'",
                                        "target type 't': setting 'versions' must be true or false, not 'maybe'",
                                        "target type 't': setting 'uri' must be a URI such as scheme://HOST:PORT, not 'no scheme'",
                                        "target type 't': setting 'time' must be a timestamp with a zone, e.g. "
                                                + "2025-01-03T14:05:00Z, not 'yesterday'",
                                        "target type 't': setting 'mode' must be one of rdb, keys, not 'aof'",
                                        "target type 't': setting 'jobs-max' takes one value but is given 2 times",
                                        "target type 't': unknown setting 'completely-unrelated'; known: jobs, jobs-max, mode, "
                                                + "part-size, password, table, tablespace-*, time, to-database, uri, "
                                                + "versions, wal-timeout",
                                        "target type 't': setting 'to-database' is required (where)"));
    }

    @Test
    void validValuesPass() {
        Settings s = Settings.builder()
                .set("to-database", "x")
                .set("jobs", "4")
                .set("part-size", "16MiB")
                .set("wal-timeout", "5min")
                .set("versions", "yes")
                .set("uri", "redis://h:6379")
                .set("time", "2025-01-03 14:05:00+01:00")
                .set("mode", "KEYS")
                .add("table", "a")
                .add("table", "b")
                .set("tablespace-16384", "/srv/ts")
                .build();

        assertThat(OptionValidator.problems("t", SCHEMA, s, true)).isEmpty();
    }

    @Test
    void aSecretValueIsNeverEchoed() {
        assertThat(OptionValidator.problems("t", SCHEMA, Settings.of(Map.of("jobs-max", "hunter2")), false))
                .singleElement()
                .satisfies(p -> assertThat(p.message())
                        .isEqualTo("t: setting 'jobs-max' must be a whole number")
                        .doesNotContain("hunter2"));
    }

    @Test
    void anUncheckedSchemaAcceptsAnything() {
        assertThat(OptionValidator.problems("t", OptionSchema.unchecked(), Settings.of(Map.of("x", "y")), true))
                .isEmpty();
        assertThat(OptionValidator.problems("t", OptionSchema.none(), Settings.of(Map.of("x", "y")), true))
                .extracting(OptionValidator.Problem::message)
                .containsExactly("t: unknown setting 'x'; known: none");
    }

    @Test
    void closestForgivesCaseAndDashesAndAFewTypos() {
        List<String> known = List.of("kms-key-id", "part-size", "object-lock", "lock-for");
        assertThat(OptionValidator.closest("kmsKeyId", known)).contains("kms-key-id");
        assertThat(OptionValidator.closest("partSize", known)).contains("part-size");
        assertThat(OptionValidator.closest("objct-lock", known)).contains("object-lock");
        assertThat(OptionValidator.closest("region", known)).isEmpty();
    }
}
