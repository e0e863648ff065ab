package dev.drkit.incident;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NoticeTemplatesTest {
    private static final Instant START = Instant.parse("2026-12-02T10:00:00Z");

    @TempDir
    Path dir;

    private static Incident incident(Instant end) {
        return new Incident(
                "drkit-db-backup-failures-20261202T100000Z",
                Incident.Kind.BACKUP_FAILURES,
                "db",
                Incident.Severity.ERROR,
                START,
                end,
                "2 backups of db failed in a row <&>",
                "pg_dump: connection refused",
                end == null ? "investigating" : "resolved",
                List.of("backup failed at 10:30", "backup 20261202T120000Z-a1b2c3 succeeded"),
                START);
    }

    @Test
    void theDefaultInitialNoticeHasThePlansFieldsInPlainText() {
        Notice n = NoticeTemplates.defaults()
                .render(Notice.Type.INITIAL, incident(null), START, START.plus(Duration.ofHours(1)));
        assertThat(n.title()).isEqualTo("[ERROR] backups failing: db");
        assertThat(n.text())
                .contains("INCIDENT: backups failing: db\n", "Incident ID: drkit-db-backup-failures-20261202T100000Z\n")
                .contains("Severity: ERROR\n", "Affected Systems: db\n", "Start Time: 2026-12-02T10:00:00Z\n")
                .contains("Impact: 2 backups of db failed in a row <&>\n", "Current Status: investigating\n")
                .contains("Next Update: 2026-12-02T11:00:00Z\n");
    }

    @Test
    void theDefaultResolutionNoticeHasStartEndDurationImpactRootCauseAndActions() {
        Instant end = START.plus(Duration.ofMinutes(125));
        Notice n = NoticeTemplates.defaults().render(Notice.Type.RESOLUTION, incident(end), end, null);
        assertThat(n.title()).isEqualTo("[RESOLVED] backups failing: db");
        assertThat(n.text())
                .contains("RESOLVED: backups failing: db\n", "Start Time: 2026-12-02T10:00:00Z\n")
                .contains("End Time: 2026-12-02T12:05:00Z\n", "Duration: 2h 5min\n")
                .contains("Root Cause: pg_dump: connection refused\n")
                .contains("Actions Taken:\n- backup failed at 10:30\n- backup 20261202T120000Z-a1b2c3 succeeded\n");
    }

    @Test
    void aTemplateFileReplacesTheBuiltInOne() throws Exception {
        Path file = Files.writeString(
                dir.resolve("initial.mustache"),
                "{{severity}} {{target}} since {{startTime}}{{#actions}} | {{.}}{{/actions}}");
        NoticeTemplates t = NoticeTemplates.of(Map.of(Notice.Type.INITIAL, file));
        assertThat(t.render(Notice.Type.INITIAL, incident(null), START, null).text())
                .isEqualTo("ERROR db since 2026-12-02T10:00:00Z | backup failed at 10:30 | backup "
                        + "20261202T120000Z-a1b2c3 succeeded");
        assertThat(t.render(Notice.Type.UPDATE, incident(null), START, null).text())
                .as("the others stay built in")
                .startsWith("UPDATE: backups failing: db");
    }

    @Test
    void aTemplateNamingAnUnknownVariableFailsWhenItIsLoaded() throws Exception {
        Path file = Files.writeString(dir.resolve("resolution.mustache"), "Root cause: {{rootcause}}\n");
        assertThatThrownBy(() -> NoticeTemplates.of(Map.of(Notice.Type.RESOLUTION, file)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("the resolution notice template " + file)
                .hasMessageContaining("rootcause")
                .hasMessageContaining("variables: id, title");
        Path broken = Files.writeString(dir.resolve("broken.mustache"), "{{#actions}} unclosed");
        assertThatThrownBy(() -> NoticeTemplates.of(Map.of(Notice.Type.INITIAL, broken)))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("the initial notice template " + broken);
        assertThatThrownBy(() -> NoticeTemplates.of(Map.of(Notice.Type.INITIAL, dir.resolve("missing"))))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("cannot read the initial notice template");
    }

    @Test
    void durationsReadAsPeopleSayThem() {
        assertThat(NoticeTemplates.human(Duration.ofSeconds(12))).isEqualTo("12s");
        assertThat(NoticeTemplates.human(Duration.ofSeconds(200))).isEqualTo("3min 20s");
        assertThat(NoticeTemplates.human(Duration.ofMinutes(65))).isEqualTo("1h 5min");
        assertThat(NoticeTemplates.human(Duration.ofHours(50))).isEqualTo("2d 2h");
    }
}
