package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** drkit health --sql with Oracle's thin URL (user/password@host, no "://"): the password is not printed. */
class HealthCliOracleUrlTest {
    @Test
    void aPasswordInAnOracleThinUrlIsNotPrinted() {
        PrintStream savedErr = System.err;
        PrintStream savedOut = System.out;
        ByteArrayOutputStream both = new ByteArrayOutputStream();
        System.setErr(new PrintStream(both, true, StandardCharsets.UTF_8));
        System.setOut(new PrintStream(both, true, StandardCharsets.UTF_8));
        int exit;
        try {
            exit = DrkitCli.run("health", "--timeout", "1s", "--sql", "jdbc:oracle:thin:app/hunter2@127.0.0.1:1/orcl");
        } finally {
            System.setErr(savedErr);
            System.setOut(savedOut);
        }
        String printed = both.toString(StandardCharsets.UTF_8);
        assertThat(exit).as(printed).isEqualTo(DrkitCli.FAILED);
        assertThat(printed).doesNotContain("hunter2");
    }
}
