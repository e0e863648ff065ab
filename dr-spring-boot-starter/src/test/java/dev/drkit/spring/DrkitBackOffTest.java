package dev.drkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Logger;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import dev.drkit.DrKit;
import dev.drkit.spring.DrkitBackOffAutoConfiguration.UnusedProperties;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

/** The application's own kit leaves the drkit.* properties unused, and start-up says so. */
class DrkitBackOffTest {
    private final Logger logger = (Logger) LoggerFactory.getLogger(DrkitBackOffAutoConfiguration.class);
    private final ListAppender<ILoggingEvent> log = new ListAppender<>();

    @BeforeEach
    void listen() {
        log.start();
        logger.addAppender(log);
    }

    @AfterEach
    void stopListening() {
        logger.detachAppender(log);
    }

    private List<String> lines() {
        return log.list.stream().map(ILoggingEvent::getFormattedMessage).toList();
    }

    @TempDir
    static Path tmp;

    private final ApplicationContextRunner runner = new ApplicationContextRunner()
            .withConfiguration(AutoConfigurations.of(
                    DrkitAutoConfiguration.class,
                    DrkitActuatorAutoConfiguration.class,
                    DrkitBackOffAutoConfiguration.class));

    @Test
    void propertiesBesideTheApplicationsOwnKitAreNamedAsUnusedOnce() {
        runner.withUserConfiguration(OwnKit.class)
                .withPropertyValues("drkit.repository=/var/backups/app", "drkit.targets.config.type=files")
                .run(context -> {
                    assertThat(context).hasNotFailed().doesNotHaveBean(DrkitSetup.class);
                    assertThat(context.getBean(UnusedProperties.class).keys()).containsExactly("repository", "targets");
                });
        assertThat(lines())
                .singleElement()
                .asString()
                .startsWith("drkit: the application defines its own DrKit bean, so the properties "
                        + "[drkit.repository, drkit.targets] are not used");
    }

    @Test
    void nothingIsSaidWithoutPropertiesOrForTheStartersOwnKit() {
        runner.withUserConfiguration(OwnKit.class)
                .withPropertyValues("drkit.enabled=true")
                .run(context -> assertThat(
                                context.getBean(UnusedProperties.class).message())
                        .isEmpty());
        runner.withPropertyValues(
                        "drkit.repository=" + tmp.resolve("repo"),
                        "drkit.targets.config.type=files",
                        "drkit.targets.config.path=" + tmp,
                        "drkit.scheduler.enabled=false")
                .run(context ->
                        assertThat(context).hasSingleBean(DrkitSetup.class).doesNotHaveBean(UnusedProperties.class));
        assertThat(lines()).isEmpty();
    }

    @Configuration(proxyBeanMethods = false)
    static class OwnKit {
        @Bean(destroyMethod = "close")
        DrKit ownKit() {
            return DrKit.builder().repository(tmp.resolve("own").toString()).build();
        }
    }
}
