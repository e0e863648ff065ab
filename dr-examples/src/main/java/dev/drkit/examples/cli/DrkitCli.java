package dev.drkit.examples.cli;

import dev.drkit.DrException;
import java.io.PrintWriter;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code drkit} command line. Exit codes: 0 success, 1 the operation failed (one line
 * on stderr that says what failed and what to do), 2 usage error, 3 a backup was stored but is
 * incomplete (files changed while they were copied; they are named on stderr).
 */
@Command(name = "drkit", mixinStandardHelpOptions = true, scope = CommandLine.ScopeType.INHERIT,
        versionProvider = DrkitCli.Version.class,
        description = "Backup, restore, verification and retention for files, databases and buckets.",
        subcommands = {InitCommand.class, BackupCommand.class, ListCommand.class, CheckCommand.class, VerifyCommand.class, RestoreCommand.class,
                PruneCommand.class, CopyCommand.class, WalCommands.Push.class, WalCommands.Fetch.class,
                WalCommands.Stream.class,
                KeyCommand.class, DrillCommand.class, ConfigCommand.class, RunCommand.class, StatusCommand.class,
                CommandLine.HelpCommand.class})
public final class DrkitCli {
    @picocli.CommandLine.Mixin
    GlobalOptions global;

    public static void main(String[] args) {
        warmUp();
        System.exit(run(args));
    }

    /**
     * Loads the JSON mapper (several hundred classes) on a second thread while picocli builds
     * its command model on this one: a third of a second less before a short command starts
     * its real work, which matters for backups run from cron and archive_command.
     */
    private static void warmUp() {
        Thread t = new Thread(() -> {
            // zstd-jni unpacks and loads its native library on first use (about 60 ms here)
            com.github.luben.zstd.Zstd.compress(new byte[16]);
            dev.drkit.core.repo.Json.write(java.util.Map.of("warm", java.time.Instant.EPOCH));
        }, "drkit-warm-up");
        t.setDaemon(true);
        t.start();
    }

    /** Runs the CLI and returns its exit code (for tests and embedding). */
    public static int run(String... args) {
        configureLogging(args);
        CommandLine cli = new CommandLine(new DrkitCli());
        cli.setExecutionExceptionHandler(DrkitCli::onFailure);
        return cli.execute(args);
    }

    private static int onFailure(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        PrintWriter err = cmd.getErr();
        if (e instanceof DrException) {
            err.println("drkit: " + e.getMessage());
        } else {
            err.println("drkit: " + cmd.getCommandName() + " failed: " + e);
        }
        if (System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", "").equals("debug")) {
            e.printStackTrace(err);
        }
        err.flush();
        return 1;
    }

    /** slf4j-simple reads its settings once, so they are set before the first logger exists. */
    private static void configureLogging(String[] args) {
        String level = java.util.Arrays.asList(args).contains("run") ? "info" : "warn"; // the daemon says what it does
        for (String a : args) {
            if (a.equals("-v") || a.equals("--verbose")) {
                level = "info";
            } else if (a.equals("-vv")) {
                level = "debug";
            } else if (a.equals("-q") || a.equals("--quiet")) {
                level = "error";
            }
        }
        System.setProperty("org.slf4j.simpleLogger.defaultLogLevel",
                System.getProperty("org.slf4j.simpleLogger.defaultLogLevel", level));
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        System.setProperty("org.slf4j.simpleLogger.showThreadName", "false");
        System.setProperty("org.slf4j.simpleLogger.showShortLogName", "true");
        System.setProperty("org.slf4j.simpleLogger.levelInBrackets", "true");
    }

    /** The version from the jar manifest. */
    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            String v = DrkitCli.class.getPackage().getImplementationVersion();
            return new String[] {"drkit " + (v == null ? "dev" : v)};
        }
    }
}
