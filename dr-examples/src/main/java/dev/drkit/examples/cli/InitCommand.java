package dev.drkit.examples.cli;

import dev.drkit.DrKit;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Spec;

/** {@code drkit init}: creates the repository (a first backup does too; reading commands never do). */
@Command(
        name = "init",
        description = "Create the repository at --repo (a first backup does too; list, status, "
                + "verify, restore and check never create one).")
final class InitCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Override
    public Integer call() {
        GlobalOptions global = GlobalOptions.of(spec);
        try (DrKit kit = global.open(spec.commandLine().getErr(), null)) {
            String id = kit.initRepository();
            if (!global.quiet) {
                spec.commandLine().getOut().println("repository " + id + " at " + kit.repositoryDescription());
                spec.commandLine().getOut().flush();
            }
        }
        return 0;
    }
}
