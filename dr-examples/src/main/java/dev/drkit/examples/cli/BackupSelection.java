package dev.drkit.examples.cli;

import dev.drkit.BackupManifest;
import dev.drkit.BackupNotFoundException;
import dev.drkit.ConfigException;
import dev.drkit.DrKit;
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

    /** The chosen backup's manifest: {@link #named} for {@code --id}, else the newest. */
    BackupManifest manifest(DrKit kit) {
        return which.latest ? kit.manifest(name, null) : named(kit, name, which.id);
    }

    /**
     * The manifest of the backup {@code --id} names: an id that names no backup of the target is
     * a usage error (exit 2) like a malformed one, since the command line must change; a backup
     * missing that another one needs stays a failure (exit 1) where it is found.
     */
    static BackupManifest named(DrKit kit, String name, String id) {
        try {
            return kit.manifest(name, id);
        } catch (BackupNotFoundException e) {
            throw new ConfigException(e.getMessage(), e);
        }
    }
}
