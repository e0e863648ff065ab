package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.Prerequisites;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * A files restore by a user other than root, who cannot read a file whose mode leaves its owner
 * no read bit, nor create files in a directory without a write bit: every file still comes back
 * with its bytes and its mode. The backup is taken as root, the restore runs as {@code nobody}
 * (so the tests must run as root to switch user, as CI does).
 */
class FilesNonRootRestoreIT {
    private static final boolean ROOT = "root".equals(System.getProperty("user.name"));

    private Path work;

    @BeforeEach
    void work() throws Exception {
        Prerequisites.require(
                ROOT ? Prerequisites.findOnPath("runuser") : Optional.empty(),
                "restoring as another user needs root and runuser (CI runs the tests as root)");
        work = Files.createTempDirectory("drkit-nonroot");
        Files.setPosixFilePermissions(work, PosixFilePermissions.fromString("rwxr-xr-x"));
    }

    @AfterEach
    void clean() throws Exception {
        if (work != null) {
            CliProcess.sh(work.getParent(), "chmod -R u+rwx " + work + " && rm -rf " + work);
        }
    }

    @Test
    void everyFileComesBackWithItsBytesAndModeEvenOnesItsOwnerCannotRead() throws Exception {
        Path data = Files.createDirectories(work.resolve("data"));
        Map<String, String> modes = new LinkedHashMap<>();
        file(data, "plain.txt", "rw-r--r--", modes);
        file(data, "secret.key", "---------", modes);
        file(data, "write-only.log", "-w-------", modes);
        file(data, "read-only.conf", "r--r--r--", modes);
        file(data, "run.sh", "rwx------", modes);
        Path locked = Files.createDirectories(data.resolve("locked"));
        file(data, "locked/inside.txt", "rw-------", modes);
        Files.setPosixFilePermissions(locked, PosixFilePermissions.fromString("r-xr-xr-x"));
        modes.put("locked", "r-xr-xr-x");

        Path repo = work.resolve("repo");
        CliProcess.Result backup = CliProcess.run(repo, "backup", "files", "--name", "tree", "--path", data.toString());
        assertThat(backup.exit()).as(backup.err()).isZero();

        Path jar = Files.copy(CliProcess.JAR, work.resolve("drkit.jar"), StandardCopyOption.REPLACE_EXISTING);
        Files.setPosixFilePermissions(jar, PosixFilePermissions.fromString("rw-r--r--"));
        Path out = Files.createDirectories(work.resolve("out"));
        Path home = Files.createDirectories(work.resolve("home"));
        CliProcess.sh(work, "chown -R nobody " + repo + " " + out + " " + home);

        Path to = out.resolve("restored");
        CliProcess.Result restore = asNobody(
                home, jar, "--repo", repo.toString(), "restore", "--name", "tree", "--latest", "--to", to.toString());
        assertThat(restore.exit()).as(restore.err()).isZero();
        // root's files become nobody's: said once, not left for the operator to find out
        assertThat(restore.err())
                .containsOnlyOnce("belonged to other users (the first to uid 0)")
                .contains("restore as root to keep the owners");

        Path restoredRoot = to.resolve(Path.of("/").relativize(data)); // the tree keeps the backed-up path
        for (Map.Entry<String, String> e : modes.entrySet()) {
            Path restored = restoredRoot.resolve(e.getKey());
            assertThat(restored).as(e.getKey()).exists();
            Set<PosixFilePermission> mode = Files.getPosixFilePermissions(restored);
            assertThat(PosixFilePermissions.toString(mode)).as(e.getKey()).isEqualTo(e.getValue());
            if (Files.isRegularFile(restored)) {
                assertThat(Files.readString(restored)).as(e.getKey()).isEqualTo(content(e.getKey()));
                assertThat(Files.getOwner(restored).getName()).as(e.getKey()).isEqualTo("nobody");
            }
        }
    }

    private static void file(Path data, String name, String mode, Map<String, String> modes) throws Exception {
        Path f = data.resolve(name);
        Files.writeString(f, content(name));
        Files.setPosixFilePermissions(f, PosixFilePermissions.fromString(mode));
        modes.put(name, mode);
    }

    private static String content(String name) {
        return "the bytes of " + name + "\n";
    }

    private CliProcess.Result asNobody(Path home, Path jar, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(
                "runuser",
                "-u",
                "nobody",
                "--",
                "env",
                "HOME=" + home,
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-jar",
                jar.toString()));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).directory(work.toFile()).start();
        String stdout = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String stderr = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(5, TimeUnit.MINUTES)).isTrue();
        return new CliProcess.Result(p.exitValue(), stdout, stderr);
    }
}
