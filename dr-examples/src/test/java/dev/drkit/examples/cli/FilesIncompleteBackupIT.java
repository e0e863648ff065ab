package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A files backup whose source changes while it is copied, through the real jar. procfs makes
 * that deterministic: {@code /proc/version} is a regular file whose size reads as 0 yet which
 * has content, so it always "grows" between the scan and the copy.
 */
class FilesIncompleteBackupIT {
    private static final Path GROWING = Path.of("/proc/version");

    @TempDir
    Path work;

    Path repo;
    Path tree;

    @BeforeEach
    void makeTree() throws Exception {
        repo = work.resolve("repo");
        tree = Files.createDirectories(work.resolve("app"));
        Files.writeString(tree.resolve("app.conf"), "port = 8080\n");
        assertThat(Files.size(GROWING))
                .as("procfs reports no size for " + GROWING)
                .isZero();
        assertThat(Files.readString(GROWING)).isNotEmpty();
    }

    @Test
    void anIncompleteBackupExitsThreeNamingTheFileAndStatusAndRestoreSayIt() throws Exception {
        CliProcess.Result r = CliProcess.run(
                repo, "backup", "files", "--name", "config", "--path", tree.toString(), "--path", GROWING.toString());

        assertThat(r.exit()).as(r.err()).isEqualTo(3);
        assertThat(r.err())
                .contains("is incomplete", "1 file(s) changed or vanished", "  " + GROWING)
                .doesNotContain("\tat ");
        String id = r.lastLine();
        assertThat(id).matches("\\d{8}T\\d{6}Z-[0-9a-f]{6}");
        assertThat(CliProcess.run(repo, "list").out()).contains(id);

        CliProcess.Result status = CliProcess.run(repo, "status");
        assertThat(status.exit()).as(status.err()).isEqualTo(1);
        assertThat(status.out()).contains("newest backup " + id + " is incomplete", GROWING.toString());

        Path dest = work.resolve("restored");
        CliProcess.Result restore =
                CliProcess.run(repo, "restore", "--name", "config", "--id", id, "--to", dest.toString());
        assertThat(restore.exit()).as(restore.err()).isZero();
        assertThat(restore.err()).contains("is incomplete", GROWING.toString());
        assertThat(dest.resolve(tree.toString().substring(1)).resolve("app.conf"))
                .hasContent("port = 8080");

        CliProcess.Result complete =
                CliProcess.run(repo, "backup", "files", "--name", "config", "--path", tree.toString());
        assertThat(complete.exit()).as(complete.err()).isZero();
        assertThat(complete.err()).doesNotContain("incomplete");
        assertThat(CliProcess.run(repo, "status").exit()).isZero();
    }

    @Test
    void aFifoGivenAsAPathIsRefusedNamingIt() throws Exception {
        Path fifo = work.resolve("pipe");
        CliProcess.sh(work, "mkfifo pipe");

        CliProcess.Result r = CliProcess.run(repo, "backup", "files", "--name", "config", "--path", fifo.toString());

        assertThat(r.exit()).as("a usage error: the path given must change").isEqualTo(2);
        assertThat(r.err().strip())
                .startsWith("drkit: ")
                .contains(fifo + " is a named pipe (FIFO)")
                .doesNotContain("repository");
    }
}
