package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.testkit.Prerequisites;
import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** The command line's own rough edges: usage text, exit codes of usage errors, key files, -vv. */
class CliUsageIT {
    @TempDir
    Path work;

    @Test
    void everyCommandsUsageRendersWithoutWarnings() throws Exception {
        Process p = new ProcessBuilder(
                        Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                        "-cp",
                        CliProcess.JAR
                                + File.pathSeparator
                                + Path.of("target", "test-classes").toAbsolutePath(),
                        EveryUsage.class.getName())
                .redirectOutput(work.resolve("out").toFile())
                .redirectError(work.resolve("err").toFile())
                .start();
        assertThat(p.waitFor()).isZero();
        String out = Files.readString(work.resolve("out"), StandardCharsets.UTF_8);
        assertThat(Files.readString(work.resolve("err"), StandardCharsets.UTF_8))
                .isEmpty();
        assertThat(out).contains("The WAL file name (%f).").doesNotContain("%%");
        List<String> commands = new ArrayList<>();
        collect(DrkitCli.commandLine(), commands);
        assertThat(commands).hasSizeGreaterThan(20);
        for (String c : commands) {
            assertThat(out).contains("Usage: " + c + " ");
        }
    }

    private static void collect(CommandLine c, List<String> names) {
        names.add(c.getCommandSpec().qualifiedName());
        c.getSubcommands().values().forEach(s -> collect(s, names));
    }

    /**
     * A log line quotes a file name of the backed-up tree, which whoever can write there chose:
     * its escape sequences (here one that sets the terminal's title), carriage return and
     * right-to-left override must not reach the terminal.
     */
    @Test
    void aLoggedFileNameSendsNoControlCharactersToTheTerminal() throws Exception {
        Path src = Files.createDirectories(work.resolve("src"));
        Files.writeString(src.resolve("app.conf"), "x=1\n");
        CliProcess.sh(src, "mkfifo \"$(printf 'evil\\033]2;pwned\\007\\r\\342\\200\\256x')\"");
        CliProcess.Result r = CliProcess.run(
                work.resolve("repo"),
                List.of(),
                Map.of("LC_ALL", "C.UTF-8"),
                "backup",
                "files",
                "--name",
                "t",
                "--path",
                src.toString());
        assertThat(r.exit()).isZero();
        assertThat(r.err()).contains("skipping " + src.resolve("evil?]2;pwned???x"));
        assertThat(r.err().chars().filter(c -> c < 0x20 && c != '\n')).isEmpty();
        assertThat(r.err()).doesNotContain("\u202e");
    }

    /**
     * On a terminal picocli colours its usage errors with escape sequences, which the CLI's
     * terminal filter would print as '?[1m': they are turned off, and the error reads plainly.
     */
    @Test
    void aUsageErrorOnATerminalReadsPlainly() throws Exception {
        Prerequisites.requireTool("script"); // a pseudo-terminal for the command
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String out = CliProcess.sh(
                work, "script -qec '" + java + " -jar " + CliProcess.JAR + " backup files --bogus' /dev/null; true");
        assertThat(out).contains("Missing required options", "Usage: drkit backup files");
        assertThat(out).doesNotContain("?[").doesNotContain("\u001b");
    }

    @Test
    void argumentsThatCannotWorkExitTwoWithOneLine() throws Exception {
        Path src = Files.createDirectories(work.resolve("src"));
        Files.writeString(src.resolve("app.conf"), "x=1\n");
        Path repo = work.resolve("repo");
        assertThat(CliProcess.run(repo, "backup", "files", "--name", "t", "--path", src.toString())
                        .exit())
                .isZero();
        Path garbage = Files.writeString(work.resolve("garbage.asc"), "not a key\n");
        Files.setPosixFilePermissions(garbage, PosixFilePermissions.fromString("rw-------"));
        Path open = Files.writeString(work.resolve("open.asc"), "whatever\n");
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rw-r-----"));
        String[][] cases = {
            {"keep-last must be >= 0", "prune", "--keep-last", "-3"},
            {"unknown verify level 'paranoid'", "verify", "--name", "t", "--latest", "--level", "paranoid"},
            {
                "unknown compression 'rar'",
                "backup",
                "files",
                "--name",
                "t",
                "--path",
                src.toString(),
                "--compress",
                "rar"
            },
            {"invalid target name '../x'", "backup", "files", "--name", "../x", "--path", src.toString()},
            {
                work.resolve("none.asc") + " does not exist",
                "restore",
                "--name",
                "t",
                "--latest",
                "--to",
                work.resolve("r").toString(),
                "--secret-key",
                work.resolve("none.asc").toString()
            },
            {
                garbage + " is not an OpenPGP secret key (armored or binary)",
                "verify",
                "--name",
                "t",
                "--latest",
                "--secret-key",
                garbage.toString()
            },
            {"chmod 600 " + open, "verify", "--name", "t", "--latest", "--secret-key", open.toString()}
        };
        for (String[] c : cases) {
            CliProcess.Result r = CliProcess.run(repo, Arrays.copyOfRange(c, 1, c.length));
            assertThat(r.exit()).as(String.join(" ", c) + "\n" + r.err()).isEqualTo(2);
            assertThat(r.err().strip())
                    .startsWith("drkit: ")
                    .contains(c[0])
                    .doesNotContain("\n")
                    .doesNotContain("Exception");
        }
    }

    @Test
    void repeatedVerboseAsksForMoreDetail() throws Exception {
        Path src = Files.createDirectories(work.resolve("src"));
        Files.writeString(src.resolve("app.conf"), "x=1\n");
        Path repo = work.resolve("repo");
        CliProcess.Result quiet = CliProcess.run(repo, "backup", "files", "--name", "t", "--path", src.toString());
        assertThat(quiet.err()).isEmpty();
        CliProcess.Result v = CliProcess.run(repo, "-v", "backup", "files", "--name", "t", "--path", src.toString());
        assertThat(v.exit()).as(v.err()).isZero();
        assertThat(v.err()).contains("[INFO]").contains("BACKUP_SUCCEEDED");
        CliProcess.Result vv = CliProcess.run(repo, "-vv", "verify", "--name", "nothing", "--latest");
        assertThat(vv.exit()).isEqualTo(1);
        assertThat(vv.err()).contains("no complete backup").contains("\tat dev.drkit."); // -vv: where it failed
        CliProcess.Result split = CliProcess.run(repo, "-v", "verify", "--name", "nothing", "--latest", "-v");
        assertThat(split.err()).contains("\tat dev.drkit.");
    }
}
