package dev.drkit.scheduler;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drkit.DrEvent;
import dev.drkit.spi.support.Hosts;
import dev.drkit.spi.support.Json;
import dev.drkit.storage.FileStorageBackend;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Two instances on one repository, each with its own storage handle, as two hosts would be. */
class JobSlotsTest {
    private static final Instant SLOT = Instant.parse("2026-11-27T10:05:00Z");
    private static final Duration LEASE = Duration.ofMinutes(5);

    @TempDir
    Path repo;

    private final List<DrEvent> events = new CopyOnWriteArrayList<>();

    private JobSlots instance() throws IOException {
        return new JobSlots(new FileStorageBackend(repo), LEASE, Clock.fixed(SLOT, ZoneOffset.UTC), events::add);
    }

    @Test
    void aSlotRunsOnceAndItsMarkerIsWhereEveryVersionLooks() throws Exception {
        JobSlots a = instance();
        JobSlots b = instance();
        AtomicInteger runs = new AtomicInteger();

        assertThat(a.run("backup-config", SLOT, runs::incrementAndGet)).isEqualTo(JobSlots.Outcome.RAN);
        assertThat(b.run("backup-config", SLOT, runs::incrementAndGet)).isEqualTo(JobSlots.Outcome.ALREADY_DONE);
        assertThat(a.run("backup-config", SLOT, runs::incrementAndGet)).isEqualTo(JobSlots.Outcome.ALREADY_DONE);
        assertThat(runs).hasValue(1);

        Path marker = repo.resolve("status/jobs/backup-config/20261127T100500Z.json");
        assertThat(JobSlots.marker("backup-config", SLOT)).isEqualTo("status/jobs/backup-config/20261127T100500Z.json");
        JsonNode json = Json.mapper().readTree(Files.readString(marker));
        assertThat(json.get("job").asText()).isEqualTo("backup-config");
        assertThat(json.get("slot").asText()).isEqualTo("2026-11-27T10:05:00Z");
        assertThat(json.get("host").asText()).isEqualTo(Hosts.name());
        assertThat(json.get("pid").asLong()).isEqualTo(ProcessHandle.current().pid());
        assertThat(json.get("finishedAt").asText()).isEqualTo("2026-11-27T10:05:00Z");
        assertThat(new FileStorageBackend(repo).list("locks/"))
                .as("the lock is released")
                .isEmpty();
    }

    @Test
    void whileOneInstanceRunsASlotTheOtherIsBusyThenFindsItDone() throws Exception {
        JobSlots a = instance();
        JobSlots b = instance();
        CountDownLatch running = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        AtomicInteger runs = new AtomicInteger();
        CompletableFuture<JobSlots.Outcome> first = CompletableFuture.supplyAsync(() -> a.run("verify-db", SLOT, () -> {
            runs.incrementAndGet();
            running.countDown();
            await(finish);
        }));
        assertThat(running.await(30, TimeUnit.SECONDS)).isTrue();

        assertThat(b.run("verify-db", SLOT, runs::incrementAndGet)).isEqualTo(JobSlots.Outcome.BUSY);
        assertThat(b.run("verify-db", SLOT.plusSeconds(60), runs::incrementAndGet))
                .as("another slot of the job waits for the lock too")
                .isEqualTo(JobSlots.Outcome.BUSY);
        finish.countDown();

        assertThat(first.get(30, TimeUnit.SECONDS)).isEqualTo(JobSlots.Outcome.RAN);
        assertThat(b.run("verify-db", SLOT, runs::incrementAndGet)).isEqualTo(JobSlots.Outcome.ALREADY_DONE);
        assertThat(runs).hasValue(1);
    }

    @Test
    void aJobThatFailsLeavesNoMarkerSoTheSlotIsTriedAgain() throws Exception {
        JobSlots a = instance();
        assertThatThrownBy(() -> a.run("backup-config", SLOT, () -> {
                    throw new IllegalStateException("source unreachable");
                }))
                .hasMessage("source unreachable");
        assertThat(repo.resolve("status/jobs/backup-config/20261127T100500Z.json"))
                .doesNotExist();

        AtomicInteger runs = new AtomicInteger();
        assertThat(instance().run("backup-config", SLOT, runs::incrementAndGet)).isEqualTo(JobSlots.Outcome.RAN);
        assertThat(runs).hasValue(1);
    }

    @Test
    void theLockOfAJobWhoseHolderIsGoneIsTakenOverAndSaidToTheListeners() throws Exception {
        Path scope = Files.createDirectories(repo.resolve("locks/job-backup-config"));
        Instant past = SLOT.minus(Duration.ofHours(1));
        Files.writeString(scope.resolve("1-dead.json"), """
                {"owner":"dead","host":"elsewhere","pid":1,"operation":"scheduled backup-config",
                 "createdAt":"%s","expiresAt":"%s"}""".formatted(past, past.plus(LEASE)));
        AtomicInteger runs = new AtomicInteger();

        assertThat(instance().run("backup-config", SLOT, runs::incrementAndGet)).isEqualTo(JobSlots.Outcome.RAN);

        assertThat(runs).hasValue(1);
        assertThat(events).singleElement().satisfies(e -> {
            assertThat(e.type()).isEqualTo(DrEvent.Type.STALE_LOCK_TAKEN_OVER);
            assertThat(e.message()).startsWith("took over the lock of job backup-config from scheduled backup-config");
        });
    }

    private static void await(CountDownLatch latch) {
        try {
            assertThat(latch.await(30, TimeUnit.SECONDS)).isTrue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }
}
