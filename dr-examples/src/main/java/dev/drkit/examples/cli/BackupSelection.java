package dev.drkit.examples.cli;

import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Option;

/** {@code --name NAME (--latest | --id ID)}. */
final class BackupSelection {
    @Option(names = "--name", required = true, paramLabel = "NAME", description = "Target name.")
    String name;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Which which;

    static final class Which {
        @Option(names = "--latest", required = true, description = "The newest complete backup.")
        boolean latest;

        @Option(names = "--id", required = true, paramLabel = "ID", description = "A backup id (see 'drkit list').")
        String id;
    }

    /** The id, or null for the newest. */
    String id() {
        return which.latest ? null : which.id;
    }
}
