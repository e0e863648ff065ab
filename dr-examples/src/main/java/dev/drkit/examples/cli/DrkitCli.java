package dev.drkit.examples.cli;

import com.github.luben.zstd.Zstd;
import dev.drkit.BackupManifest;
import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.spi.support.Json;
import java.io.IOException;
import java.io.PrintWriter;
import java.lang.reflect.Field;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.DriverManager;
import java.time.Instant;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TimeZone;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/**
 * The {@code drkit} command line. Exit codes: 0 success, 1 the operation failed (one line
 * on stderr that says what failed and what to do), 2 usage error: the command line, or a
 * setup, key or credential file it names, must change; 3 a backup was stored but is
 * incomplete (files changed while they were copied; they are named on stderr).
 */
@Command(
        name = "drkit",
        mixinStandardHelpOptions = true,
        scope = CommandLine.ScopeType.INHERIT,
        versionProvider = DrkitCli.Version.class,
        description = "Backup, restore, verification and retention for files, databases and buckets.")
public final class DrkitCli {
    /** Commands whose own subcommands are added here rather than by their annotation. */
    private static final Map<Class<?>, List<Class<?>>> NESTED = Map.of(BackupCommand.class, BackupCommand.TYPES);

    /** The commands, in the order the usage help lists them. */
    private static final List<Class<?>> COMMANDS = List.of(
            InitCommand.class,
            BackupCommand.class,
            ListCommand.class,
            CheckCommand.class,
            VerifyCommand.class,
            RestoreCommand.class,
            PruneCommand.class,
            CopyCommand.class,
            WalCommands.Push.class,
            WalCommands.Fetch.class,
            WalCommands.Stream.class,
            KeyCommand.class,
            DrillCommand.class,
            ConfigCommand.class,
            RunCommand.class,
            StatusCommand.class,
            RecordTestCommand.class,
            ReportCommand.class,
            TargetsCommand.class,
            HealthCommand.class,
            FailoverCommand.class,
            CommandLine.HelpCommand.class);

    /** Commands that a signal stops by interrupting them, so that they clean up ({@link SignalStop}). */
    private static final Set<String> STOPPABLE = Set.of("backup", "restore");

    static final int FAILED = 1;
    static final int USAGE = CommandLine.ExitCode.USAGE;
    private static final Set<DrException.ErrorCode> USAGE_ERRORS =
            EnumSet.of(DrException.ErrorCode.CONFIG_INVALID, DrException.ErrorCode.PROVIDER_SELECTION);

    @picocli.CommandLine.Mixin
    GlobalOptions global;

    public static void main(String[] args) {
        boolean postgres = false;
        for (String a : args) { // a loop: a stream's lambda is linked on first use, a few ms here
            postgres |= a.contains("postgres");
        }
        TerminalSafeStream.install();
        warmUp(postgres);
        System.exit(run(args));
    }

    /**
     * Readies the JSON mapper (several hundred classes, and its reader and writer machinery) and
     * then zstd on a second thread while picocli builds its command model on this one: less time
     * before a short command starts its real work, which matters for backups run from cron and
     * archive_command. JSON first: opening the kit reads the repository's configuration and
     * writes a lock before anything is compressed (a Redis backup sent its PSYNC about 40 ms
     * sooner with the reading warmed too). Then the secure random generator that backup ids
     * take (its providers: 8 ms). A command that names PostgreSQL also gets the JDBC
     * driver readied before zstd: it connects before it compresses anything, and the driver's
     * first connection in a fresh JVM took about 45 ms, a third of it registering the driver
     * and initialising its classes.
     */
    private static void warmUp(boolean postgres) {
        Thread t = new Thread(
                () -> {
                    try {
                        // picocli reads its annotations through proxy classes the JVM spins on first
                        // use, one per annotation type: spun here while picocli sets itself up
                        for (Field f : BackupCommand.Common.class.getDeclaredFields()) {
                            f.getAnnotations(); // @Option, @Mixin
                        }
                        for (Field f : BackupCommand.Redis.class.getDeclaredFields()) {
                            f.getAnnotations(); // @Spec
                        }
                        Json.read("{\"warm\":[1,\"a\"]}".getBytes(StandardCharsets.US_ASCII), Map.class);
                        Json.mapper().readerFor(BackupManifest.class);
                        Json.write(Map.of("warm", Instant.EPOCH));
                        new SecureRandom().nextInt(); // backup ids; a new repository's id
                        if (postgres) {
                            DriverManager.getDrivers(); // registers the drivers the class path offers
                            Class.forName("org.postgresql.jdbc.PgConnection");
                            TimeZone.getDefault();
                        }
                        // zstd-jni unpacks and loads its native library on first use (about 60 ms here)
                        Zstd.compress(new byte[16]);
                    } catch (IOException | ReflectiveOperationException | RuntimeException | Error e) {
                        // only a head start: a short command may end (and the JVM shut down) before
                        // it is done, and whatever failed here fails again where it is needed
                    }
                },
                "drkit-warm-up");
        t.setDaemon(true);
        t.start();
    }

