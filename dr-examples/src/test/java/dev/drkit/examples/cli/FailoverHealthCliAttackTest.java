package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** drkit health and drkit failover with odd flags: usage errors exit 2 and say which flag; no secret is printed. */
class FailoverHealthCliAttackTest {
    private record Run(int exit, String out, String err) {}

    private static Run run(String... args) {
        PrintStream savedErr = System.err;
        PrintStream savedOut = System.out;
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setErr(new PrintStream(err, true, StandardCharsets.UTF_8));
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            int exit = DrkitCli.run(args);
            return new Run(exit, out.toString(StandardCharsets.UTF_8), err.toString(StandardCharsets.UTF_8));
        } finally {
            System.setErr(savedErr);
            System.setOut(savedOut);
        }
    }

    @Test
    void anEmptySwitchCommandIsAUsageError() {
        Run r = run("failover", "--standby", "jdbc:postgresql://127.0.0.1:1/postgres", "--switch-command", "");
        assertThat(r.exit()).as(r.err()).isEqualTo(DrkitCli.USAGE);
        assertThat(r.err()).contains("--switch-command");
    }

    @Test
    void aZeroTimeoutIsAUsageErrorThatNamesTimeoutNotTheTcpAddress() {
        Run r = run("health", "--tcp", "127.0.0.1:1", "--timeout", "0s");
        assertThat(r.exit()).as(r.err()).isEqualTo(DrkitCli.USAGE);
        assertThat(r.err()).contains("--timeout").doesNotContain("takes HOST:PORT");
    }

    @Test
    void aPasswordInTheSqlUrlsUserInfoIsNotPrinted() {
        Run r = run("health", "--timeout", "1s", "--sql", "jdbc:postgresql://app:hunter2@127.0.0.1:1/postgres");
        assertThat(r.exit()).as(r.err()).isEqualTo(DrkitCli.FAILED);
        assertThat(r.out() + r.err()).doesNotContain("hunter2");
    }
}
