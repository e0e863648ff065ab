package dev.drkit.examples.cli;

import dev.drkit.ConfigException;
import dev.drkit.CopyIncompleteException;
import dev.drkit.CopyResult;
import dev.drkit.DrKit;
import dev.drkit.spi.StorageBackend;
import java.io.IOException;
import java.io.PrintWriter;
import java.util.concurrent.Callable;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code drkit copy --name NAME (--latest | --id ID | --all) --to URI}. */
@Command(
        name = "copy",
        description = "Replicate backups to another repository (an offsite copy), verifying "
                + "checksums as it copies; what is already there is skipped, an interrupted copy resumes. "
                + "With --all, a backup whose data is damaged is left out and named, the others are "
                + "copied, and the exit code is 1.")
final class CopyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--name", required = true, paramLabel = "NAME", description = "Target name.")
    String name;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Which which;

    static final class Which {
        @Option(names = "--latest", required = true, description = "The newest complete backup.")
        boolean latest;

        @Option(names = "--id", required = true, paramLabel = "ID", description = "One backup.")
        String id;

        @Option(names = "--all", required = true, description = "Every complete backup of the target.")
        boolean all;
    }

    @Option(
            names = "--to",
            required = true,
            paramLabel = "URI",
            description = "Destination repository: a path, file:/path, s3://bucket/prefix?region=..&endpoint=..")
    String to;

    @Override
    public Integer call() throws IOException {
        GlobalOptions global = GlobalOptions.of(spec);
        PrintWriter out = spec.commandLine().getOut();
        if (to.isBlank()) {
            throw new ConfigException("--to names no repository: give the destination's path or URI");
        }
        try (DrKit kit = global.open(spec.commandLine().getErr(), null)) {
            if (which.id != null) {
                BackupSelection.named(kit, name, which.id); // before the destination is touched
            }
            try (StorageBackend destination = kit.openStorage(to)) {
                CopyResult r;
                try {
                    r = kit.copy(name, which.id, which.all, destination);
                } catch (CopyIncompleteException e) {
                    // what did reach the destination is said too; the failure follows on stderr (exit 1)
                    print(global, out, e.result());
                    throw e;
                }
                print(global, out, r);
            }
        }
        return 0;
    }

    /** Repository text for the terminal: control characters cleaned, library terms in this CLI's words. */
    private static String cli(String text) {
        return GlobalOptions.safe(MessageFlags.forCli(text));
    }

    private void print(GlobalOptions global, PrintWriter out, CopyResult r) {
        if (global.json) {
            GlobalOptions.printJson(out, r);
        } else if (!global.quiet) {
            out.printf(
                    "copied %d backup(s) of %s to %s (%s), %d already there%s%s%s%n",
                    r.copied().size(),
                    name,
                    r.destination(),
                    Sizes.human(r.bytes()),
                    r.skipped().size(),
                    r.archiveFilesCopied() == 0 ? "" : "; " + r.archiveFilesCopied() + " archived file(s) (WAL) copied",
                    r.notCopied().isEmpty() ? "" : "; " + r.notCopied().size() + " not copied (damaged)",
                    r.archiveFilesNotCopied().isEmpty()
                            ? ""
                            : "; " + r.archiveFilesNotCopied().size() + " archived file(s) not copied (damaged)");
            // each one once, here (this CLI does not print the kit's warnings about them)
            printNotCopied(out, r);
        }
        out.flush();
    }

    /** Every backup and archived file a copy left out, a line each with why. */
    static void printNotCopied(PrintWriter out, CopyResult r) {
        for (CopyResult.NotCopied n : r.notCopied()) {
            out.printf("  not copied: backup %s: %s%n", GlobalOptions.safe(n.id()), cli(n.reason()));
        }
        for (CopyResult.NotCopied n : r.archiveFilesNotCopied()) {
            out.printf("  not copied: archived file %s: %s%n", GlobalOptions.safe(n.id()), cli(n.reason()));
        }
    }
}
