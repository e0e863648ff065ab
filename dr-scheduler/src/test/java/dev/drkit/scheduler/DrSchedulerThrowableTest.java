package dev.drkit.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import dev.drkit.DrEvent;
import dev.drkit.DrKit;
import dev.drkit.DrListener;
import dev.drkit.setup.Setup;
import dev.drkit.setup.SetupFile;
import dev.drkit.testkit.MutableClock;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An Error (not a RuntimeException) out of a listener or a job: a NoClassDefFoundError or
 * NoSuchMethodError from a dependency conflict in the host, an ExceptionInInitializerError, an
 * OutOfMemoryError during a large backup.
 */
class DrSchedulerThrowableTest {
    @TempDir
    Path dir;

    private Setup setup(String extraTarget) throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.writeString(data.resolve("app.conf"), "x=1\n");
        return SetupFile.load(Files.writeString(dir.resolve("drkit.yaml"), """
                repository: %s
                targets:
                  config:
                    type: files
                    path: %s
                    schedule: "* * * * *"
                  %s
                """.formatted(
                        dir.resolve("repo"), data, extraTarget.replace("\n", "\n  "))));
    }

    /**
     * The ticker is a ScheduledExecutorService task: anything it throws cancels every later tick,
     * silently. A scheduler listener that throws an Error on RPO_AT_RISK stopped all backups for
     * good, with no log line.
     */
    @Test
    void anErrorFromASchedulerListenerDoesNotStopTheSchedule() throws Exception {
        Setup setup = setup("""
                manual:
                  type: files
                  path: %s
                  objectives: { rpo: 2min }
                """.formatted(dir.resolve("data")));
        MutableClock clock = new MutableClock(Instant.parse("2026-11-27T10:00:30Z"));
        CountDownLatch firstBackup = new CountDownLatch(1);
        CountDownLatch secondBackup = new CountDownLatch(2);
        DrListener backups = new DrListener() {
            @Override
            public void onEvent(DrEvent e) {
                if (e.type() == DrEvent.Type.BACKUP_SUCCEEDED && "config".equals(e.target())) {
                    firstBackup.countDown();
                    secondBackup.countDown();
                }
            }
        };
        DrListener broken = new DrListener() {
            @Override
            public void onEvent(DrEvent e) {
                throw new NoClassDefFoundError("com/example/pager/PagerClient");
            }
        };
        try (DrKit kit = DrKit.builder()
                        .repository(dir.resolve("repo").toString())
                        .clock(clock)
                        .listener(backups)
                        .build();
                DrScheduler s = DrScheduler.builder(kit, setup)
                        .clock(clock)
                        .tick(Duration.ofMillis(20))
                        .listener(broken) // "manual" has no backup: RPO_AT_RISK on the first tick
                        .start()) {
            assertThat(firstBackup.await(30, TimeUnit.SECONDS)).isTrue();
            clock.set(Instant.parse("2026-11-27T10:01:30Z")); // the next minute's slot is due
            assertThat(secondBackup.await(10, TimeUnit.SECONDS))
                    .as("the 10:01 backup ran: the ticker survived the listener's Error")
                    .isTrue();
        }
    }

    /**
     * A job that throws an Error left its slot untried, so every tick (each second) ran the job
     * again instead of waiting for its next scheduled time.
     */
    @Test
    void aJobThatThrowsAnErrorIsNotRetriedOnEveryTick() throws Exception {
        Setup setup = setup("");
        MutableClock clock = new MutableClock(Instant.parse("2026-11-27T10:00:30Z"));
        AtomicInteger started = new AtomicInteger();
        DrListener failing = new DrListener() {
            @Override
            public void onEvent(DrEvent e) {
                if (e.type() == DrEvent.Type.BACKUP_STARTED) {
                    started.incrementAndGet();
                    throw new OutOfMemoryError("Java heap space");
                }
            }
        };
        try (DrKit kit = DrKit.builder()
                        .repository(dir.resolve("repo").toString())
                        .clock(clock)
                        .listener(failing)
                        .build();
                DrScheduler s = DrScheduler.builder(kit, setup).clock(clock).manual()) {
            catchThrowable(s::runDue);
            clock.set(Instant.parse("2026-11-27T10:00:31Z")); // the next tick, same slot
            catchThrowable(s::runDue);
            clock.set(Instant.parse("2026-11-27T10:00:32Z"));
            catchThrowable(s::runDue);
            assertThat(started).as("backups tried for the 10:00 slot").hasValue(1);
        }
    }
}
