package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.DrException;
import dev.drkit.postgres.launcher.ServerProcesses;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Limits of the failover's waits: what they accept, and what a wait that ran out leaves running. */
class FailoverLimitsTest {
    @TempDir
    Path dir;

    @Test
    void aPromoteTimeoutBeyondADayIsRefusedWhenItIsGivenNotWhenThePromotionOverflows() {
        assertThatThrownBy(() -> PostgresFailover.builder().promoteTimeout(Duration.ofDays(365L * 10_000)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("promote-timeout must be at most 24h");
        assertThat(PostgresFailover.builder().promoteTimeout(Duration.ofDays(1)))
                .isNotNull();
    }

    @Test
    void aFailedStopCommandsOutputIsQuotedWithoutTheSecretsItPrinted() {
        // a stop script that prints what it connected with before it fails
        List<String> command = List.of(
                "/bin/sh",
                "-c",
                "echo 'psql: connecting with host=db user=ops password=Hunter2pw'; echo 'PGPASSWORD=Hunter2pw';"
                        + " echo 'to postgres://ops:Hunter2pw@db:5432/app'; echo 'FATAL: password authentication"
                        + " failed'; exit 3");
        assertThatThrownBy(() -> ServerProcesses.run(command, null, Duration.ofSeconds(30), null))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("failed (exit 3)")
                .hasMessageContaining("password=****")
                .hasMessageContaining("PGPASSWORD=****")
                .hasMessageContaining("postgres://ops:****@db")
                .hasMessageContaining("FATAL: password authentication failed")
                .hasMessageNotContaining("Hunter2pw");
    }

    @Test
    void aStopCommandThatRunsOutOfTimeTakesWhatItStartedWithIt() throws Exception {
        Path pidFile = dir.resolve("child.pid");
        // a stop script that started a child (ssh, pg_ctl) and waits for it
        List<String> command = List.of("/bin/sh", "-c", "sleep 300 & echo $! > '" + pidFile + "'; wait");
        // time for the shell to write the pid before the timeout takes it
        assertThatThrownBy(() -> ServerProcesses.run(command, null, Duration.ofSeconds(3), null))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("did not finish within 3 s");
        long child = Long.parseLong(Files.readString(pidFile).trim());
        long deadline = System.nanoTime() + Duration.ofSeconds(10).toNanos();
        Optional<ProcessHandle> left = ProcessHandle.of(child).filter(ProcessHandle::isAlive);
        while (left.isPresent() && System.nanoTime() < deadline) {
            Thread.sleep(20);
            left = ProcessHandle.of(child).filter(ProcessHandle::isAlive);
        }
        assertThat(left).as("the command's child was killed with it").isEmpty();
    }
}
