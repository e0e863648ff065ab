package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.Prerequisites;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `backup --dedup`, prune with garbage collection, check and the break-glass lines, through the real jar. */
class DedupCliIT {
    @TempDir
    Path work;

    private static long size(Path root) throws Exception {
        try (Stream<Path> s = Files.walk(root)) {
            return s.filter(Files::isRegularFile)
                    .mapToLong(p -> p.toFile().length())
                    .sum();
        }
    }

    @Test
    void backupTwicePruneCheckRestoreAndBreakGlass() throws Exception {
        Path repo = work.resolve("repo");
        Path tree = Files.createDirectories(work.resolve("app"));
        CliProcess.writeRandom(tree.resolve("blob.bin"), 24L << 20);
        Files.writeString(tree.resolve("app.conf"), "mode=a\n");

        CliProcess.Result first =
                CliProcess.run(repo, "backup", "files", "--name", "config", "--path", tree.toString(), "--dedup");
        assertThat(first.exit()).as(first.err()).isZero();
        assertThat(first.out()).containsPattern("in \\d+ chunks, \\d+ of them new");
        long afterFirst = size(repo.resolve("chunks"));

        Files.writeString(tree.resolve("app.conf"), "mode=b\n", StandardOpenOption.APPEND);
        CliProcess.Result second =
                CliProcess.run(repo, "backup", "files", "--name", "config", "--path", tree.toString(), "--dedup");
        assertThat(second.exit()).as(second.err()).isZero();
        assertThat(size(repo.resolve("chunks")) - afterFirst).isLessThan(afterFirst / 4);

        CliProcess.Result prune = CliProcess.run(repo, "prune", "--name", "config", "--keep-last", "1");
        assertThat(prune.exit()).as(prune.err()).isZero();
        assertThat(prune.out()).contains("chunk store:").contains("freed");

        CliProcess.Result check = CliProcess.run(repo, "check", "--read-data");
        assertThat(check.exit()).as(check.out() + check.err()).isZero();

        Path dest = work.resolve("restored");
        String id = second.lastLine();
        CliProcess.Result restore = restore(repo, id, dest);
        assertThat(restore.exit()).as(restore.err()).isZero();
        Path back = dest.resolve(tree.toString().substring(1));
        assertThat(back.resolve("blob.bin")).hasSameBinaryContentAs(tree.resolve("blob.bin"));
        assertThat(back.resolve("app.conf")).hasContent("mode=a\nmode=b");

        // break-glass: the README's lines rebuild the tar with dd and zstd only
        Prerequisites.requireTool("zstd");
        Path list = repo.resolve("backups/config/" + id + "/files.tar.chunks");
        String script = "REPO=" + repo + "; LIST=" + list + "\n" + breakGlassLines();
        String listing = CliProcess.sh(work, script);
        assertThat(listing).contains("blob.bin", "app.conf", "dump rebuilt, every chunk checked");

        // a copy of the first chunk planted in a pack that sorts first: a sound zstd frame of other
        // bytes, which a recipe that took the first index line for each id would have used
        String firstChunk = Files.readAllLines(list).get(1).split(" ")[0];
        String planted = "0".repeat(64);
        Path frame = work.resolve("planted.zst");
        CliProcess.sh(work, "printf 'not the chunk' | zstd -q -o " + frame);
        Files.copy(frame, repo.resolve("chunks/packs/" + planted + ".pack"));
        Files.writeString(
                repo.resolve("chunks/index/" + planted + ".idx"),
                "drkit-chunk-index 2 " + planted + " " + Files.size(frame) + " " + "0".repeat(64) + "\n" + firstChunk
                        + " " + planted + " 0 " + Files.size(frame) + " 13 0\n");
        assertThat(CliProcess.sh(work, script)).contains("blob.bin", "app.conf", "every chunk checked");

        // the only copy of a chunk damaged: the recipe says which chunk and that the dump is incomplete
        Files.delete(repo.resolve("chunks/index/" + planted + ".idx"));
        for (Path idx : Files.newDirectoryStream(repo.resolve("chunks/index"))) {
            for (String line : Files.readAllLines(idx)) {
                String[] f = line.split(" ");
                if (f[0].equals(firstChunk)) {
                    Path pack = repo.resolve("chunks/packs/" + f[1] + ".pack");
                    byte[] bytes = Files.readAllBytes(pack);
                    bytes[Integer.parseInt(f[2]) + Integer.parseInt(f[3]) / 2] ^= 0x40;
                    Files.write(pack, bytes);
                }
            }
        }
        assertThat(CliProcess.sh(work, script))
                .contains("no sound copy of chunk " + firstChunk, "dump is INCOMPLETE")
                .doesNotContain("every chunk checked");
    }

