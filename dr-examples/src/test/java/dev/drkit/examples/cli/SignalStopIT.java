package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Ctrl-C or SIGTERM during a backup: the backup fails as any failed backup does (its partial upload
 * and its lock removed, nothing listed), says so on stderr, and the JVM still ends with the signal's
 * status. Before, the JVM halted mid-write and left the upload in .drkit-tmp (for an hour, and
 * {@code check} reported it) and the lock for the next run to take over.
 */
class SignalStopIT {
    @TempDir
    Path work;

    @Test
    void aBackupStoppedBySigtermLeavesNoUploadNorLockAndSaysSo() throws Exception {
        Path src = Files.createDirectories(work.resolve("src"));
        CliProcess.writeRandom(src.resolve("big.bin"), 1L << 30); // incompressible: takes seconds to store
        Path repo = work.resolve("repo");
        Path err = work.resolve("err");
        Process p = CliProcess.builder(repo, List.of(), "backup", "files", "--name", "t", "--path", src.toString())
                .redirectOutput(work.resolve("out").toFile())
                .redirectError(err.toFile())
                .start();
        Path uploads = repo.resolve(".drkit-tmp");
        while (!uploading(uploads)) {
            assertThat(p.waitFor(1, TimeUnit.MILLISECONDS))
                    .as("the backup finished before its upload was seen")
                    .isFalse();
        }
        p.destroy(); // SIGTERM
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();

        assertThat(p.exitValue()).as("the signal's status").isEqualTo(143);
        assertThat(Files.readString(err, StandardCharsets.UTF_8))
                .contains("drkit: backup files stopped by a signal (Ctrl-C or SIGTERM) before it finished")
                .doesNotContain("Exception");
        assertThat(parts(uploads)).as("no partial upload left").isEmpty();
        assertThat(files(repo.resolve("locks"))).as("no lock left").isEmpty();
        assertThat(files(repo.resolve("backups")))
                .as("nothing of the backup stored")
                .isEmpty();
        CliProcess.Result check = CliProcess.run(repo, "check");
        assertThat(check.exit()).as(check.out() + check.err()).isZero();
    }

    @Test
    void aRestoreStoppedBySigtermLeavesNeitherStagingNorDestinationNorLock() throws Exception {
        Path src = Files.createDirectories(work.resolve("src"));
        CliProcess.writeRandom(src.resolve("big.bin"), 512L << 20);
        Path repo = work.resolve("repo");
        CliProcess.Result backup = CliProcess.run(repo, "backup", "files", "--name", "t", "--path", src.toString());
        assertThat(backup.exit()).as(backup.err()).isZero();
        Path restores = Files.createDirectories(work.resolve("restores"));
        Path dest = restores.resolve("dest");
        Path err = work.resolve("restore-err");
        Process p = CliProcess.builder(repo, List.of(), "restore", "--name", "t", "--latest", "--to", dest.toString())
                .redirectOutput(work.resolve("restore-out").toFile())
                .redirectError(err.toFile())
                .start();
        while (!writing(restores)) {
            assertThat(p.waitFor(1, TimeUnit.MILLISECONDS))
                    .as("the restore finished before it was seen writing")
                    .isFalse();
        }
        p.destroy(); // SIGTERM
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();

        assertThat(p.exitValue()).as("the signal's status").isEqualTo(143);
        assertThat(Files.readString(err, StandardCharsets.UTF_8))
                .contains("drkit: restore stopped by a signal (Ctrl-C or SIGTERM) before it finished")
                .doesNotContain("Exception");
        try (Stream<Path> left = Files.list(restores)) {
            assertThat(left.toList())
                    .as("the staging directory and the destination")
                    .isEmpty();
        }
        assertThat(files(repo.resolve("locks"))).as("no lock left").isEmpty();
        CliProcess.Result again = CliProcess.run(repo, "restore", "--name", "t", "--latest", "--to", dest.toString());
        assertThat(again.exit()).as(again.err()).isZero();
        // stored under its absolute path, which the restore puts below the destination
        assertThat(Files.mismatch(
                        src.resolve("big.bin"),
                        dest.resolve(src.toString().substring(1)).resolve("big.bin")))
                .isEqualTo(-1);
    }

    /** Whether a restore writes under {@code dir}: a file of more than a megabyte there. */
    private static boolean writing(Path dir) throws IOException {
        for (Path f : files(dir)) {
            try {
                if (Files.size(f) > (1 << 20)) {
                    return true;
                }
            } catch (NoSuchFileException moved) {
                // moved into place meanwhile
            }
        }
        return false;
    }

    /** Whether the artifact's upload has begun: a part file of more than a megabyte (not a small object's). */
    private static boolean uploading(Path uploads) throws IOException {
        for (Path part : parts(uploads)) {
            try {
                if (Files.size(part) > (1 << 20)) {
                    return true;
                }
            } catch (NoSuchFileException committed) {
                // a small object's part, linked into place meanwhile
            }
        }
        return false;
    }

    private static List<Path> parts(Path dir) throws IOException {
        return files(dir).stream()
                .filter(f -> f.getFileName().toString().endsWith(".part"))
                .toList();
    }

    private static List<Path> files(Path dir) throws IOException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        try (Stream<Path> s = Files.walk(dir)) {
            return s.filter(Files::isRegularFile).toList();
        }
    }
}
