package dev.drkit.files;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.BackupResult;
import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A symbolic link whose name is text but whose target is not: the target is read as text too,
 * so it must be left out by name like a file whose own name is not text, never restored
 * pointing at another file.
 */
class UnreadableLinkTargetTest {
    @TempDir
    Path dir;

    private static void shell(Path in, String script) throws Exception {
        Process p = new ProcessBuilder("/bin/sh", "-c", script)
                .directory(in.toFile())
                .inheritIO()
                .start();
        assertThat(p.waitFor()).isZero();
    }

    @Test
    void aLinkWhoseTargetIsNotTextIsNotRestoredPointingElsewhere() throws Exception {
        Path tree = Files.createDirectories(dir.resolve("app"));
        // current -> release-é (Latin-1 byte \351), e.g. a deploy's "current" link
        shell(tree, "mkdir \"$(printf 'release-\\351')\" && ln -s \"$(printf 'release-\\351')\" current");
        Path original = Files.readSymbolicLink(tree.resolve("current"));
        try (DrKit kit =
                DrKit.builder().repository(dir.resolve("repo").toString()).build()) {
            BackupResult b = kit.backup(new TargetSpec(
                    "app",
                    "files",
                    Settings.builder().add("path", tree.toString()).build()));
            Path out = dir.resolve("out");
            kit.restore(new RestoreRequest(
                    "app", b.id(), Settings.builder().set("to", out.toString()).build(), false));
            Path link = out.resolve(tree.toString().substring(1)).resolve("current");
            if (Files.exists(link, LinkOption.NOFOLLOW_LINKS)) {
                assertThat(Files.readSymbolicLink(link))
                        .as("the restored link's target, as bytes")
                        .isEqualTo(original);
            } else {
                assertThat((List<?>) b.manifest().metadata().get(FilesBackupTarget.NAMES_LEFT_OUT))
                        .as("left out by name")
                        .anyMatch(n -> String.valueOf(n).endsWith("/current"));
            }
        }
    }
}
