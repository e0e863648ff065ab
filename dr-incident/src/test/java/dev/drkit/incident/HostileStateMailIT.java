package dev.drkit.incident;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.ServerSetup;
import dev.drkit.ConfigException;
import jakarta.mail.internet.MimeMessage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An incident state file written by someone else must not add mail headers or recipients: an id
 * with a line break (\r\nBcc: ...) went into the X-Drkit-Incident header as it was, and the
 * update went to the injected address too. Such a file is now refused as damaged, and a header
 * value never holds a line break.
 */
class HostileStateMailIT {
    private final TestClock clock = new TestClock("2026-12-02T12:00:00Z");
    private GreenMail mail;

    @TempDir
    Path dir;

    @BeforeEach
    void servers() {
        mail = new GreenMail(new ServerSetup(0, "127.0.0.1", ServerSetup.PROTOCOL_SMTP));
        mail.start();
    }

    @AfterEach
    void stop() {
        mail.stop();
    }

    @Test
    void crlfInAStateFilesIncidentDoesNotInjectMailHeaders() throws Exception {
        Path state = dir.resolve("incidents.json");
        String json = """
                {"version":1,"open":[{"id":"drkit-db-x\\r\\nBcc: thief@evil.example\\r\\nX-Injected-Id: 1",
                "kind":"RPO_AT_RISK","target":"db\\r\\nBcc: thief2@evil.example\\r\\nX-Injected-Subject: 1",
                "severity":"ERROR","startedAt":"2026-12-02T10:00:00Z","endedAt":null,"impact":"i",
                "rootCause":"r","status":"investigating","actions":[],"lastNoticeAt":"2026-12-02T10:00:00Z"}],
                "failedInARow":{}}
                """;
        Files.writeString(state, json, StandardCharsets.UTF_8);
        EmailChannel email = EmailChannel.builder("127.0.0.1", "drkit@example.com")
                .port(mail.getSmtp().getPort())
                .starttls(false)
                .to("oncall@example.com")
                .build();
        assertThatThrownBy(() -> IncidentManager.builder()
                        .clock(clock)
                        .stateFile(state)
                        .channel(email)
                        .delivery(1, Duration.ofMillis(10))
                        .build()
                        .close())
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("control character")
                .hasMessageContaining("move it aside");
        Thread.sleep(200);
        assertThat(mail.getReceivedMessages())
                .as("no mail goes out from such a file")
                .isEmpty();
    }

    @Test
    void aLineBreakInAnIncidentIdNeverStartsAMailHeader() throws Exception {
        // an id drkit made (no control character) reaches the header as it is; any other is flattened
        EmailChannel email = EmailChannel.builder("127.0.0.1", "drkit@example.com")
                .port(mail.getSmtp().getPort())
                .starttls(false)
                .to("oncall@example.com")
                .build();
        Incident hostile = new Incident(
                "drkit-db-x\r\nBcc: thief@evil.example",
                Incident.Kind.RPO_AT_RISK,
                "db",
                Incident.Severity.ERROR,
                clock.instant(),
                null,
                "i",
                "r",
                "investigating",
                List.of(),
                null);
        email.send(new Notice(Notice.Type.UPDATE, hostile, "title", "text", clock.instant(), null));
        MimeMessage[] got = mail.getReceivedMessages();
        assertThat(got).hasSize(1);
        assertThat(got[0].getAllRecipients()).extracting(Object::toString).containsOnly("oncall@example.com");
        assertThat(mail.getReceivedMessagesForDomain("evil.example")).isEmpty();
    }
}
