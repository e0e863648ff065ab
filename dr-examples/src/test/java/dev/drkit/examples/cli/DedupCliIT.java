package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.Prerequisites;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
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
        CliProcess.Result restore =
                CliProcess.run(repo, "restore", "--name", "config", "--id", id, "--to", dest.toString());
        assertThat(restore.exit()).as(restore.err()).isZero();
        Path back = dest.resolve(tree.toString().substring(1));
        assertThat(back.resolve("blob.bin")).hasSameBinaryContentAs(tree.resolve("blob.bin"));
        assertThat(back.resolve("app.conf")).hasContent("mode=a\nmode=b");

        // break-glass: the README's lines rebuild the tar with dd and zstd only
        Prerequisites.requireTool("zstd");
        Path list = repo.resolve("backups/config/" + id + "/files.tar.chunks");
        String script = "REPO=" + repo + "; LIST=" + list + "\n" + breakGlassLines();
        String listing = CliProcess.sh(work, script);
        assertThat(listing).contains("blob.bin", "app.conf");
    }

    /** The README's break-glass block for the chunk store, after its first line (which sets REPO and LIST). */
    private static String breakGlassLines() throws Exception {
        String readme = Files.readString(Path.of("..", "README.md"), StandardCharsets.UTF_8);
        int at = readme.indexOf("REPO=/var/backups/drkit; LIST=");
        assertThat(at).as("README break-glass block for the chunk store").isPositive();
        String block = readme.substring(readme.indexOf('\n', at) + 1, readme.indexOf("```", at));
        assertThat(block).contains(" | zstd -dc > dump\n");
        return block.replace(" | zstd -dc > dump\n", " | zstd -dc | tar -t\n"); // list instead of writing a file
    }
}
