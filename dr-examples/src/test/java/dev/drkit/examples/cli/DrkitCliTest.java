package dev.drkit.examples.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class DrkitCliTest {

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
        assertThat(DrkitCli.commandLine("--repo", "/r", "list")
                        .parseArgs("--repo", "/r", "list", "--name", "db")
                        .subcommand()
                        .commandSpec()
                        .name())
                .isEqualTo("list");
    }
}
