package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drkit.spi.support.Json;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's main command: the drill on embedded defaults (PostgreSQL from Maven, as root too). */
class DrillIT {
    @TempDir
    Path work;

    @Test
    void drillRecoversFromEveryScenarioAndWritesItsReports() throws Exception {
        Path dir = work.resolve("drill");
        CliProcess.Result r = CliProcess.run(null, "--json", "drill", "--keep", "--dir", dir.toString());
        assertThat(r.exit()).as(r.err()).isZero();

        JsonNode report = Json.mapper().readTree(r.out());
        List<String> names = new ArrayList<>();
        for (JsonNode s : report.get("scenarios")) {
            names.add(s.get("name").asText() + "/" + s.get("system").asText());
            assertThat(s.get("passed").asBoolean()).as(s.toString()).isTrue();
            assertThat(s.get("achievedRtoSeconds").asDouble()).isPositive();
            assertThat(s.get("achievedRpoSeconds").asDouble()).isPositive();
            assertThat(s.get("checks").toString()).contains("equals");
        }
        assertThat(names)
                .containsExactly(
                        "accidental deletion/database",
                        "database server failure/database",
                        "loss of database/database",
                        "corrupted backup/database",
                        "flushed sessions/API sessions",
                        "lost configuration/configuration",
                        "corrupted backup/configuration");
        for (JsonNode s : report.get("scenarios")) {
            if (s.get("system").asText().equals("database")) {
                // WAL is streamed: the recovered databases lost at most a moment of the application's writes
                assertThat(s.get("achievedRpoSeconds").asDouble())
                        .as(s.toString())
                        .isLessThan(5.0);
                assertThat(s.get("checks").toString()).contains("acknowledged application writes lost");
            }
        }
        assertThat(report.get("scenarios").get(0).get("checks").toString()).contains("\"0 of ");
        assertThat(report.get("notes").toString())
                .contains("restore test passed")
                .contains("logical backup")
                .contains("Redis snapshot");
        JsonNode sessions = report.get("scenarios").get(4);
        assertThat(sessions.get("checks").toString())
                .contains("20000 sessions restored")
                .contains("50 sessions written after the snapshot are lost");
        assertThat(sessions.get("objectiveRpoSeconds").asLong()).isEqualTo(3600);
        JsonNode failover = report.get("scenarios").get(1);
        assertThat(failover.get("objectiveRtoSeconds").asLong()).isEqualTo(30);
        assertThat(failover.get("achievedRtoSeconds").asDouble())
                .as(failover.toString())
                .isLessThan(30.0);
        assertThat(failover.get("checks").toString())
                .contains("failure detected by the health check")
                .contains("promote")
                .contains("first write after the switch");
        assertThat(r.err())
                .contains("verify detected the corruption")
                .contains("embedded PostgreSQL started")
                .contains("streaming standby started")
                .contains("health check: the primary is down");
        assertThat(dir.resolve("drill-report.md"))
                .content()
                .contains("| accidental deletion | database |")
                .contains("| lost configuration |")
                .contains("Overall: **PASS**");
        assertThat(Files.exists(dir.resolve("drill-report.json"))).isTrue();
    }

    @Test
    void theDatabaseScenariosRunOnASampleOfTheGivenSize() throws Exception {
        Path dir = work.resolve("sized");
        CliProcess.Result r = CliProcess.run(
                null, "--json", "drill", "--skip-redis", "--database-size", "64MB", "--keep", "--dir", dir.toString());
        assertThat(r.exit()).as(r.err()).isZero();

        JsonNode report = Json.mapper().readTree(r.out());
        for (JsonNode s : report.get("scenarios")) {
            assertThat(s.get("passed").asBoolean()).as(s.toString()).isTrue();
        }
        assertThat(report.get("scenarios")).hasSize(6);
        Matcher loaded = Pattern.compile("sample database corporate_intel: 2000 companies, (\\d+) filings, (\\d+) MiB "
                        + "\\(pg_database_size\\), loaded in [0-9.]+ s")
                .matcher(report.get("notes").toString());
        assertThat(loaded.find()).as(report.get("notes").toString()).isTrue();
        assertThat(Long.parseLong(loaded.group(2))).as("MiB reached").isBetween(58L, 70L);
        // about 265 bytes a filing on disk with its indexes: four times the default sample's 60,000
        assertThat(Long.parseLong(loaded.group(1))).isBetween(200_000L, 250_000L);
        // the restored copy holds the sample too (and the cluster's three small databases, about 7.5 MiB each)
        long restored = bytesUnder(dir.resolve("pg/restored/base"));
        assertThat(restored >> 20).as("MiB of the restored cluster's databases").isBetween(60L, 100L);
        for (JsonNode s : report.get("scenarios")) {
            if (s.get("system").asText().equals("database")
                    && !s.get("name").asText().equals("database server failure")) {
                assertThat(s.get("checks").toString())
                        .contains("equals")
                        .containsPattern("RTO [0-9.]+ s: restore [0-9.]+ s, start with WAL replay");
            }
        }
        assertThat(r.err()).contains("loading the sample database corporate_intel to about 64 MiB");
    }

    private static long bytesUnder(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            long total = 0;
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                total += Files.size(f);
            }
            return total;
        }
    }

    @Test
    void aRecoveryThatDoesNotValidateFailsTheDrillAndIsNamed() throws Exception {
        Path dir = work.resolve("sabotaged");
        CliProcess.Result r =
                CliProcess.run(null, "drill", "--dir", dir.toString(), "--inject-fault", "late-pitr-target");
        assertThat(r.exit()).as(r.out()).isEqualTo(1);
        assertThat(r.out())
                .containsPattern("accidental deletion +database .* FAIL")
                .containsPattern("loss of database +database .* PASS")
                .contains("overall: FAIL");
        assertThat(r.err()).contains("the drill FAILED: accidental deletion (database)");
        assertThat(dir).doesNotExist();
    }

    @Test
    void theDrillUsesAGivenRepositoryOnlyWhenItIsEmpty() throws Exception {
        Path used = Files.createDirectories(work.resolve("used"));
        Files.writeString(used.resolve("keep.me"), "production backups\n");
        CliProcess.Result refused = CliProcess.run(
                used, "drill", "--skip-database", "--dir", work.resolve("d1").toString());
        assertThat(refused.exit()).isEqualTo(2);
        assertThat(refused.err()).contains("is not empty").contains("corrupts a backup on purpose");
        assertThat(used.resolve("keep.me")).hasContent("production backups");

        Path fresh = work.resolve("fresh-repo");
        CliProcess.Result r = CliProcess.run(
                fresh, "drill", "--skip-database", "--dir", work.resolve("d2").toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(fresh.resolve("backups/config")).isDirectory();
    }

    @Test
    void withoutKeepTheDrillCleansUp() throws Exception {
        Path dir = work.resolve("gone");
        CliProcess.Result r = CliProcess.run(null, "drill", "--skip-database", "--dir", dir.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        assertThat(r.out())
                .contains("overall: PASS")
                .contains("lost configuration")
                .contains("corrupted backup")
                .doesNotContain("database");
        assertThat(dir).doesNotExist();
    }
}