    /** Runs the CLI and returns its exit code (for tests and embedding). */
    public static int run(String... args) {
        configureLogging(args);
        CommandLine cli = commandLine(args);
        cli.setExecutionExceptionHandler(DrkitCli::onFailure);
        if (cli.getSubcommands().size() == 1
                && STOPPABLE.containsAll(cli.getSubcommands().keySet())) {
            return SignalStop.around(() -> cli.execute(args));
        }
        return cli.execute(args);
    }

    /**
     * The command line for these arguments; without any, the whole command line (for usage help
     * and tests). picocli builds the model of every command it is given up front (about a seventh
     * of a second of CPU at each start, much of it in picocli's own classes, which class-data
     * sharing can keep only because the build rewrites their Java 5 class files, see
     * dr-build-tools); when the arguments name one command, only that one is built, and of a
     * command with subcommands of its own ({@code backup redis}) only the one named. Usage help,
     * {@code help}, and a name that is no command get all of them at that level, so that the
     * listing and picocli's suggestions stay complete.
     */
    static CommandLine commandLine(String... args) {
        CommandLine cli = new CommandLine(new DrkitCli());
        addCommands(cli, COMMANDS, args, 0);
        // registered after the commands: picocli gives a converter to the commands already added
        cli.registerConverter(Path.class, DrkitCli::path);
        return cli;
    }

    /**
     * Adds to {@code cli} the one of {@code commands} that the arguments from {@code from} on name
     * (every one when they name none, or when {@code args} is null), each with its own
     * subcommands chosen the same way.
     */
    private static void addCommands(CommandLine cli, List<Class<?>> commands, String[] args, int from) {
        int at = args == null ? -1 : commandAt(cli.getCommandSpec(), commands, args, from);
        Class<?> only = at < 0 ? null : commandOf(commands, args[at]);
        for (Class<?> command : commands) {
            if (only == null || only == command) {
                cli.addSubcommand(command);
                List<Class<?>> nested = NESTED.get(command);
                if (nested != null) {
                    CommandLine sub = cli.getSubcommands().get(nameOf(command));
                    addCommands(sub, nested, only == null ? null : args, at + 1);
                }
            }
        }
    }

    /**
     * A path option or parameter: an empty one is a usage error, since Path.of("") is the current
     * directory (keys were written there, a setup file was "a directory", wal-push named it).
     */
    private static Path path(String value) {
        if (value.isEmpty()) {
            throw new CommandLine.TypeConversionException("an empty path names no file or directory");
        }
        return Path.of(value);
    }

    private static String nameOf(Class<?> command) {
        return command.getAnnotation(Command.class).name();
    }

    private static Class<?> commandOf(List<Class<?>> commands, String name) {
        for (Class<?> command : commands) {
            if (command != CommandLine.HelpCommand.class && nameOf(command).equals(name)) {
                return command;
            }
        }
        return null;
    }

    /**
     * Where among the arguments from {@code from} on the command stands that they name, or -1
     * when that is not one of {@code commands} (or help is asked).
     */
    private static int commandAt(CommandLine.Model.CommandSpec spec, List<Class<?>> commands, String[] args, int from) {
        for (int i = from; i < args.length; i++) {
            String arg = args[i];
            if (arg.equals("--")) {
                return -1;
            }
            if (arg.startsWith("-")) {
                CommandLine.Model.OptionSpec option = spec.findOption(arg);
                if (option == null) {
                    if (!arg.contains("=") && !arg.matches("-[qv]+")) {
                        return -1; // not an option of this command: let picocli say what it is
                    }
                } else if (option.usageHelp() || option.versionHelp()) {
                    return -1;
                } else if (option.arity().max() > 0) {
                    i++; // its value
                }
                continue;
            }
            return commandOf(commands, arg) == null ? -1 : i;
        }
        return -1;
    }

    /**
     * The one place that turns a failure into an exit code: invalid configuration (a
     * {@link dev.drkit.ConfigException}) or a repository URI no storage serves means the command
     * line, or a setup or key file it names, must change: a usage error (2) like the ones
     * picocli finds. Anything else is a failed operation (1). The library's settings keys and API
     * terms in the message become this CLI's flags and commands ({@link MessageFlags}).
     */
    private static int onFailure(Exception e, CommandLine cmd, CommandLine.ParseResult parsed) {
        return report(e, cmd, "");
    }

