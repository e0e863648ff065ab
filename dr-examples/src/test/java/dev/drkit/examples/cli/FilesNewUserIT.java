package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.drkit.spi.support.Json;
import dev.drkit.testkit.Prerequisites;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The foundation issue's "tried as a new user would", through the real jar. */
class FilesNewUserIT {
    @TempDir
    Path work;

    Path repo;
    Path tree;

    @BeforeEach
    void makeTree() throws IOException {
        repo = work.resolve("repo");
        tree = work.resolve("app");
        Files.createDirectories(tree.resolve("etc/nginx/conf.d"));
        Files.createDirectories(tree.resolve("var/empty"));
        Files.writeString(tree.resolve("etc/nginx/nginx.conf"), "worker_processes auto;\n");
        Files.writeString(tree.resolve("etc/nginx/conf.d/api.conf"), "server { listen 443 ssl; }\n");
        CliProcess.writeRandom(tree.resolve("blob.bin"), 60L << 20);
        Path env = Files.writeString(tree.resolve(".env.production"), "DATABASE_PASSWORD=s3cr3t\n");
        Files.setPosixFilePermissions(env, PosixFilePermissions.fromString("rw-------"));
        Files.createSymbolicLink(tree.resolve("nginx.conf"), Path.of("etc/nginx/nginx.conf"));
    }

    private String backup() throws Exception {
        CliProcess.Result r = CliProcess.run(repo, "backup", "files", "--name", "config", "--path", tree.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        return r.lastLine();
    }

    private Path backupDir(String id) {
        return repo.resolve("backups/config/" + id);
    }

    @Test
    void backupListChecksumBreakGlassVerifyRestore() throws Exception {
        String id = backup();
        assertThat(id).matches("\\d{8}T\\d{6}Z-[0-9a-f]{6}");

        CliProcess.Result list = CliProcess.run(repo, "list");
        assertThat(list.exit()).isZero();
        assertThat(list.out()).contains("config").contains(id);
        JsonNode json = Json.mapper()
                .readTree(CliProcess.run(repo, "--json", "list", "--name", "config")
                        .out());
        assertThat(json.get(0).get("id").asText()).isEqualTo(id);

        // break-glass: standard tools read the repository without drkit
        Prerequisites.requireTool("sha256sum");
        Prerequisites.requireTool("zstd");
        assertThat(CliProcess.sh(backupDir(id), "sha256sum -c *.sha256")).contains("files.tar.zst: OK");
        String listing = CliProcess.sh(backupDir(id), "zstd -dc files.tar.zst | tar -t");
        assertThat(listing).contains("etc/nginx/conf.d/api.conf", "blob.bin", ".env.production", "var/empty/");

        assertThat(CliProcess.run(repo, "verify", "--name", "config", "--latest")
                        .exit())
                .isZero();

        Path dest = work.resolve("restored");
        CliProcess.Result restore =
                CliProcess.run(repo, "restore", "--name", "config", "--id", id, "--to", dest.toString());
        assertThat(restore.exit()).as(restore.err()).isZero();
        Path back = dest.resolve(tree.toString().substring(1));
        assertSameTree(tree, back);
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(back.resolve(".env.production"))))
                .isEqualTo("rw-------");
        assertThat(Files.readSymbolicLink(back.resolve("nginx.conf"))).isEqualTo(Path.of("etc/nginx/nginx.conf"));
        assertThat(Files.isDirectory(back.resolve("var/empty"))).isTrue();

