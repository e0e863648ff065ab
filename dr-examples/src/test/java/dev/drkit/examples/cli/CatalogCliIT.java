package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drkit.spi.support.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The catalog under damage, as a user meets it through the real jar: list, restore --latest, status, check. */
class CatalogCliIT {
    @TempDir
    Path work;

    private CliProcess.Result ok(CliProcess.Result r) {
        assertThat(r.exit()).as(r.err()).isZero();
        return r;
    }

    private static void flip(Path file, int offset) throws Exception {
        byte[] b = Files.readAllBytes(file);
        b[offset] ^= 0x01;
        Files.delete(file);
        Files.write(file, b);
    }

    @Test
    void aDamagedNewestManifestIsMarkedSkippedAndNamedByCheck() throws Exception {
        Path repo = work.resolve("repo");
        Path tree = Files.createDirectories(work.resolve("app"));
        Files.writeString(tree.resolve("app.yaml"), "version: 1\n");
        String older = CliProcess.run(repo, "backup", "files", "--name", "config", "--path", tree.toString())
                .lastLine();
        Thread.sleep(1100); // ids resolve to the second
        Files.writeString(tree.resolve("app.yaml"), "version: 2\n");
        String newer = ok(CliProcess.run(repo, "backup", "files", "--name", "config", "--path", tree.toString()))
                .lastLine();
        ok(CliProcess.run(repo, "check", "--read-data"));

        Path manifest = repo.resolve("backups/config/" + newer + "/manifest.json");
        flip(manifest, 50);

        CliProcess.Result list = ok(CliProcess.run(repo, "list"));
        assertThat(list.out()).contains(older).containsPattern(newer + ".*DAMAGED");
        assertThat(list.err()).contains(newer).contains("DAMAGED");
        JsonNode json = Json.mapper()
                .readTree(ok(CliProcess.run(repo, "--json", "list")).out());
        assertThat(json).hasSize(2);
        assertThat(json.get(1).get("damaged").asBoolean()).isTrue();

        CliProcess.Result restore = ok(CliProcess.run(
                repo,
                "restore",
                "--name",
                "config",
                "--latest",
                "--to",
                work.resolve("out").toString()));
        assertThat(restore.err()).contains("passed over damaged backup config/" + newer);
        assertThat(work.resolve("out").resolve(tree.toString().substring(1)).resolve("app.yaml"))
                .hasContent("version: 1");
        // said even with warnings silenced: it decides which backup was restored
        CliProcess.Result quiet = ok(CliProcess.run(
                repo,
                "-q",
                "restore",
                "--name",
                "config",
                "--latest",
                "--to",
                work.resolve("out-quiet").toString()));
        assertThat(quiet.err().strip())
                .isEqualTo("drkit: passed over damaged backup config/" + newer + " ("
                        + "its content does not match its checksum file manifest.json.sha256); the newest sound backup is "
                        + older);

        CliProcess.Result status = CliProcess.run(repo, "status");
        assertThat(status.exit()).isEqualTo(1);
        assertThat(status.out()).contains("1 damaged backup(s): " + newer);

        CliProcess.Result check = CliProcess.run(repo, "check");
        assertThat(check.exit()).isEqualTo(1);
        assertThat(check.out()).contains("manifest damaged").contains("backups/config/" + newer + "/manifest.json");
        JsonNode report =
                Json.mapper().readTree(CliProcess.run(repo, "--json", "check").out());
        assertThat(report.get("findings").get(0).get("kind").asText()).isEqualTo("MANIFEST_DAMAGED");

        CliProcess.Result prune = ok(CliProcess.run(repo, "prune", "--name", "config", "--keep-last", "1"));
        assertThat(prune.out()).contains("DAMAGED, never pruned");
        assertThat(manifest).exists();
        assertThat(repo.resolve("backups/config/" + older + "/manifest.json")).exists();
    }