    /**
     * Says a failure on stderr as {@link #onFailure} does, after {@code what} (what failed, when
     * a command goes on with other work after it), and returns its exit code.
     */
    static int report(Exception e, CommandLine cmd, String what) {
        PrintWriter err = cmd.getErr();
        // a message may quote what a forged repository holds: no control characters reach the terminal
        String message = e instanceof DrException && e.getMessage() != null
                ? e.getMessage()
                : cmd.getCommandName() + " failed: " + describe(e);
        if (SignalStop.signalled()) {
            String command = cmd.getCommandSpec().qualifiedName(" ").replaceFirst("^drkit ", "");
            message = command + " stopped by a signal (Ctrl-C or SIGTERM) before it finished: " + message;
        }
        if (e instanceof ConfigException c && c.problems().size() > 1 && !SignalStop.signalled()) {
            // every problem on a line of its own (cleaned one by one: none can forge another line)
            err.println("drkit: " + GlobalOptions.safe(what + c.problems().size() + " configuration problems:"));
            c.problems().forEach(p -> err.println("  " + GlobalOptions.safe(MessageFlags.forCli(p))));
        } else {
            err.println("drkit: " + GlobalOptions.safe(MessageFlags.forCli(what + message)));
        }
        if (GlobalOptions.of(cmd.getCommandSpec()).verbosity() >= 2) {
            e.printStackTrace(err);
        }
        err.flush();
        return e instanceof DrException d && USAGE_ERRORS.contains(d.code()) ? USAGE : FAILED;
    }

    /** What went wrong in words; the exception's class name only when there are no words. */
    private static String describe(Exception e) {
        if (e instanceof NoSuchFileException n) {
            return n.getFile() + " does not exist";
        }
        if (e instanceof AccessDeniedException a) {
            return "permission denied: " + a.getFile();
        }
        // the JDK's file exceptions often carry only the path as their message
        if (e instanceof FileAlreadyExistsException f && f.getReason() == null) {
            return f.getFile() + " already exists";
        }
        if (e instanceof NotDirectoryException n) {
            return n.getFile() + " is not a directory";
        }
        if (e instanceof FileSystemException f && f.getReason() != null && f.getFile() != null) {
            return f.getFile() + ": " + f.getReason();
        }
        return e.getMessage() != null ? e.getMessage() : e.getClass().getSimpleName();
    }

    /**
     * slf4j-simple reads its settings once, so they are set before the first logger exists,
     * from the arguments as given: drkit's own loggers say what happens with {@code -v} and how
     * with {@code -vv}; {@code -vvv} opens every library's debug log too.
     */
    private static void configureLogging(String[] args) {
        int verbosity = count(List.of(args), 'v', "--verbose");
        boolean quiet = count(List.of(args), 'q', "--quiet") > 0;
        String drkit = quiet
                ? "error"
                : verbosity >= 2
                        ? "debug"
                        : verbosity == 1
                                ? "info"
                                : Arrays.asList(args).contains("run") ? "info" : "warn"; // the daemon says what it does
        String others = quiet ? "error" : verbosity >= 3 ? "debug" : "warn";
        boolean levelGiven = System.getProperty("org.slf4j.simpleLogger.defaultLogLevel") != null;
        setDefault("org.slf4j.simpleLogger.defaultLogLevel", others);
        if (!levelGiven) {
            setDefault("org.slf4j.simpleLogger.log.dev.drkit", drkit);
            // a backup's warnings are printed from their events, in this CLI's words (GlobalOptions)
            setDefault("org.slf4j.simpleLogger.log.dev.drkit.warnings", "off");
        }
        System.setProperty("org.slf4j.simpleLogger.logFile", "System.err");
        System.setProperty("org.slf4j.simpleLogger.showThreadName", "false");
        // a Java class name is no word for an operator: it says where only with -vv (how)
        System.setProperty("org.slf4j.simpleLogger.showShortLogName", String.valueOf(verbosity >= 2));
        System.setProperty("org.slf4j.simpleLogger.showLogName", "false");
        System.setProperty("org.slf4j.simpleLogger.levelInBrackets", "true");
    }

    /** How often -v was given, before or after the command name (picocli keeps only one side's). */
    static int verbosity(List<String> args) {
        return count(args, 'v', "--verbose");
    }

    /** How often a flag of the global options appears, alone or clustered ({@code -vv}, {@code -qv}). */
    private static int count(List<String> args, char shortName, String longName) {
        int n = 0;
        for (String a : args) {
            if (a.equals("--")) {
                break;
            } else if (a.equals(longName)) {
                n++;
            } else if (a.matches("-[hqvV]+")) {
                n += (int) a.chars().filter(c -> c == shortName).count();
            }
        }
        return n;
    }

    /** A level given with -D on the java command line wins. */
    private static void setDefault(String property, String value) {
        System.setProperty(property, System.getProperty(property, value));
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
