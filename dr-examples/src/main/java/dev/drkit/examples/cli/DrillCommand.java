package dev.drkit.examples.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;

/** Placeholder replaced below. */
@Command(name = "drill", hidden = true)
final class DrillCommand implements Callable<Integer> {
    @Override
    public Integer call() {
        return 0;
    }
}
