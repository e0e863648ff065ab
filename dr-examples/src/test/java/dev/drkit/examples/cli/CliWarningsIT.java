package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** A warning on stderr is for an operator: what happened, in words, without the Java class that logged it. */
class CliWarningsIT {
    @TempDir
    Path work;

    @Test
    void aWarningNamesNoJavaClassUnlessDebugDetailIsAsked() throws Exception {
        Path src = Files.createDirectories(work.resolve("src"));
        Files.writeString(src.resolve("app.conf"), "x=1\n");
        CliProcess.sh(src, "touch $'caf\\xe9.txt'"); // a Latin-1 name: left out with a warning
        Path repo = work.resolve("repo");

        CliProcess.Result plain = CliProcess.run(repo, "backup", "files", "--name", "t", "--path", src.toString());
        assertThat(plain.exit()).as(plain.err()).isZero();
        assertThat(plain.err())
                .contains("[WARN] left out 1 file(s)")
                .doesNotContain("FilesBackupTarget")
                .doesNotContain("dev.drkit");

        CliProcess.Result debug =
                CliProcess.run(repo, "-vv", "backup", "files", "--name", "t", "--path", src.toString());
        assertThat(debug.exit()).as(debug.err()).isZero();
        assertThat(debug.err()).as("-vv says where").contains("FilesBackupTarget - left out 1 file(s)");
    }
}
