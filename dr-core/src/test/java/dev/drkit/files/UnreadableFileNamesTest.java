package dev.drkit.files;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.DrStatus;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.spi.support.FileNames;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * File names the JVM cannot read as text: their bytes are not valid in its file-name charset,
 * so the text it gives names another file, or none. Stored as that text, a restore would put
 * the bytes back under another name without a word; two such names could even become one.
 */
class UnreadableFileNamesTest {
    @TempDir
    Path dir;

    /** Runs a shell script (names are made as bytes, whatever this JVM's locale). */
    private static void shell(Path in, String script) throws Exception {
        Process p = new ProcessBuilder("/bin/sh", "-c", script)
                .directory(in.toFile())
                .inheritIO()
                .start();
        assertThat(p.waitFor()).isZero();
    }

    private DrKit kit() {
        return DrKit.builder().repository(dir.resolve("repo").toString()).build();
    }

    private static TargetSpec files(Path path) {
        return new TargetSpec(
                "app", "files", Settings.builder().add("path", path.toString()).build());
    }

    private static List<Path> restoredFiles(Path root) throws Exception {
        try (Stream<Path> walk = Files.walk(root)) {
            return walk.filter(Files::isRegularFile).toList();
        }
    }

    @Test
    void aNameThatIsNotTextIsLeftOutByNameAndTheRestIsBackedUp() throws Exception {
        Path tree = Files.createDirectories(dir.resolve("app"));
        Files.writeString(tree.resolve("ok.txt"), "fine");
        // Latin-1 bytes: not UTF-8, and not ASCII either
        shell(
                tree,
                "printf one > \"$(printf 'caf\\351.txt')\" && mkdir \"$(printf 'd\\351j\\340')\" "
                        + "&& printf two > \"$(printf 'd\\351j\\340')/inner.txt\"");
        try (DrKit kit = kit()) {
            BackupResult b = kit.backup(files(tree));
            assertThat(b.manifest().metadata().get(FilesBackupTarget.NAMES_LEFT_OUT))
                    .asList()
                    .containsExactlyInAnyOrder(tree + "/caf\uFFFD.txt", tree + "/d\uFFFDj\uFFFD");
            assertThat(b.manifest().metadata()).containsEntry(FilesBackupTarget.NAMES_LEFT_OUT + "Count", 2);
            DrStatus status = kit.status(Map.of());
            assertThat(status.healthy())
                    .as("data the source holds and no backup does")
                    .isFalse();
            assertThat(status.targets())
                    .singleElement()
                    .satisfies(t -> assertThat(t.problems())
                            .anySatisfy(p ->
                                    assertThat(p).contains("left out 2 file(s)").contains("caf\uFFFD.txt")));

            Path out = dir.resolve("out");
            kit.restore(new RestoreRequest(
                    "app", b.id(), Settings.builder().set("to", out.toString()).build(), false));
            Path restored = out.resolve(tree.toString().substring(1));
            assertThat(restoredFiles(out)).containsExactly(restored.resolve("ok.txt"));
            assertThat(restored.resolve("ok.txt")).hasContent("fine");
        }
    }

    @Test
    void aNameThatHoldsAReplacementCharacterAsTextIsBackedUpWhereTheJvmReadsUtf8() throws Exception {
        Path tree = Files.createDirectories(dir.resolve("app"));
        // U+FFFD spelled in UTF-8: a real character, not a failed decoding
        shell(tree, "printf real > \"$(printf 'a\\357\\277\\275b.txt')\"");
        try (DrKit kit = kit()) {
            BackupResult b = kit.backup(files(tree));
            Path out = dir.resolve("out");
            kit.restore(new RestoreRequest(
                    "app", b.id(), Settings.builder().set("to", out.toString()).build(), false));
            if (FileNames.charset().equals(StandardCharsets.UTF_8)) {
                assertThat(b.manifest().metadata()).doesNotContainKey(FilesBackupTarget.NAMES_LEFT_OUT);
                Path restored = out.resolve(tree.toString().substring(1)).resolve("a\uFFFDb.txt");
                assertThat(restoredFiles(out)).containsExactly(restored);
                assertThat(restored).hasContent("real");
            } else {
                assertThat(b.manifest().metadata()).containsKey(FilesBackupTarget.NAMES_LEFT_OUT);
                assertThat(restoredFiles(out)).isEmpty();
            }
        }
    }
}
