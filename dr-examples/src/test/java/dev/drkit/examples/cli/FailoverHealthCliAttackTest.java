package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** drkit health and drkit failover with odd flags: usage errors exit 2 and say which flag; no secret is printed. */
class FailoverHealthCliAttackTest {
    private static InProcessCli.Run run(String... args) {
        return InProcessCli.run(args);
    }

    @Test
    void anEmptySwitchCommandIsAUsageError() {
        InProcessCli.Run r =
                run("failover", "--standby", "jdbc:postgresql://127.0.0.1:1/postgres", "--switch-command", "");
        assertThat(r.exit()).as(r.err()).isEqualTo(DrkitCli.USAGE);
        assertThat(r.err()).contains("--switch-command");
    }

    @Test
    void aZeroTimeoutIsAUsageErrorThatNamesTimeoutNotTheTcpAddress() {
        InProcessCli.Run r = run("health", "--tcp", "127.0.0.1:1", "--timeout", "0s");
        assertThat(r.exit()).as(r.err()).isEqualTo(DrkitCli.USAGE);
        assertThat(r.err()).contains("--timeout").doesNotContain("takes HOST:PORT");
    }

    @Test
    void aPasswordInTheSqlUrlsUserInfoIsNotPrinted() {
        InProcessCli.Run r =
                run("health", "--timeout", "1s", "--sql", "jdbc:postgresql://app:hunter2@127.0.0.1:1/postgres");
        assertThat(r.exit()).as(r.err()).isEqualTo(DrkitCli.FAILED);
        assertThat(r.out() + r.err()).doesNotContain("hunter2");
    }
}
