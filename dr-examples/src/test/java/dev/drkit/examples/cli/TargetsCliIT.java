package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.spi.support.Json;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code drkit targets} lists each type's options from its provider's schema; the setup file and backups use the same. */
class TargetsCliIT {
    @TempDir
    Path work;

    @Test
    void listsEveryTypeWithItsOptions() throws Exception {
        CliProcess.Result all = CliProcess.run(null, "targets");
        assertThat(all.exit()).as(all.err()).isZero();
        assertThat(all.out())
                .contains("files\n", "postgres\n", "postgres-logical\n", "redis\n", "minio-bucket\n")
                .doesNotContain("not published");

        CliProcess.Result one = CliProcess.run(null, "targets", "postgres-logical");
        assertThat(one.exit()).as(one.err()).isZero();
        assertThat(one.out())
                .startsWith("postgres-logical\n  settings:\n")
                .containsPattern("\n    url +string +required +the server, jdbc:postgresql://")
                .containsPattern("\n    password +string +secret +")
                .containsPattern("\n    globals +boolean +default false +")
                .contains("  restore options:\n")
                .containsPattern("\n    to-database +string +required +")
                .containsPattern("\n    table +string +repeatable +")
                .contains("  verify options of pg-restore-test (restore):\n")
                .doesNotContain("\nfiles\n");
    }

    @Test
    void jsonGivesEachOptionsTypeDefaultAndFlags() throws Exception {
        CliProcess.Result r = CliProcess.run(null, "--json", "targets", "postgres");
        assertThat(r.exit()).as(r.err()).isZero();
        @SuppressWarnings("unchecked")
        Map<String, Object> d = Json.read(r.out().getBytes(StandardCharsets.UTF_8), Map.class);
        assertThat(d).containsEntry("type", "postgres");
        @SuppressWarnings("unchecked")
        List<Map<String, Object>> restore = (List<Map<String, Object>>) d.get("restore");
        assertThat(restore)
                .anySatisfy(o -> assertThat(o)
                        .containsEntry("name", "time")
                        .containsEntry("type", "timestamp")
                        .containsEntry("required", false))
                .anySatisfy(o -> assertThat(o)
                        .containsEntry("name", "target-action")
                        .containsEntry("allowed", List.of("promote", "pause", "shutdown"))
                        .containsEntry("default", "promote"))
                .anySatisfy(o -> assertThat(o).containsEntry("name", "tablespace-*"));
    }

    @Test
    void anUnknownTypeIsAUsageErrorThatSuggestsTheNearestOne() throws Exception {
        CliProcess.Result r = CliProcess.run(null, "targets", "postgress");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err().strip())
                .isEqualTo("drkit: unknown target type 'postgress'; did you mean 'postgres'? Known: files, "
                        + "minio-bucket, postgres, postgres-logical, redis");
    }

    @Test
    void aMisspeltOptionInASetupFileFailsOnItsLineWithTheOneToUse() throws Exception {
        Path setup = Files.writeString(work.resolve("drkit.yaml"), """
                repository: %s
                targets:
                  db:
                    type: postgres-logical
                    url: jdbc:postgresql://127.0.0.1:5432/app
                    globlas: true
                """.formatted(work.resolve("repo")));
        CliProcess.Result r = CliProcess.run(null, "--config", setup.toString(), "config", "check");
        assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(2);
        assertThat(r.err())
                .contains(setup + ":6: targets.db: unknown option 'globlas'; did you mean option 'globals'?");
    }
}
