package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drkit.core.repo.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's main command: the drill on embedded defaults. */
class DrillIT {
    @TempDir
    Path work;

    @Test
    void drillRecoversFromEveryScenarioAndWritesItsReports() throws Exception {
        Path dir = work.resolve("drill");
        CliProcess.Result r = CliProcess.run(null, "--json", "drill", "--keep", "--dir", dir.toString());
        assertThat(r.exit()).as(r.err()).isZero();

        JsonNode report = Json.mapper().readTree(r.out());
        assertThat(report.get("scenarios")).hasSize(2);
        for (JsonNode s : report.get("scenarios")) {
            assertThat(s.get("passed").asBoolean()).as(s.toString()).isTrue();
            assertThat(s.get("achievedRtoSeconds").asDouble()).isPositive();
            assertThat(s.get("achievedRpoSeconds").asDouble()).isPositive();
            assertThat(s.get("checks").toString()).contains("equals");
        }
        assertThat(r.err()).contains("verify detected the corruption");
        assertThat(dir.resolve("drill-report.md")).content().contains("| lost configuration |").contains("PASS");
        assertThat(Files.exists(dir.resolve("drill-report.json"))).isTrue();
    }

    @Test
    void withoutKeepTheDrillCleansUp() throws Exception {
        Path dir = work.resolve("gone");
        CliProcess.Result r = CliProcess.run(null, "drill", "--dir", dir.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out()).contains("overall: PASS").contains("lost configuration").contains("corrupted backup");
        assertThat(dir).doesNotExist();
    }
}