    @Test
    void encryptedBackupsDeduplicateUnderAKeyedHashAndOpenWithTheSecretKeyOrGpg() throws Exception {
        Prerequisites.requireTool("gpg");
        Prerequisites.requireTool("zstd");
        Path repo = work.resolve("repo");
        Path tree = Files.createDirectories(work.resolve("app"));
        String secret = "sk_live_chunked_" + "9f8e7d6c5b4a";
        Files.writeString(tree.resolve(".env"), ("API_KEY=" + secret + "\n").repeat(20_000));
        CliProcess.writeRandom(tree.resolve("blob.bin"), 6L << 20);
        Path keys = work.resolve("keys");
        assertThat(CliProcess.run(null, "key", "generate", "--out", keys.toString())
                        .exit())
                .isZero();
        Path chunkKey = work.resolve("chunk.key");
        Files.writeString(chunkKey, "0123456789abcdef".repeat(4) + "\n");
        Files.setPosixFilePermissions(chunkKey, PosixFilePermissions.fromString("rw-------"));
        String[] backup = {
            "backup",
            "files",
            "--name",
            "config",
            "--path",
            tree.toString(),
            "--dedup",
            "--encrypt-to",
            keys.resolve("public.asc").toString()
        };

        CliProcess.Result noKey = CliProcess.run(repo, backup);
        assertThat(noKey.exit()).isEqualTo(2);
        assertThat(noKey.err()).contains("--dedup-key-file").doesNotContain("setting '");

        String[] withKey = Arrays.copyOf(backup, backup.length + 2);
        withKey[backup.length] = "--dedup-key-file";
        withKey[backup.length + 1] = chunkKey.toString();
        CliProcess.Result first = CliProcess.run(repo, withKey);
        assertThat(first.exit()).as(first.err()).isZero();
        CliProcess.Result second = CliProcess.run(repo, withKey);
        assertThat(second.exit()).as(second.err()).isZero();
        assertThat(second.out()).contains(", 0 of them new");
        String id = second.lastLine();

        Path list = repo.resolve("backups/config/" + id + "/files.tar.chunks");
        assertThat(Files.readAllLines(list).get(0)).matches("drkit-chunks 1 hmac-sha256 [0-9a-f]{16}");
        try (Stream<Path> files = Files.walk(repo)) {
            for (Path f : files.filter(Files::isRegularFile).toList()) {
                assertThat(Files.readString(f, StandardCharsets.ISO_8859_1))
                        .as(f.toString())
                        .doesNotContain(secret);
            }
        }

        CliProcess.Result noSecret = restore(repo, id, work.resolve("r1"));
        assertThat(noSecret.exit()).isEqualTo(1);
        assertThat(noSecret.err()).contains("--secret-key");
        // the chunk key comes from the repository, opened with the secret key
        CliProcess.Result restore = restore(
                repo,
                id,
                work.resolve("r2"),
                "--secret-key",
                keys.resolve("secret.asc").toString());
        assertThat(restore.exit()).as(restore.err()).isZero();
        Path back = work.resolve("r2").resolve(tree.toString().substring(1));
        assertThat(back.resolve(".env")).hasSameBinaryContentAs(tree.resolve(".env"));
        assertThat(back.resolve("blob.bin")).hasSameBinaryContentAs(tree.resolve("blob.bin"));

        // break-glass with gpg: each chunk is one OpenPGP message holding one zstd frame
        Path gnupg = Files.createTempDirectory(
                Path.of("/tmp"),
                "gpg",
                PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        try {
            String gpg = "gpg --homedir " + gnupg + " --batch --yes --pinentry-mode loopback";
            CliProcess.sh(work, gpg + " --import " + keys.resolve("secret.asc") + " 2>&1");
            String script = "REPO=" + repo + "; LIST=" + list + "\n"
                    + encryptedBreakGlassLines().replace("gpg --batch -q -d", gpg + " -q -d");
            assertThat(CliProcess.sh(work, script)).contains("blob.bin", ".env");
        } finally {
            new ProcessBuilder("gpgconf", "--homedir", gnupg.toString(), "--kill", "all")
                    .start()
                    .waitFor();
            new ProcessBuilder("rm", "-rf", gnupg.toString()).start().waitFor();
        }
    }

    /** The README's break-glass block for encrypted chunks, after its first line, listing instead of writing. */
    private static String encryptedBreakGlassLines() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"), StandardCharsets.UTF_8);
        int at = readme.indexOf("REPO=/var/backups/drkit; LIST=", readme.indexOf("With encryption"));
        assertThat(at).as("README break-glass block for encrypted chunks").isPositive();
        String block = readme.substring(readme.indexOf('\n', at) + 1, readme.indexOf("```", at));
        assertThat(block).contains(" | zstd -dc > dump\n").contains("gpg --batch -q -d");
        return block.replace(" | zstd -dc > dump\n", " | zstd -dc | tar -t\n");
    }

    private static CliProcess.Result restore(Path repo, String id, Path to, String... more) throws Exception {
        List<String> args = new ArrayList<>(List.of("restore", "--name", "config", "--id", id, "--to", to.toString()));
        args.addAll(List.of(more));
        return CliProcess.run(repo, args.toArray(String[]::new));
    }

    /** The README's break-glass block for the chunk store, after its first line (which sets REPO and LIST). */
    private static String breakGlassLines() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"), StandardCharsets.UTF_8);
        int at = readme.indexOf("REPO=/var/backups/drkit; LIST=");
        assertThat(at).as("README break-glass block for the chunk store").isPositive();
        String block = readme.substring(readme.indexOf('\n', at) + 1, readme.indexOf("```", at));
        assertThat(block).contains("done > dump && ");
        return block.replace("done > dump && ", "done | tar -t && "); // list instead of writing a file
    }
}
