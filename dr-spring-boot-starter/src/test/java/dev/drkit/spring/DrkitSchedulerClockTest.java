package dev.drkit.spring;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrKit;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/**
 * The scheduler keeps the application's time, as the kit does: with a {@link Clock} bean moved
 * an hour on, the hourly schedule is due again, though the system's clock did not move.
 */
class DrkitSchedulerClockTest {
    @TempDir
    Path tmp;

    @Test
    void theSchedulerRunsOnTheApplicationsClock() throws Exception {
        Path config = Files.createDirectories(tmp.resolve("config"));
        Files.writeString(config.resolve("app.conf"), "port 8080\n");
        MutableClock clock = new MutableClock();
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(DrkitAutoConfiguration.class))
                .withBean(Clock.class, () -> clock)
                .withPropertyValues(
                        "drkit.repository=" + tmp.resolve("repo"),
                        "drkit.targets.config.type=files",
                        "drkit.targets.config.path=" + config,
                        "drkit.targets.config.schedule=0 * * * *")
                .run(context -> {
                    DrKit kit = context.getBean(DrKit.class);
                    awaitBackups(kit, 1); // none yet: the first runs at once
                    clock.advance(Duration.ofHours(1));
                    awaitBackups(kit, 2);
                });
    }

    @Test
    void theSchedulerRunsOnTheKitsClockSetByACustomizer() throws Exception {
        // no Clock bean: the kit's clock comes from a customizer, and the schedule keeps it too
        Path config = Files.createDirectories(tmp.resolve("config"));
        Files.writeString(config.resolve("app.conf"), "port 8080\n");
        MutableClock clock = new MutableClock();
        new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(DrkitAutoConfiguration.class))
                .withBean(DrKitBuilderCustomizer.class, () -> b -> b.clock(clock))
                .withPropertyValues(
                        "drkit.repository=" + tmp.resolve("repo"),
                        "drkit.targets.config.type=files",
                        "drkit.targets.config.path=" + config,
                        "drkit.targets.config.schedule=0 * * * *")
                .run(context -> {
                    DrKit kit = context.getBean(DrKit.class);
                    awaitBackups(kit, 1);
                    clock.advance(Duration.ofHours(1));
                    awaitBackups(kit, 2);
                });
    }

    private void awaitBackups(DrKit kit, int count) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (backups(kit) < count && System.nanoTime() < deadline) {
            Thread.sleep(100);
        }
        assertThat(backups(kit)).isEqualTo(count);
    }

    /** The backups listed; none before the first backup made the repository. */
    private int backups(DrKit kit) {
        return Files.exists(tmp.resolve("repo/drkit-repository.json"))
                ? kit.list("config").size()
                : 0;
    }
}
