package dev.drkit.examples.cli;

import picocli.CommandLine;

/**
 * Prints the usage of every drkit command, as {@code drkit ... --help} does, in one JVM: run by
 * {@link CliUsageIT} in a process of its own so that picocli's warnings reach a stderr it reads.
 */
final class EveryUsage {
    private EveryUsage() {}

    public static void main(String[] args) {
        print(DrkitCli.commandLine());
    }

    private static void print(CommandLine command) {
        command.usage(System.out);
        command.getSubcommands().values().forEach(EveryUsage::print);
    }
}
