package dev.drkit.incident;

import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.IOException;
import java.io.OutputStream;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/**
 * An SMTP server (or a tarpit in its place) that sends its greeting a byte at a time, each
 * within the 30 s read timeout, must not hold the e-mail channel's delivery thread for good:
 * Jakarta Mail's timeouts are per read, so without a deadline of its own a send never ends, and
 * every later notice by mail waits behind it.
 */
class SlowSmtpServerTest {
    @Test
    void aServerThatDripsItsGreetingCannotHoldASendForever() throws Exception {
        try (RawServer tarpit = new RawServer((s, n) -> {
            OutputStream out = s.getOutputStream();
            RawServer.write(out, "220 ");
            while (true) {
                RawServer.write(out, "x");
                Thread.sleep(500);
            }
        })) {
            EmailChannel email = EmailChannel.builder("127.0.0.1", "drkit@example.com")
                    .port(tarpit.port())
                    .starttls(false)
                    .to("oncall@example.com")
                    .deadline(Duration.ofSeconds(3))
                    .build();
            // each read gets a byte within the 30 s read timeout: only the deadline for the whole
            // conversation ends it
            assertTimeoutPreemptively(
                    Duration.ofSeconds(20),
                    () -> assertThatThrownBy(() -> email.send(HostileHttpReceiverTest.notice()))
                            .isInstanceOf(IOException.class)
                            .hasMessageContaining("did not finish within 3 s"));
        }
    }
}
