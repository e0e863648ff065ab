package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drkit.spi.support.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The testing schedule and the verification checklist in {@code status}, and {@code record-test}, through the jar. */
class StatusScheduleCliIT {
    @TempDir
    Path work;

    private static CliProcess.Result ok(CliProcess.Result r) {
        assertThat(r.exit()).as(r.err()).isZero();
        return r;
    }

    @Test
    void statusShowsTheScheduleAndChecklistAndARecordedFailoverTest() throws Exception {
        Path repo = work.resolve("repo");
        Path tree = Files.createDirectories(work.resolve("app"));
        Files.writeString(tree.resolve("app.yaml"), "version: 1\n");
        String id = ok(CliProcess.run(repo, "backup", "files", "--name", "config", "--path", tree.toString()))
                .lastLine();
        ok(CliProcess.run(repo, "verify", "--name", "config", "--id", id, "--level", "restore"));

        CliProcess.Result before = ok(CliProcess.run(repo, "status"));
        assertThat(before.out())
                .containsPattern("backup integrity +1d +[^\\n]*passed")
                .containsPattern("failover test +[^\\n]*never +- +now +OVERDUE")
                .contains("checklist config:")
                .containsPattern("\\[ok  \\] backups accessible +newest backup " + id)
                .containsPattern("\\[ - {2}\\] encryption working +backups are not encrypted")
                .containsPattern("\\[ok  \\] restore test passes");

        CliProcess.Result bad = CliProcess.run(repo, "record-test", "failovr", "passed");
        assertThat(bad.exit()).isEqualTo(2);
        assertThat(bad.err()).contains("unknown recovery test 'failovr'").contains("failover");
        CliProcess.Result badResult = CliProcess.run(repo, "record-test", "failover", "maybe");
        assertThat(badResult.exit()).isEqualTo(2);
        assertThat(badResult.err()).contains("passed or failed");

        ok(CliProcess.run(
                repo, "record-test", "failover", "passed", "--took", "4min", "--note", "standby promoted (dry run)"));
        CliProcess.Result after = ok(CliProcess.run(repo, "status"));
        assertThat(after.out()).containsPattern("failover test +[^\\n]*passed +\\d{4}-\\d\\d-\\d\\d \\d\\d:\\d\\dZ");
        assertThat(after.out()).doesNotContainPattern("failover test[^\\n]*OVERDUE");

        JsonNode json = Json.mapper()
                .readTree(ok(CliProcess.run(repo, "--json", "status")).out());
        JsonNode failover = null;
        for (JsonNode row : json.get("schedule")) {
            if (row.get("test").asText().equals("FAILOVER")) {
                failover = row;
            }
        }
        assertThat(failover).isNotNull();
        assertThat(failover.get("lastDetail").asText()).isEqualTo("standby promoted (dry run)");
        assertThat(failover.get("overdue").asBoolean()).isFalse();
        assertThat(json.get("targets").get(0).get("checklist")).hasSize(5);

        CliProcess.Result quiet = ok(CliProcess.run(repo, "status", "--no-checklist"));
        assertThat(quiet.out()).doesNotContain("checklist config:").contains("RECOVERY TEST");
    }
}
