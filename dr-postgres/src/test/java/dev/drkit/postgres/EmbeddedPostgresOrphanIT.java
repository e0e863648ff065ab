package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.PostgresServer;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** A cluster lives as long as the JVM that started it: killed with SIGKILL, the JVM leaves no server running. */
class EmbeddedPostgresOrphanIT {
    @TempDir
    Path work;

    /** Starts a cluster in args[0] with the server binaries in args[1], prints its postmaster's pid, waits to be killed. */
    public static final class ClusterJvm {
        public static void main(String[] args) throws Exception {
            EmbeddedPostgres pg = EmbeddedPostgres.create(Path.of(args[1]), Path.of(args[0]), Map.of());
            String pid = Files.readAllLines(Path.of(args[0], "data", "postmaster.pid"))
                    .get(0);
            System.out.println("postmaster " + pid.strip());
            System.out.flush();
            Thread.sleep(600_000);
            pg.close();
        }
    }

    @Test
    @Timeout(value = 3, unit = TimeUnit.MINUTES)
    void aKilledJvmLeavesNoServerRunningAndKeepsTheFiles() throws Exception {
        Path dir = work.resolve("cluster");
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process jvm = new ProcessBuilder(
                        java,
                        "-cp",
                        System.getProperty("java.class.path"),
                        ClusterJvm.class.getName(),
                        dir.toString(),
                        PostgresServer.findBinDir()
                                .orElseThrow(() -> new AssertionError("no PostgreSQL server binaries"))
                                .toString())
                .redirectErrorStream(true)
                .start();
        long postmaster = -1;
        StringBuilder said = new StringBuilder();
        try (BufferedReader out =
                new BufferedReader(new InputStreamReader(jvm.getInputStream(), StandardCharsets.UTF_8))) {
            for (String line; (line = out.readLine()) != null; ) {
                said.append(line).append('\n');
                if (line.startsWith("postmaster ")) {
                    postmaster = Long.parseLong(line.substring("postmaster ".length()));
                    break;
                }
            }
            assertThat(postmaster)
                    .as("the child JVM started a cluster:\n%s", said)
                    .isPositive();
            assertThat(ProcessHandle.of(postmaster).map(ProcessHandle::isAlive)).contains(true);

            jvm.destroyForcibly(); // SIGKILL: no finally, no hook
            assertThat(jvm.waitFor(30, TimeUnit.SECONDS)).isTrue();
        }
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(15);
        while (ProcessHandle.of(postmaster).map(ProcessHandle::isAlive).orElse(false) && System.nanoTime() < end) {
            Thread.sleep(100);
        }
        assertThat(ProcessHandle.of(postmaster).map(ProcessHandle::isAlive))
                .as("the cluster's postmaster")
                .isNotEqualTo(Optional.of(true));
        assertThat(dir.resolve("data").resolve("PG_VERSION"))
                .as("the cluster's files stay")
                .exists();
    }
}
