package dev.drkit.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.DrKit;
import java.nio.file.Path;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.boot.autoconfigure.AutoConfigurations;
import org.springframework.boot.test.context.runner.ApplicationContextRunner;

/** The scheduler stops with the application: a running backup finishes within the grace period, or leaves nothing. */
class DrkitShutdownTest {
    @TempDir
    Path tmp;

    private ApplicationContextRunner runner;

    @BeforeEach
    void setUp() {
        LatchedTarget.reset();
        runner = new ApplicationContextRunner()
                .withConfiguration(AutoConfigurations.of(DrkitAutoConfiguration.class))
                .withPropertyValues(
                        "drkit.repository=" + tmp.resolve("repo"),
                        "drkit.targets.slow.type=test-latched",
                        "drkit.targets.slow.schedule=0 * * * *");
    }

    @Test
    void aRunningBackupFinishesBeforeTheApplicationHasStopped() throws Exception {
        runner.run(context -> {
            assertThat(LatchedTarget.started.await(20, TimeUnit.SECONDS))
                    .as("the scheduled backup started")
                    .isTrue();
            CompletableFuture<Void> closing = CompletableFuture.runAsync(context::close);
            assertThatThrownBy(() -> closing.get(500, TimeUnit.MILLISECONDS))
                    .as("the application waits for the running backup")
                    .isInstanceOf(TimeoutException.class);
            LatchedTarget.release.countDown();
            closing.get(20, TimeUnit.SECONDS);
        });
        try (DrKit kit =
                DrKit.builder().repository(tmp.resolve("repo").toString()).build()) {
            assertThat(kit.list("slow")).hasSize(1);
        }
    }

    @Test
    void aBackupStillRunningAfterTheGraceIsAbortedAndListsNothing() throws Exception {
        runner.withPropertyValues("drkit.scheduler.shutdown-grace=1s").run(context -> {
            assertThat(LatchedTarget.started.await(20, TimeUnit.SECONDS)).isTrue();
            long start = System.nanoTime();
            context.close();
            assertThat(TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - start))
                    .isLessThan(15);
        });
        try (DrKit kit =
                DrKit.builder().repository(tmp.resolve("repo").toString()).build()) {
            assertThat(kit.list("slow")).isEmpty();
        }
    }
}