        // the repository is private: backups hold secrets
        assertThat(PosixFilePermissions.toString(
                        Files.getPosixFilePermissions(backupDir(id).resolve("files.tar.zst"))))
                .isEqualTo("rw-------");
    }

    private static void assertSameTree(Path expected, Path actual) throws IOException {
        List<Path> files;
        try (Stream<Path> s = Files.walk(expected)) {
            files = s.map(expected::relativize).sorted().toList();
        }
        try (Stream<Path> s = Files.walk(actual)) {
            assertThat(s.map(actual::relativize).sorted().toList()).isEqualTo(files);
        }
        for (Path rel : files) {
            Path e = expected.resolve(rel);
            Path a = actual.resolve(rel);
            if (Files.isRegularFile(e, LinkOption.NOFOLLOW_LINKS)) {
                assertThat(Files.mismatch(e, a)).as(rel.toString()).isEqualTo(-1L);
                assertThat(Files.getPosixFilePermissions(a))
                        .as(rel.toString())
                        .isEqualTo(Files.getPosixFilePermissions(e));
            }
        }
    }

    @Test
    void flippedByteFailsVerifyNamingTheArtifact() throws Exception {
        String id = backup();
        Path artifact = backupDir(id).resolve("files.tar.zst");
        byte[] data = Files.readAllBytes(artifact);
        data[data.length / 2] ^= 0x01;
        Files.write(artifact, data);

        CliProcess.Result verify = CliProcess.run(repo, "verify", "--name", "config", "--id", id);
        assertThat(verify.exit()).isEqualTo(1);
        assertThat(verify.err().strip())
                .startsWith("drkit: ")
                .contains("files.tar.zst")
                .doesNotContain("\tat ");

        CliProcess.Result restore = CliProcess.run(
                repo,
                "restore",
                "--name",
                "config",
                "--id",
                id,
                "--to",
                work.resolve("out").toString());
        assertThat(restore.exit()).isEqualTo(1);
        assertThat(work.resolve("out")).doesNotExist();
    }

    @Test
    void nonEmptyDestinationIsRefusedAndUntouched() throws Exception {
        backup();
        Path busy = Files.createDirectories(work.resolve("busy"));
        Files.writeString(busy.resolve("live.conf"), "live");

        CliProcess.Result r = CliProcess.run(repo, "restore", "--name", "config", "--latest", "--to", busy.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("not empty").contains("--force").doesNotContain("RestoreRequest");
        try (Stream<Path> s = Files.list(busy)) {
            assertThat(s.map(p -> p.getFileName().toString())).containsExactly("live.conf");
        }
        assertThat(busy.resolve("live.conf")).hasContent("live");
    }

    @Test
    void killedBackupLeavesNothingListedAndTheNextOneSucceeds() throws Exception {
        String first = backup();
        CliProcess.writeRandom(tree.resolve("more.bin"), 1L << 30);
        Process p = CliProcess.builder(
                        repo, List.of(), "backup", "files", "--name", "config", "--path", tree.toString())
                .redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.DISCARD)
                .start();
        // wait until the backup is writing its artifact, then kill it without a chance to clean up
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
        while (!uploading(repo.resolve(".drkit-tmp"))) {
            assertThat(System.nanoTime()).as("backup never started writing").isLessThan(deadline);
            Thread.sleep(20);
        }
        p.destroyForcibly().waitFor();
        assertThat(p.exitValue()).isNotZero();

        CliProcess.Result list = CliProcess.run(repo, "--json", "list", "--name", "config");
        JsonNode listed = Json.mapper().readTree(list.out());
        assertThat(listed).hasSize(1);
        assertThat(listed.get(0).get("id").asText()).isEqualTo(first);

        Files.delete(tree.resolve("more.bin"));
        String next = backup();
        assertThat(CliProcess.run(repo, "--json", "list").out()).contains(first).contains(next);

        CliProcess.Result prune = CliProcess.run(repo, "prune", "--name", "config", "--keep-last", "5");
        assertThat(prune.exit()).as(prune.err()).isZero();
        try (Stream<Path> s = Files.list(repo.resolve("backups/config"))) {
            assertThat(s.map(d -> d.getFileName().toString())).containsExactlyInAnyOrder(first, next);
        }
        assertThat(isEmpty(repo.resolve(".drkit-tmp")))
                .as("orphan upload removed")
                .isTrue();
    }

    /** Whether an upload of more than 1 MiB is in progress (the 1 GiB artifact is being written). */
    private static boolean uploading(Path tmp) throws IOException {
        if (!Files.isDirectory(tmp)) {
            return false;
        }
        try (Stream<Path> s = Files.list(tmp)) {
            return s.anyMatch(f -> {
                try {
                    return Files.size(f) > (1 << 20);
                } catch (IOException vanished) {
                    return false;
                }
            });
        }
    }

    private static boolean isEmpty(Path dir) throws IOException {
        try (Stream<Path> s = Files.list(dir)) {
            return s.findAny().isEmpty();
        }
    }

    @Test
    void pruneDryRunPrintsDecisionsWithReasons() throws Exception {
        String older = backup();
        String newer = backup();

        CliProcess.Result r = CliProcess.run(repo, "prune", "--keep-last", "1", "--dry-run", "--json");
        assertThat(r.exit()).as(r.err()).isZero();
        JsonNode plan = Json.mapper().readTree(r.out());
        assertThat(plan.get("dryRun").asBoolean()).isTrue();
        JsonNode decisions = plan.get("plans").get("config").get("decisions");
        assertThat(decisions.get(0).get("backupId").asText()).isEqualTo(newer);
        assertThat(decisions.get(0).get("keep").asBoolean()).isTrue();
        assertThat(decisions.get(0).get("reasons").get(0).asText()).isEqualTo("last 1/1");
        assertThat(decisions.get(1).get("backupId").asText()).isEqualTo(older);
        assertThat(decisions.get(1).get("keep").asBoolean()).isFalse();
        assertThat(decisions.get(1).get("reasons").get(0).asText()).isNotBlank();
        // a dry run deletes nothing
        assertThat(Json.mapper().readTree(CliProcess.run(repo, "--json", "list").out()))
                .hasSize(2);

        CliProcess.Result real = CliProcess.run(repo, "prune", "--keep-last", "1");
        assertThat(real.exit()).isZero();
        assertThat(Json.mapper().readTree(CliProcess.run(repo, "--json", "list").out()))
                .hasSize(1);
        assertThat(backupDir(older)).doesNotExist();
    }

    @Test
    void twoGigabyteFileBacksUpWithA64MegabyteHeap() throws Exception {
        Path big = work.resolve("big");
        Files.createDirectories(big);
        CliProcess.writeRandom(big.resolve("2g.bin"), 2L << 30);

        CliProcess.Result r =
                CliProcess.run(repo, List.of("-Xmx64m"), "backup", "files", "--name", "big", "--path", big.toString());
        assertThat(r.exit()).as(r.err()).isZero();
        CliProcess.Result v = CliProcess.run(repo, List.of("-Xmx64m"), "verify", "--name", "big", "--latest");
        assertThat(v.exit()).as(v.err()).isZero();
        Matcher decoded = Pattern.compile("decode\\s+PASSED.*bytesRead=(\\d+)").matcher(v.out());
        assertThat(decoded.find()).as(v.out()).isTrue();
        assertThat(Long.parseLong(decoded.group(1))).isBetween(2L << 30, (2L << 30) + 20_480);
    }

    @Test
    void libraryKeysAndApiTermsReachTheUserAsFlagsAndCommands() throws Exception {
        backup();
        CliProcess.Result badId = CliProcess.run(
                repo,
                "restore",
                "--name",
                "config",
                "--id",
                "yesterday",
                "--to",
                work.resolve("never").toString());
        assertThat(badId.exit()).isEqualTo(2);
        assertThat(badId.err()).contains("(drkit list)").doesNotContain("DrKit.list");
        CliProcess.Result noTo = CliProcess.run(repo, "restore", "--name", "config", "--latest");
        assertThat(noTo.exit()).isEqualTo(2);
        assertThat(noTo.err()).contains("destination directory (--to)").doesNotContain("setting");
    }

    @Test
    void usageErrorsExitTwoAndFailuresExitOneWithOneLine() throws Exception {
        CliProcess.Result missing = CliProcess.run(repo, "backup", "files", "--path", tree.toString());
        assertThat(missing.exit()).isEqualTo(2);
        assertThat(missing.err()).contains("--name");

        CliProcess.Result noRepo = CliProcess.run(null, "list");
        assertThat(noRepo.exit()).isEqualTo(2);
        assertThat(noRepo.err().strip()).contains("--repo").doesNotContain("\n");

        CliProcess.Result badScheme = CliProcess.run(null, "--repo", "gopher://x/y", "list");
        assertThat(badScheme.exit()).isEqualTo(2);
        assertThat(badScheme.err()).contains("known: file");

        // a mistyped repository or an unmounted disk is never taken for an empty, healthy repository
        for (List<String> read : List.of(
                List.of("status"),
                List.of("list"),
                List.of("verify", "--name", "nothing", "--latest"),
                List.of(
                        "restore",
                        "--name",
                        "nothing",
                        "--latest",
                        "--to",
                        work.resolve("out").toString()))) {
            CliProcess.Result noRepository = CliProcess.run(repo, read.toArray(String[]::new));
            assertThat(noRepository.exit()).as(read.toString()).isEqualTo(1);
            assertThat(noRepository.err().strip())
                    .as(read.toString())
                    .startsWith("drkit: no drkit repository at file:" + repo)
                    .doesNotContain("\n");
        }
        assertThat(repo).doesNotExist();
    }
}
