package dev.drkit.setup;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.drkit.ConfigException;
import dev.drkit.files.FilesBackupTargetProvider;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Arrays;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Setup files a person gets wrong, or a hostile one: a clear problem with its line, quickly, and nothing else. */
class SetupFileHostileInputTest {
    private static final List<Object> TYPES = List.of(new FilesBackupTargetProvider());
    private static final String TARGET = "targets:\n  a:\n    type: files\n    path: /tmp\n";

    @TempDir
    Path dir;

    private Path write(String yaml) throws Exception {
        Path f = Files.createTempFile(dir, "drkit", ".yaml");
        Files.writeString(f, yaml);
        return f;
    }

    private String problem(Path f) {
        try {
            SetupFile.load(f, TYPES);
        } catch (ConfigException e) {
            return e.getMessage();
        }
        throw new AssertionError("no problem reported for " + f);
    }

    @Test
    void brokenYamlIsOneLineWithItsLineAndNoParserDump() throws Exception {
        Path f = write("repository: /r\ntargets: [a\n");
        assertThat(problem(f))
                .startsWith(f + ":")
                .contains("not valid YAML")
                .doesNotContain("\n")
                .doesNotContain("in 'reader'")
                .doesNotContain("^");
    }

    @Test
    void aListAsAKeyNamesNoJavaClass() throws Exception {
        Path f = write("targets:\n  ? [a, b]\n  : {type: files}\n");
        assertThat(problem(f)).contains(f + ":2:").doesNotContain("org.yaml").doesNotContain("Event(");
    }

    @Test
    void tooDeepANestingNamesNoJacksonApiAndADirectoryNoJavaException() throws Exception {
        Path deep = write("a: " + "[".repeat(5000) + "]".repeat(5000) + "\n");
        assertThat(problem(deep)).doesNotContain("StreamReadConstraints").doesNotContain(":0:");
        Path directory = Files.createDirectory(dir.resolve("drkit.yaml"));
        assertThat(problem(directory)).doesNotContain("java.io").contains("directory");
    }

    @Test
    void aFifoNobodyWritesToIsRefusedRatherThanWaitedOnForever() throws Exception {
        Path fifo = dir.resolve("drkit.yaml");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor())
                .isZero();
        Duration before = SetupFile.pipeWait;
        SetupFile.pipeWait = Duration.ofSeconds(1);
        try {
            // the timeout only keeps a regression (an open that waits for a writer) from holding the build
            String message = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> problem(fifo));
            assertThat(message)
                    .isEqualTo("setup file " + fifo + " is a pipe nobody wrote to within 1 s; name the "
                            + "drkit.yaml itself, or start the command that writes it");
        } finally {
            SetupFile.pipeWait = before;
        }
    }

    @Test
    void aPipeAWriterFillsIsReadAsProcessSubstitutionGivesIt() throws Exception {
        // drkit --config <(sops -d drkit.yaml): the setup comes decrypted through a pipe
        Path fifo = dir.resolve("drkit.yaml");
        assertThat(new ProcessBuilder("mkfifo", fifo.toString()).start().waitFor())
                .isZero();
        Process writer = new ProcessBuilder("sh", "-c", "cat > '" + fifo + "'").start();
        try (var in = writer.getOutputStream()) {
            in.write(TARGET.getBytes(StandardCharsets.UTF_8));
        }
        Setup setup = assertTimeoutPreemptively(Duration.ofSeconds(20), () -> SetupFile.load(fifo, TYPES));
        assertThat(writer.waitFor()).isZero();
        assertThat(setup.targets()).isNotEmpty();
    }

    @Test
    void bytesThatAreNotUtf8AreSaidSoWithTheirLineAndNoJavaException() throws Exception {
        Path f = dir.resolve("drkit.yaml");
        byte[] head = (TARGET + "    exclude: \"caf").getBytes(StandardCharsets.UTF_8);
        byte[] bytes = Arrays.copyOf(head, head.length + 3);
        bytes[head.length] = (byte) 0xe9; // Latin-1 e-acute: not UTF-8
        bytes[head.length + 1] = '"';
        bytes[head.length + 2] = '\n';
        Files.write(f, bytes);
        assertThat(problem(f))
                .startsWith(f + ":5: not UTF-8 text")
                .doesNotContain("Exception")
                .doesNotContain("java.")
                .doesNotContain("byte #");
    }

    @Test
    void aHugeSingleValueIsRefusedQuicklyRatherThanParsedInQuadraticTime() throws Exception {
        // SnakeYAML copies its buffer for every 1 KiB of a long scalar: 8 MB took 15 s, 20 MB 100 s,
        // before its 3M code point limit refused the file
        Path f = write(TARGET + "    exclude: \"" + "x".repeat(12_000_000) + "\"\n");
        // the timeout only keeps a regression from holding the build for minutes
        String message = assertTimeoutPreemptively(Duration.ofSeconds(60), () -> problem(f));
        assertThat(message).contains(f.toString()).contains("larger than 1 MiB");
    }

    @Test
    void aScheduleThatNeverComesIsAProblemOnItsLine() throws Exception {
        // February 31st: accepted, and the target was never backed up, with no word said
        Path f = write(TARGET + "    schedule: \"0 3 31 2 *\"\n    verify: {schedule: \"0 4 31 4 *\"}\n");
        assertThat(problem(f)).contains(f + ":5:").contains(f + ":6:").contains("never");
    }

    @Test
    void aNegativeOrEndlessKeepWithinIsAProblemOnItsLineAtLoad() throws Exception {
        // read as minus a day / 100 billion years: 'config check' said OK, and every prune then failed (exit 1)
        for (String within : List.of("P-1D", "99999999999y", "9999999999999999999d")) {
            Path f = write(TARGET + "    retention: {keep-within: \"" + within + "\"}\n");
            assertThatThrownBy(() -> SetupFile.load(f, TYPES))
                    .isInstanceOf(ConfigException.class)
                    .hasMessageContaining(f + ":5:")
                    .hasMessageContaining("keep-within");
        }
    }

    @Test
    void aNulInAPathIsAProblemRatherThanAnInvalidPathException() throws Exception {
        Path f = write("notifications:\n  incidents:\n    state-file: \"/var/lib/a\\0b\"\n"
                + "    templates: {initial: \"/etc/\\0t\"}\n    webhook: {url: \"https://hooks.example.com/x\"}\n"
                + TARGET);
        assertThatThrownBy(() -> SetupFile.load(f, TYPES))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining(f + ":3:")
                .hasMessageContaining(f + ":4:");
    }

    @Test
    void aWebhookWithoutAHostIsAProblemAsAnIncidentChannelsIs() throws Exception {
        // accepted, then every event failed in the listener with 'unsupported URI' and was logged only
        Path f = write("notifications:\n  webhook: \"http:/hooks/x\"\n" + TARGET);
        assertThat(problem(f)).contains(f + ":2:").contains("notifications.webhook");
    }
}
