package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drkit.spi.support.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Issue "running it for real": {@code drkit run} daemons on one setup, each scheduled backup taken once. */
class SchedulerDaemonIT {
    @TempDir
    Path work;

    @Test
    void twoDaemonsTakeEachMinutesBackupOnceAndKeepTwo() throws Exception {
        Path data = Files.createDirectories(work.resolve("data"));
        Files.writeString(data.resolve("app.conf"), "listen 8080\n");
        Path repo = work.resolve("repo");
        Path setup = setup(repo, "config", data, "rpo: 2min");
        Path logA = work.resolve("a.log");
        Path logB = work.resolve("b.log");
        Process a = daemon(setup, logA);
        Process b = daemon(setup, logB);
        try {
            await(Duration.ofMinutes(4), () -> markers(repo, "backup-config") >= 3);
            Thread.sleep(2000); // the other daemon has looked at the third minute too
        } finally {
            stop(a);
            stop(b);
        }
        long slots = markers(repo, "backup-config");
        String logs = Files.readString(logA) + Files.readString(logB);
        // each minute ran on exactly one daemon
        assertThat(count(logs, "backup-config for .*: RAN")).isEqualTo(slots);
        assertThat(logs).contains("drkit run: 1 job(s)");

        JsonNode list =
                Json.mapper().readTree(CliProcess.run(repo, "--json", "list").out());
        assertThat(list).hasSize(2);

        CliProcess.Result status = CliProcess.run(null, "--config", setup.toString(), "--json", "status");
        assertThat(status.exit()).as(status.out() + status.err()).isZero();
        JsonNode target = Json.mapper().readTree(status.out()).get("targets").get(0);
        assertThat(target.get("name").asText()).isEqualTo("config");
        assertThat(target.get("rpoSeconds").asLong()).isEqualTo(120);
        assertThat(target.get("rpoMet").asBoolean()).isTrue();
        assertThat(target.get("healthy").asBoolean()).isTrue();
    }

    @Test
    void aDaemonKilledMidBackupLeavesNoBackupAndItsLockIsTakenOver() throws Exception {
        Path data = Files.createDirectories(work.resolve("big"));
        CliProcess.writeRandom(data.resolve("volume.bin"), 768L << 20);
        Path repo = work.resolve("repo");
        Path setup = setup(repo, "volume", data, "rpo: 24h");
        Process a = daemon(setup, work.resolve("a.log"));
        try {
            await(Duration.ofMinutes(2), () -> locked(repo, "job-backup-volume"));
        } finally {
            a.destroyForcibly().waitFor();
        }
        assertThat(markers(repo, "backup-volume")).isZero();
        assertThat(Json.mapper().readTree(CliProcess.run(repo, "--json", "list").out()))
                .as("no partial backup listed")
                .isEmpty();

        Path logB = work.resolve("b.log");
        Process b = daemon(setup, logB);
        try {
            await(Duration.ofMinutes(2), () -> markers(repo, "backup-volume") >= 1);
        } finally {
            stop(b);
        }
        assertThat(Files.readString(logB)).contains("took over stale drkit lock 'job-backup-volume'");
        assertThat(Json.mapper().readTree(CliProcess.run(repo, "--json", "list").out()))
                .hasSize(1);
    }

    private Path setup(Path repo, String target, Path data, String objectives) throws IOException {
        return Files.writeString(work.resolve("drkit.yaml"), """
                repository: %s
                targets:
                  %s:
                    type: files
                    path: %s
                    schedule: "* * * * *"
                    retention: { keep-last: 2 }
                    objectives: { %s }
                """.formatted(repo, target, data, objectives));
    }

    private static Process daemon(Path setup, Path log) throws IOException {
        return CliProcess.builder(null, List.of(), "--config", setup.toString(), "run", "--grace", "30s")
                .redirectErrorStream(true)
                .redirectOutput(log.toFile())
                .start();
    }

    private static void stop(Process p) throws InterruptedException {
        p.destroy(); // SIGTERM: the daemon finishes or aborts its job and exits
        if (!p.waitFor(90, TimeUnit.SECONDS)) {
            p.destroyForcibly();
        }
    }

    private static long markers(Path repo, String job) {
        Path dir = repo.resolve("status/jobs").resolve(job);
        if (!Files.isDirectory(dir)) {
            return 0;
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.toString().endsWith(".json")).count();
        } catch (IOException e) {
            return 0;
        }
    }

    private static boolean locked(Path repo, String scope) {
        Path dir = repo.resolve("locks").resolve(scope);
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isPresent();
        } catch (IOException e) {
            return false;
        }
    }

    private static long count(String text, String regex) {
        return Pattern.compile(regex).matcher(text).results().count();
    }

    private static void await(Duration max, BooleanSupplier condition) throws InterruptedException {
        long deadline = System.nanoTime() + max.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("not reached within " + max);
            }
            Thread.sleep(20);
        }
    }
}
