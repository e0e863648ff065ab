package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.spi.support.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code --config drkit.yaml}: every command takes its repository, keys, targets, retention and copies from it. */
class SetupFileIT {
    @TempDir
    Path work;

    @Test
    void theSetupDrivesBackupCopiesVerifyRestoreAndPrune() throws Exception {
        ok(CliProcess.run(null, "key", "generate", "--out", work.resolve("keys").toString()));
        Path app = Files.createDirectories(work.resolve("app"));
        Files.writeString(app.resolve("app.conf"), "listen 8080\n");
        Files.writeString(app.resolve("cache.tmp"), "scratch\n");
        Path repo = work.resolve("repo");
        Path offsite = work.resolve("offsite");
        Path setup = Files.writeString(work.resolve("drkit.yaml"), """
                repository: %s
                copies: [%s]
                encryption:
                  encrypt-to: [%s]
                  secret-key: [%s]
                targets:
                  config:
                    type: files
                    path: %s
                    exclude: "*.tmp"
                    schedule: "0 3 * * *"
                    retention: { keep-last: 2 }
                    verify: { level: checksum }
                    objectives: { rpo: 24h, rto: 1h }
                """.formatted(
                        repo, offsite, work.resolve("keys/public.asc"), work.resolve("keys/secret.asc"), app));
        String cfg = setup.toString();

        CliProcess.Result check = ok(CliProcess.run(null, "--config", cfg, "config", "check"));
        assertThat(check.out())
                .contains("OK, 1 target(s)")
                .contains("config")
                .contains("keep-last 2")
                .contains("RPO 1d, RTO 1h");

        List<String> ids = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Files.writeString(app.resolve("app.conf"), "listen 808" + i + "\n");
            CliProcess.Result b = ok(CliProcess.run(null, "--config", cfg, "backup", "--all"));
            assertThat(b.out()).contains("backed up config").contains("copied config");
            ids.add(b.lastLine());
        }
        JsonNode copied = Json.mapper()
                .readTree(ok(CliProcess.run(offsite, "--json", "list")).out());
        assertThat(copied.findValuesAsText("id")).containsAll(ids);

        CliProcess.Result v = ok(CliProcess.run(null, "--config", cfg, "verify", "--name", "config", "--latest"));
        assertThat(v.out()).contains("verified (checksum)");

        Path restored = work.resolve("restored");
        ok(CliProcess.run(
                null, "--config", cfg, "restore", "--name", "config", "--latest", "--to", restored.toString()));
        Path conf = restored.resolve(app.toString().substring(1));
        assertThat(conf.resolve("app.conf")).hasContent("listen 8082");
        assertThat(conf.resolve("cache.tmp")).as("excluded by the setup").doesNotExist();

        // the setup's public key encrypted the backup: without its secret key the repository alone cannot restore
        CliProcess.Result noKey = CliProcess.run(
                repo,
                "restore",
                "--name",
                "config",
                "--latest",
                "--to",
                work.resolve("nokey").toString());
        assertThat(noKey.exit()).isEqualTo(1);
        assertThat(noKey.err())
                .contains("is encrypted to")
                .contains("--secret-key")
                .doesNotContain("setting '");

        CliProcess.Result pruned = ok(CliProcess.run(null, "--config", cfg, "prune"));
        assertThat(pruned.out()).contains("1 backup(s) deleted");
        JsonNode left = Json.mapper()
                .readTree(ok(CliProcess.run(repo, "--json", "list")).out());
        assertThat(left.findValuesAsText("id")).containsExactlyInAnyOrder(ids.get(1), ids.get(2));
    }

    @Test
    void everyProblemOfABadSetupIsReportedWithItsLine() throws Exception {
        Path setup = Files.writeString(work.resolve("bad.yaml"), """
                repository: /tmp/nowhere
                targets:
                  db:
                    type: postgres-logical
                    url: jdbc:postgresql://127.0.0.1/x
                    user: app
                    password: hunter2
                  config:
                    type: files
                    schedule: "every day"
                """);
        CliProcess.Result r = CliProcess.run(null, "--config", setup.toString(), "backup", "--all");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err())
                .contains("3 configuration problems")
                .contains(setup + ":7: targets.db.password: secrets do not belong in the setup file")
                .contains(setup + ":8: targets.config: option 'path' is required (a file or directory to back up)")
                .contains(setup + ":10: targets.config.schedule: 'every day' is not a cron schedule")
                .doesNotContain("hunter2");
    }

    @Test
    void theExampleSetupOfTheClassicPlanIsValid() throws Exception {
        CliProcess.Result r = ok(CliProcess.run(
                null, "--config", Path.of("drkit.example.yaml").toAbsolutePath().toString(), "config", "check"));
        assertThat(r.out())
                .contains("OK, 6 target(s)")
                .contains("corporate-intel-db")
                .contains("verify restore at 0 5 * * 0")
                .contains("copies to s3://");
    }

    @Test
    void aCopyFailingOnDamagedDataSaysWhatAndTheOtherTargetsAreStillBackedUpAndCopied() throws Exception {
        Path first = Files.createDirectories(work.resolve("first"));
        Files.write(
                first.resolve("data.bin"),
                new Random(1)
                        .ints(200_000)
                        .mapToObj(Integer::toString)
                        .reduce(new StringBuilder(), StringBuilder::append, StringBuilder::append)
                        .toString()
                        .getBytes());
        Path second = Files.createDirectories(work.resolve("second"));
        Files.writeString(second.resolve("app.conf"), "listen 8080\n");
        Path repo = work.resolve("repo");
        Path offsite = work.resolve("offsite");
        String cfg = Files.writeString(work.resolve("drkit.yaml"), """
                        repository: %s
                        copies: [%s]
                        targets:
                          first: { type: files, path: %s, dedup: true }
                          second: { type: files, path: %s }
                        """.formatted(repo, offsite, first, second))
                .toString();
        ok(CliProcess.run(null, "--config", cfg, "backup", "--all"));

        // a byte of the first target's stored chunks flips; a new offsite copy needs them all
        Path pack;
        try (Stream<Path> packs = Files.walk(repo.resolve("chunks/packs"))) {
            pack = packs.filter(p -> p.toString().endsWith(".pack")).findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(pack);
        bytes[bytes.length / 2] ^= 0x40;
        Files.write(pack, bytes);
        FileTrees.delete(offsite);

        CliProcess.Result r = CliProcess.run(null, "--config", cfg, "backup", "--all");
        assertThat(r.exit()).as(r.out() + r.err()).isEqualTo(1);
        assertThat(r.out())
                .contains("backed up first")
                .contains("backed up second")
                .contains("copied second");
        assertThat(r.err()).contains("drkit: copy of first ").contains("cannot be read");
        List<String> ids = r.out().lines().filter(l -> l.matches("[0-9]{8}T.*")).toList();
        assertThat(ids).hasSize(2);
        JsonNode copied = Json.mapper()
                .readTree(ok(CliProcess.run(offsite, "--json", "list")).out());
        assertThat(copied.findValuesAsText("id")).contains(ids.get(1)).doesNotContain(ids.get(0));
    }

    private static CliProcess.Result ok(CliProcess.Result r) {
        assertThat(r.exit()).as(r.err()).isZero();
        return r;
    }
}
