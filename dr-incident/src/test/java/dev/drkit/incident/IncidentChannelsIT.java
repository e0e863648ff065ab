package dev.drkit.incident;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.GreenMailUtil;
import com.icegreen.greenmail.util.ServerSetup;
import dev.drkit.DrEvent;
import dev.drkit.DrListener;
import jakarta.mail.MessagingException;
import jakarta.mail.internet.MimeMessage;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.URI;
import java.time.Duration;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Notices delivered to a local HTTP receiver (Slack, PagerDuty, webhook shapes) and an in-process SMTP server. */
class IncidentChannelsIT {
    private final TestClock clock = new TestClock("2026-12-02T10:00:00Z");
    private HttpReceiver http;
    private GreenMail mail;

    @BeforeEach
    void servers() throws Exception {
        http = new HttpReceiver();
        mail = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        mail.start();
        mail.setUser("drkit@example.com", "drkit", "mail-secret");
    }

    @AfterEach
    void stop() {
        http.close();
        mail.stop();
    }

    private DrEvent event(DrEvent.Type type, String message) {
        return new DrEvent(type, "db", "20261202T100000Z-abc123", clock.instant(), message, Map.of());
    }

    @Test
    void slackPagerDutyAndTheWebhookGetTheInitialAndTheResolutionNoticeInTheirShapes() throws Exception {
        try (IncidentManager m = IncidentManager.builder()
                .clock(clock)
                .channel(new SlackWebhookChannel(http.url("/slack"), true))
                .channel(new PagerDutyChannel("R0UTINGKEY0123456789abcdef012345", http.url("/pagerduty/v2/enqueue")))
                .channel(new WebhookChannel(http.url("/hook")))
                .build()) {
            m.onEvent(event(DrEvent.Type.VERIFY_FAILED, "checksum mismatch in base.tar.zst"));
            String id = m.openIncidents().get(0).id();

            JsonNode slack = http.next("/slack");
            assertThat(slack.get("text").asText())
                    .startsWith("*[ERROR] verification failed: db*\nINCIDENT: verification failed: db\n")
                    .contains("Root Cause: checksum mismatch in base.tar.zst");
            assertThat(slack.at("/blocks/0/type").asText()).isEqualTo("header");
            assertThat(slack.at("/blocks/0/text/text").asText()).isEqualTo("[ERROR] verification failed: db");
            assertThat(slack.at("/blocks/1/text/type").asText()).isEqualTo("mrkdwn");

            JsonNode trigger = http.next("/pagerduty/v2/enqueue");
            assertThat(trigger.get("routing_key").asText()).isEqualTo("R0UTINGKEY0123456789abcdef012345");
            assertThat(trigger.get("event_action").asText()).isEqualTo("trigger");
            assertThat(trigger.get("dedup_key").asText()).isEqualTo(id);
            assertThat(trigger.at("/payload/summary").asText()).isEqualTo("[ERROR] verification failed: db");
            assertThat(trigger.at("/payload/severity").asText()).isEqualTo("error");
            assertThat(trigger.at("/payload/source").asText()).isNotBlank();
            assertThat(trigger.at("/payload/component").asText()).isEqualTo("db");
            assertThat(trigger.at("/payload/timestamp").asText()).isEqualTo("2026-12-02T10:00:00Z");
            assertThat(trigger.at("/payload/custom_details/root_cause").asText())
                    .isEqualTo("checksum mismatch in base.tar.zst");

            JsonNode opened = http.next("/hook");
            assertThat(opened.get("type").asText()).isEqualTo("INCIDENT_OPENED");
            assertThat(opened.get("target").asText()).isEqualTo("db");
            assertThat(opened.at("/details/incidentId").asText()).isEqualTo(id);
            assertThat(opened.at("/details/notice").asText()).isEqualTo("initial");

            clock.plus(Duration.ofMinutes(42));
            m.onEvent(event(DrEvent.Type.VERIFY_SUCCEEDED, "verified"));

            assertThat(http.next("/slack").get("text").asText())
                    .startsWith("*[RESOLVED] verification failed: db*\nRESOLVED: verification failed: db\n")
                    .contains("Duration: 42min 0s");
            JsonNode resolve = http.next("/pagerduty/v2/enqueue");
            assertThat(resolve.get("event_action").asText()).isEqualTo("resolve");
            assertThat(resolve.get("dedup_key").asText())
                    .as("the same dedup key resolves the alert")
                    .isEqualTo(id);
            assertThat(resolve.get("routing_key").asText()).isEqualTo("R0UTINGKEY0123456789abcdef012345");
            assertThat(resolve.has("payload")).isFalse();
            JsonNode resolved = http.next("/hook");
            assertThat(resolved.get("type").asText()).isEqualTo("INCIDENT_RESOLVED");
            assertThat(resolved.at("/details/endedAt").asText()).isEqualTo("2026-12-02T10:42:00Z");
        }
    }

