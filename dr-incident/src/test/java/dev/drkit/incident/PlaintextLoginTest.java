package dev.drkit.incident;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/**
 * The e-mail channel never sends its password in clear: a login without STARTTLS or SMTPS is
 * refused when it is built, but to a relay on this host (anyone on the path would read the AUTH
 * line: base64 is no cipher).
 */
class PlaintextLoginTest {
    @Test
    void aLoginWithoutTlsToAnotherHostIsRefused() {
        for (String host : new String[] {"mail.example.com", "10.0.0.25", "127.example.com"}) {
            assertThatThrownBy(() -> EmailChannel.builder(host, "drkit@example.com")
                            .starttls(false)
                            .login("drkit", "hunter2")
                            .to("oncall@example.com")
                            .build())
                    .as(host)
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("needs 'starttls' or 'ssl'")
                    .hasMessageNotContaining("hunter2");
        }
    }

    @Test
    void aLoginWithTlsOrToARelayOnThisHostIsAccepted() {
        assertThat(EmailChannel.builder("mail.example.com", "drkit@example.com")
                        .login("drkit", "hunter2")
                        .to("oncall@example.com")
                        .build())
                .isNotNull();
        assertThat(EmailChannel.builder("mail.example.com", "drkit@example.com")
                        .starttls(false)
                        .ssl(true)
                        .login("drkit", "hunter2")
                        .to("oncall@example.com")
                        .build())
                .isNotNull();
        for (String host : new String[] {"localhost", "127.0.0.1", "::1", "[::1]"}) {
            assertThat(EmailChannel.builder(host, "drkit@example.com")
                            .starttls(false)
                            .login("drkit", "hunter2")
                            .to("oncall@example.com")
                            .build())
                    .as(host)
                    .isNotNull();
        }
        assertThat(EmailChannel.builder("mail.example.com", "drkit@example.com")
                        .starttls(false)
                        .to("oncall@example.com")
                        .build())
                .as("no login, no password to protect")
                .isNotNull();
    }
}
