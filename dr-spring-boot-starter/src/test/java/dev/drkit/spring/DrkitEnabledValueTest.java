package dev.drkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrKit;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * drkit.enabled is read only by @ConditionalOnBooleanProperty, which takes anything but "true"
 * (any case) as false: DRKIT_ENABLED=1, drkit.enabled=yes or a typo turned off the kit, every
 * schedule and the health indicator without a word, while drkit.scheduler.enabled=yes fails
 * start-up naming the key.
 */
class DrkitEnabledValueTest {
    @TempDir
    Path tmp;

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(
                    DrkitAutoConfiguration.class,
                    DrkitActuatorAutoConfiguration.class,
                    DrkitBackOffAutoConfiguration.class));

    @ParameterizedTest
    @ValueSource(strings = {"yes", "1", "on", "ture"})
    void aValueThatIsNotTrueOrFalseFailsStartUpNamingTheKeyInsteadOfDisablingBackups(String value) throws IOException {
        Path source = Files.createDirectories(tmp.resolve("config"));
        Files.writeString(source.resolve("app.properties"), "greeting=hello\n");
        runner.withPropertyValues(
                        "drkit.enabled=" + value,
                        "drkit.repository=" + tmp.resolve("repo"),
                        "drkit.targets.config.type=files",
                        "drkit.targets.config.path[0]=" + source,
                        "drkit.targets.config.schedule=0 * * * *",
                        "drkit.scheduler.enabled=false")
                .run(context -> {
                    if (context.getStartupFailure() == null) {
                        assertThat(context)
                                .as("drkit.enabled=%s neither failed start-up nor built a kit: backups are off", value)
                                .hasSingleBean(DrKit.class);
                    } else {
                        assertThat(context.getStartupFailure()).hasStackTraceContaining("drkit.enabled");
                    }
                });
    }
}