    @Test
    void aReceiverThatFailsForAWhileGetsTheNoticeOnALaterAttempt() throws Exception {
        http.failFirst("/slack", 2);
        try (IncidentManager m = IncidentManager.builder()
                .clock(clock)
                .channel(new SlackWebhookChannel(http.url("/slack"), false))
                .delivery(4, Duration.ofMillis(20))
                .build()) {
            m.onEvent(event(DrEvent.Type.VERIFY_FAILED, "bad"));
            JsonNode slack = http.next("/slack");
            assertThat(slack.has("blocks")).isFalse();
            assertThat(slack.get("text").asText()).contains("INCIDENT: verification failed: db");
        }
    }

    private static String subject(MimeMessage m) {
        try {
            return m.getSubject();
        } catch (MessagingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Waits up to 15 s until the server holds {@code n} messages. */
    static void awaitMails(GreenMail server, int n) throws InterruptedException {
        long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
        while (server.getReceivedMessages().length < n && System.nanoTime() < deadline) {
            Thread.sleep(20);
        }
        assertThat(server.getReceivedMessages())
                .as("messages received within 15 s")
                .hasSize(n);
    }

    @Test
    void aReceiverThatIsDownIsReportedWithoutItsUrl() throws Exception {
        URI url;
        try (ServerSocket free = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            url = URI.create("http://127.0.0.1:" + free.getLocalPort() + "/services/T0/B0/SECRETTOKEN");
        }
        List<DrEvent> reported = new CopyOnWriteArrayList<>();
        try (IncidentManager m = IncidentManager.builder()
                .clock(clock)
                .channel(new SlackWebhookChannel(url, false))
                .listener(new DrListener() {
                    @Override
                    public void onEvent(DrEvent e) {
                        reported.add(e);
                    }
                })
                .delivery(2, Duration.ofMillis(10))
                .build()) {
            m.onEvent(event(DrEvent.Type.VERIFY_FAILED, "bad"));
        }
        assertThat(reported)
                .filteredOn(e -> e.type() == DrEvent.Type.NOTICE_FAILED)
                .singleElement()
                .satisfies(e -> assertThat(e.message())
                        .endsWith("Slack webhook at 127.0.0.1 after 2 attempt(s): the connection was refused")
                        .doesNotContain("SECRETTOKEN", "services"));
    }

    @Test
    void withStarttlsRequiredAServerWithoutItGetsNeitherTheMailNorThePassword() throws Exception {
        EmailChannel email = EmailChannel.builder("127.0.0.1", "drkit@example.com")
                .port(mail.getSmtp().getPort()) // the test server offers no STARTTLS
                .login("drkit", "mail-secret")
                .to("oncall@example.com")
                .build();
        List<DrEvent> reported = new CopyOnWriteArrayList<>();
        try (IncidentManager m = IncidentManager.builder()
                .clock(clock)
                .channel(email)
                .listener(new DrListener() {
                    @Override
                    public void onEvent(DrEvent e) {
                        reported.add(e);
                    }
                })
                .delivery(1, Duration.ofMillis(10))
                .build()) {
            m.onEvent(event(DrEvent.Type.VERIFY_FAILED, "bad"));
        }
        assertThat(mail.getReceivedMessages()).isEmpty();
        assertThat(reported)
                .filteredOn(e -> e.type() == DrEvent.Type.NOTICE_FAILED)
                .singleElement()
                .satisfies(e -> assertThat(e.message())
                        .contains("e-mail via 127.0.0.1:" + mail.getSmtp().getPort(), "STARTTLS")
                        .doesNotContain("mail-secret"));
    }

    @Test
    void theMailboxGetsTheInitialAndTheResolutionMail() throws Exception {
        EmailChannel email = EmailChannel.builder("127.0.0.1", "drkit@example.com")
                .port(mail.getSmtp().getPort())
                .starttls(false) // the test server speaks plain SMTP on loopback
                .login("drkit", "mail-secret")
                .to("oncall@example.com")
                .to("dba@example.com")
                .build();
        assertThat(email.toString()).doesNotContain("mail-secret").contains("to 2 recipient(s)");
        try (IncidentManager m =
                IncidentManager.builder().clock(clock).channel(email).build()) {
            m.onEvent(event(DrEvent.Type.VERIFY_FAILED, "checksum mismatch"));
            awaitMails(mail, 2); // the initial mail, to both recipients
            clock.plus(Duration.ofMinutes(5));
            m.onEvent(event(DrEvent.Type.VERIFY_SUCCEEDED, "verified"));
            awaitMails(mail, 4); // and the resolution mail
        }
        // one copy per recipient mailbox; the server lists them by mailbox, not by time
        MimeMessage[] received = mail.getReceivedMessages();
        assertThat(received)
                .extracting(MimeMessage::getSubject)
                .containsExactlyInAnyOrder(
                        "[ERROR] verification failed: db",
                        "[ERROR] verification failed: db",
                        "[RESOLVED] verification failed: db",
                        "[RESOLVED] verification failed: db");
        Arrays.sort(received, Comparator.comparing(IncidentChannelsIT::subject));
        assertThat(GreenMailUtil.getBody(received[0]))
                .contains("INCIDENT: verification failed: db", "Root Cause: checksum mismatch");
        assertThat(GreenMailUtil.getBody(received[3]))
                .contains("RESOLVED: verification failed: db", "Duration: 5min 0s");
        assertThat(received[0].getHeader("X-Drkit-Incident")[0]).startsWith("drkit-db-verification-failed-");
    }
}