    @Test
    void aFlippedByteInTheRepositoryConfigurationIsSaidAndRepaired() throws Exception {
        Path repo = work.resolve("repo");
        Path tree = Files.createDirectories(work.resolve("app"));
        Files.writeString(tree.resolve("app.yaml"), "version: 1\n");
        ok(CliProcess.run(repo, "backup", "files", "--name", "config", "--path", tree.toString()));
        flip(repo.resolve("drkit-repository.json"), 2);

        // reading goes on (the configuration holds nothing backups depend on), with one line about it
        CliProcess.Result list = ok(CliProcess.run(repo, "list"));
        assertThat(list.out()).contains("config");
        assertThat(list.err().strip())
                .contains("the repository configuration drkit-repository.json")
                .contains("repair")
                .doesNotContain("\n")
                .doesNotContain("Jackson");
        CliProcess.Result status = CliProcess.run(repo, "status");
        assertThat(status.exit()).isEqualTo(1);
        assertThat(status.out()).contains("repository: the repository configuration drkit-repository.json");
        // and so does writing: a backup (or WAL archiving) never stops for it
        ok(CliProcess.run(repo, "backup", "files", "--name", "config", "--path", tree.toString()));
        CliProcess.Result repair = ok(CliProcess.run(repo, "check", "--repair"));
        assertThat(repair.out()).contains("repaired").contains("every problem found was repaired");
        assertThat(ok(CliProcess.run(repo, "list")).out()).contains("config");
    }

    @Test
    void aCopyOfEveryBackupGoesPastADamagedOneAndExitsOneNamingIt() throws Exception {
        Path repo = work.resolve("repo");
        Path offsite = work.resolve("offsite");
        Path tree = Files.createDirectories(work.resolve("app"));
        Files.writeString(tree.resolve("app.yaml"), "version: 1\n".repeat(5000));
        String damaged = ok(CliProcess.run(repo, "backup", "files", "--name", "config", "--path", tree.toString()))
                .lastLine();
        Thread.sleep(1100); // ids resolve to the second
        String sound = ok(CliProcess.run(repo, "backup", "files", "--name", "config", "--path", tree.toString()))
                .lastLine();
        flip(repo.resolve("backups/config/" + damaged + "/files.tar.zst"), 40);

        CliProcess.Result copy = CliProcess.run(repo, "copy", "--name", "config", "--all", "--to", offsite.toString());
        assertThat(copy.exit()).as(copy.err()).isEqualTo(1);
        assertThat(copy.out())
                .contains("copied 1 backup(s) of config")
                .contains("1 not copied (damaged)")
                .contains("  not copied: backup " + damaged + ": ");
        // said once on each stream: the listing on stdout, the failure on stderr (no warning line besides)
        assertThat(copy.err().lines().filter(l -> l.contains(damaged)))
                .as(copy.err())
                .hasSize(1);
        assertThat(copy.err()).doesNotContain("WARN");
        assertThat(copy.err())
                .contains(damaged)
                .contains("left out what is damaged or missing")
                .doesNotContain(sound + " (")
                .doesNotContain("Exception");
        assertThat(copy.err()).contains("drkit check --read-data").doesNotContain("CheckOptions");
        CliProcess.Result listed = ok(CliProcess.run(offsite, "list"));
        assertThat(listed.out()).contains(sound).doesNotContain(damaged);

        // with --json, stdout is the one result document, the failure on stderr
        CliProcess.Result json =
                CliProcess.run(repo, "--json", "copy", "--name", "config", "--all", "--to", offsite.toString());
        assertThat(json.exit()).isEqualTo(1);
        JsonNode result = Json.mapper().readTree(json.out());
        assertThat(result.get("skipped").get(0).asText()).isEqualTo(sound);
        assertThat(result.get("notCopied").get(0).get("id").asText()).isEqualTo(damaged);
        assertThat(json.err()).contains("drkit: ").contains(damaged);
    }
}
