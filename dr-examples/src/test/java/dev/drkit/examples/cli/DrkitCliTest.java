package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.Files;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

class DrkitCliTest {

    private static long storedBytes(Path repo) throws IOException {
        try (Stream<Path> s = Files.walk(repo)) {
            return s.filter(p -> p.getFileName().toString().endsWith(".tar.zst"))
                    .mapToLong(p -> p.toFile().length())
                    .sum();
        }
    }

    @Test
    void aBackupTakesItsOwnCompressionLevelAndRefusesOneOutOfRange(@TempDir Path dir) throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Random r = new Random(3);
        StringBuilder sb = new StringBuilder();
        while (sb.length() < 2_000_000) {
            sb.append("row ").append(r.nextInt(50_000)).append(r.nextBoolean() ? " open\n" : " closed\n");
        }
        Files.writeString(data.resolve("table.txt"), sb);
        long[] stored = new long[2];
        String[] levels = {"1", "19", "30"};
        for (int i = 0; i < levels.length; i++) {
            Path repo = dir.resolve("repo-" + levels[i]);
            String[] args = {
                "-q",
                "--repo",
                repo.toString(),
                "backup",
                "files",
                "--name",
                "t",
                "--path",
                data.toString(),
                "--compression-level",
                levels[i]
            };
            if (i < 2) {
                assertThat(DrkitCli.run(args)).isZero();
                stored[i] = storedBytes(repo);
            } else {
                assertThat(DrkitCli.run(args)).as("a level out of range").isEqualTo(DrkitCli.USAGE);
                assertThat(repo).doesNotExist();
            }
        }
        assertThat(stored[0]).isPositive();
        assertThat(stored[1]).as("level 19 stores less than level 1").isLessThan(stored[0] * 9 / 10);
    }

    @Test
    void anIdThatNamesNoBackupIsAUsageErrorAndTouchesNoDestination(@TempDir Path dir) throws Exception {
        Path data = Files.createDirectories(dir.resolve("data"));
        Files.writeString(data.resolve("app.conf"), "x=1\n");
        String repo = dir.resolve("repo").toString();
        assertThat(DrkitCli.run("-q", "--repo", repo, "backup", "files", "--name", "t", "--path", data.toString()))
                .isZero();
        String unknown = "20250103T020000Z-3f9a1c"; // well formed, but no backup of t
        Path restored = dir.resolve("restored");
        Path copy = dir.resolve("copy");
        String[][] commands = {
            {"verify", "--name", "t", "--id", unknown},
            {"restore", "--name", "t", "--id", unknown, "--to", restored.toString()},
            {"copy", "--name", "t", "--id", unknown, "--to", copy.toString()},
            {"copy", "--name", "t", "--latest", "--to", ""},
            {"verify", "--name", "other", "--id", unknown}
        };
        for (String[] command : commands) {
            String[] args = Stream.concat(Stream.of("-q", "--repo", repo), Stream.of(command))
                    .toArray(String[]::new);
            assertThat(DrkitCli.run(args)).as(String.join(" ", command)).isEqualTo(DrkitCli.USAGE);
        }
        assertThat(restored).doesNotExist();
        assertThat(copy)
                .as("the copy's destination is not created for a backup that is not there")
                .doesNotExist();
        assertThat(DrkitCli.run("-q", "--repo", repo, "verify", "--name", "other", "--latest"))
                .as("no backup of a target at all is a failed operation, not a usage error")
                .isEqualTo(DrkitCli.FAILED);
    }

    @Test
    void aFileSystemFailureThatCarriesOnlyAPathIsSaidInWords() {
        CommandLine key =
                DrkitCli.commandLine("key", "generate").getSubcommands().get("key");
        Object[][] cases = {
            {new FileAlreadyExistsException("/srv/keys"), "/srv/keys already exists"},
            {new NotDirectoryException("/srv/keys"), "/srv/keys is not a directory"},
            {
                new FileSystemException("/srv/keys/secret.asc", null, "Read-only file system"),
                "/srv/keys/secret.asc: Read-only file system"
            }
        };
        for (Object[] c : cases) {
            StringWriter err = new StringWriter();
            key.setErr(new PrintWriter(err));
            assertThat(DrkitCli.report((Exception) c[0], key, "")).isEqualTo(DrkitCli.FAILED);
            assertThat(err.toString().strip()).isEqualTo("drkit: key failed: " + c[1]);
        }
    }

    @Test
    void severalConfigurationProblemsAreSaidOnePerLine() {
        CommandLine check =
                DrkitCli.commandLine("config", "check").getSubcommands().get("config");
        StringWriter err = new StringWriter();
        check.setErr(new PrintWriter(err));
        ConfigException e = new ConfigException(List.of(
                "drkit.yaml:5: targets.a: unknown option 'pth'; did you mean option 'path'?",
                "drkit.yaml:7: targets.b: setting 'to' is a path, not 'x\ndrkit: forged'"));

        assertThat(DrkitCli.report(e, check, "")).isEqualTo(DrkitCli.USAGE);

        assertThat(err.toString().split("\\R"))
                .containsExactly(
                        "drkit: 2 configuration problems:",
                        "  drkit.yaml:5: targets.a: unknown option 'pth'; did you mean option 'path'?",
                        "  drkit.yaml:7: targets.b: --to is a path, not 'x?drkit: forged'");
    }

    @Test
    void everyVisibleOptionAndParameterSaysWhatItDoesInTheUsageHelp() {
        List<String> silent = new ArrayList<>();
        collectSilent(DrkitCli.commandLine(), silent);
        assertThat(silent).as("options whose --help line is only their name").isEmpty();
    }

    private static void collectSilent(CommandLine c, List<String> silent) {
        String command = c.getCommandSpec().qualifiedName();
        for (CommandLine.Model.OptionSpec o : c.getCommandSpec().options()) {
            if (!o.hidden() && String.join("", o.description()).isBlank()) {
                silent.add(command + " " + o.longestName());
            }
        }
        for (CommandLine.Model.PositionalParamSpec p : c.getCommandSpec().positionalParameters()) {
            if (!p.hidden() && String.join("", p.description()).isBlank()) {
                silent.add(command + " " + p.paramLabel());
            }
        }
        c.getSubcommands().values().forEach(sub -> collectSilent(sub, silent));
    }

    @Test
    void anEmptyPathIsAUsageErrorNotTheCurrentDirectory() {
        for (String[] args : new String[][] {
            {"key", "generate", "--out", ""}, // wrote secret.asc into the current directory
            {"--config", "", "list"},
            {"report", "--html", ""},
            {"wal-push", ""},
            {"--dedup-key-file=", "list"}
        }) {
            assertThatThrownBy(() -> DrkitCli.commandLine(args).parseArgs(args))
                    .as(String.join(" ", args))
                    .isInstanceOf(CommandLine.ParameterException.class)
                    .hasMessageContaining("an empty path names no file or directory");
        }
    }

    @Test
    void aNamedCommandIsTheOnlyOneBuiltWhereverTheGlobalOptionsStand() {
        assertThat(DrkitCli.commandLine("--repo", "list", "-qv", "backup", "redis", "--name", "x")
                        .getSubcommands())
                .as("a repository named like a command is the value of --repo, not the command")
                .containsOnlyKeys("backup");
        assertThat(DrkitCli.commandLine("--repo=/r", "--lock-wait", "5s", "--json", "wal-push", "x")
                        .getSubcommands())
                .containsOnlyKeys("wal-push");
        assertThat(DrkitCli.commandLine("-vv", "--config", "d.yaml", "status").getSubcommands())
                .containsOnlyKeys("status");
    }

    @Test
    void ofACommandWithSubcommandsOnlyTheNamedOneIsBuilt() {
        CommandLine backup = DrkitCli.commandLine("-q", "backup", "--lock-wait", "5s", "redis", "--uri", "redis://h")
                .getSubcommands()
                .get("backup");
        assertThat(backup.getSubcommands()).containsOnlyKeys("redis");
        int types = DrkitCli.commandLine()
                .getSubcommands()
                .get("backup")
                .getSubcommands()
                .size();
        assertThat(types).as("every type to back up").isEqualTo(5);
        for (String[] args : new String[][] {
            {"backup"},
            {"backup", "--help"},
            {"backup", "--name", "redis"},
            {"--config", "d.yaml", "backup", "--all"},
            {"backup", "reddis"},
            {"help", "backup"}
        }) {
            assertThat(DrkitCli.commandLine(args).getSubcommands().get("backup").getSubcommands())
                    .as(String.join(" ", args))
                    .hasSize(types);
        }
    }

    @Test
    void helpVersionAndUnknownNamesGetEveryCommand() {
        int all = DrkitCli.commandLine().getSubcommands().size();
        assertThat(all).isGreaterThan(15);
        for (String[] args : new String[][] {
            {}, {"--help"}, {"-h"}, {"--version"}, {"help", "backup"}, {"bakup"}, {"--repo", "r"}, {"--", "list"}
        }) {
            assertThat(DrkitCli.commandLine(args).getSubcommands())
                    .as(String.join(" ", args))
                    .hasSize(all);
        }
    }

    @Test
    void aCommandBuiltAloneParsesAndReportsUsageErrorsAsBefore() {
        String[] args = {"backup", "redis", "--name", "cache", "--uri", "redis://localhost:6379", "--bogus"};
        CommandLine alone = DrkitCli.commandLine(args);
        StringWriter err = new StringWriter();
        alone.setErr(new PrintWriter(err));

        int code = alone.execute(args);

        assertThat(code).isEqualTo(DrkitCli.USAGE);
        assertThat(err.toString()).contains("Unknown option: '--bogus'").contains("Usage: drkit backup redis");
        StringWriter usage = new StringWriter();
        CommandLine help = DrkitCli.commandLine("backup", "--help");
        help.setOut(new PrintWriter(usage));
        assertThat(help.execute("backup", "--help")).isZero();
        assertThat(usage.toString())
                .contains("postgres-logical")
                .contains("minio-bucket")
                .contains("redis");
        assertThat(DrkitCli.commandLine("--repo", "/r", "list")
                        .parseArgs("--repo", "/r", "list", "--name", "db")
                        .subcommand()
                        .commandSpec()
                        .name())
                .isEqualTo("list");
    }
}
