package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.RedisServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * drkit failover for Redis with odd flags: flags of the other system or of the other way are usage
 * errors, not silently dropped; the Sentinel's password comes from a file, never the command line.
 */
class RedisFailoverCliAttackIT {
    private static final String SENTINEL_PASSWORD = "sentinel-Pa55";

    @TempDir
    Path dir;

    private static InProcessCli.Run run(String... args) {
        return InProcessCli.run(args);
    }

    /** --replica and --sentinel together: one of them was dropped without a word (the Sentinel won). */
    @Test
    void aReplicaAndASentinelTogetherAreAUsageError() {
        InProcessCli.Run r = run(
                "failover",
                "--replica",
                "redis://127.0.0.1:1",
                "--sentinel",
                "redis://127.0.0.1:2",
                "--master-name",
                "cache");
        assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(DrkitCli.USAGE);
        assertThat(r.err()).contains("--replica").contains("--sentinel");
    }

    /**
     * --stop-command (and the other PostgreSQL-only flags) with a Redis replica did nothing: with
     * --force the old master was "forced, left running" although the operator asked for it to be stopped.
     */
    @Test
    void postgresOnlyFlagsWithARedisReplicaAreAUsageError() {
        InProcessCli.Run r = run(
                "failover", "--dry-run", "--force", "--replica", "redis://127.0.0.1:1", "--stop-command", "/bin/true");
        assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(DrkitCli.USAGE);
        assertThat(r.err()).contains("--stop-command");
    }

    /** --password-file is "for every server": the Sentinel is asked without it, so a password must go on the command line. */
    @Test
    void thePasswordFileLogsInToTheSentinel() throws Exception {
        try (RedisServer master = RedisServer.start();
                RedisServer sentinel = RedisServer.builder()
                        .password(SENTINEL_PASSWORD)
                        .sentinel("cache", master, 1, null)
                        .start()) {
            Path password = dir.resolve("sentinel-pass");
            Files.writeString(password, SENTINEL_PASSWORD + "\n");
            Files.setPosixFilePermissions(password, PosixFilePermissions.fromString("rw-------"));
            long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
            while (!String.valueOf(sentinel.command("SENTINEL", "MASTERS")).contains("cache")) {
                assertThat(System.nanoTime()).as("sentinel up").isLessThan(deadline);
                Thread.sleep(100);
            }

            InProcessCli.Run r = run(
                    "failover",
                    "--dry-run",
                    "--sentinel",
                    "redis://127.0.0.1:" + sentinel.port(),
                    "--master-name",
                    "cache",
                    "--password-file",
                    password.toString());

            // no replica: the dry run is refused, but only after the Sentinel answered
            assertThat(r.out()).as(r.out() + r.err()).containsPattern("ask sentinel +REFUSED");
            assertThat(r.out() + r.err()).contains("no healthy replica").doesNotContain(SENTINEL_PASSWORD);
        }
    }
}
