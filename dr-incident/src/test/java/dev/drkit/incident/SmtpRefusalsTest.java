package dev.drkit.incident;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrEvent;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * How the e-mail channel takes a server's refusals. A 4xx reply is a temporary failure by
 * RFC 5321 (greylisting, a full queue, a recipient server down): the notice must be tried again,
 * not dropped as refused. And one recipient the server does not know (a colleague who left) must
 * not keep the notice from everyone else on the list.
 */
class SmtpRefusalsTest {
    private final TestClock clock = new TestClock("2026-12-02T12:00:00Z");

    private static IncidentManager manager(FakeSmtp smtp, TestClock clock, String... to) {
        EmailChannel.Builder b = EmailChannel.builder("127.0.0.1", "drkit@example.com")
                .port(smtp.port())
                .starttls(false);
        for (String t : to) {
            b.to(t);
        }
        return IncidentManager.builder()
                .clock(clock)
                .channel(b.build())
                .delivery(3, Duration.ofMillis(50))
                .build();
    }

    private static DrEvent failover(Instant at) {
        return new DrEvent(DrEvent.Type.FAILOVER_STARTED, "db", null, at, "primary down", Map.of());
    }

    @Test
    void aGreylistedRecipientGetsTheNoticeOnTheNextAttempt() throws Exception {
        // the usual greylisting: the first attempt is told to come back later, the next is taken
        try (FakeSmtp smtp = new FakeSmtp((connection, address) -> connection == 1
                ? "450 4.2.0 <" + address + ">: Recipient address rejected: Greylisted"
                : "250 2.1.5 ok")) {
            IncidentManager m = manager(smtp, clock, "oncall@example.com");
            m.onEvent(failover(clock.instant()));
            m.close(); // delivers what is queued, retries included
            assertThat(smtp.mails.poll(5, TimeUnit.SECONDS))
                    .as(
                            "the initial notice, delivered on a later attempt after a temporary 450 (%d connection(s))",
                            smtp.connections())
                    .isNotNull();
        }
    }

    @Test
    void oneUnknownRecipientDoesNotKeepTheNoticeFromTheOthers() throws Exception {
        try (FakeSmtp smtp = new FakeSmtp((connection, address) ->
                address.startsWith("left") ? "550 5.1.1 <" + address + ">: user unknown" : "250 2.1.5 ok")) {
            IncidentManager m = manager(smtp, clock, "oncall@example.com", "left-the-company@example.com");
            m.onEvent(failover(clock.instant()));
            m.close();
            FakeSmtp.Mail mail = smtp.mails.poll(5, TimeUnit.SECONDS);
            assertThat(mail)
                    .as("the initial notice, for the recipient the server knows")
                    .isNotNull();
            assertThat(mail.recipients()).containsExactly("oncall@example.com");
        }
    }
}
