package dev.drkit.examples.cli;

import dev.drkit.ConfigException;
import dev.drkit.DrEvent;
import dev.drkit.DrKit;
import dev.drkit.DrKitConfig;
import dev.drkit.DrListener;
import dev.drkit.Settings;
import dev.drkit.notify.LoggingListener;
import dev.drkit.setup.Setup;
import dev.drkit.setup.SetupFile;
import dev.drkit.spi.DecryptionStage;
import dev.drkit.spi.EncryptionStage;
import dev.drkit.spi.ManifestSigner;
import dev.drkit.spi.ManifestVerifier;
import dev.drkit.spi.support.Json;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** Options every command takes, before or after the command name. */
final class GlobalOptions {
    @Option(
            names = "--repo",
            paramLabel = "URI",
            scope = ScopeType.INHERIT,
            description = "Repository: file:/path or a plain path (env DRKIT_REPO).")
    String repo;

    @Option(
            names = "--config",
            paramLabel = "FILE",
            scope = ScopeType.INHERIT,
            description = "Declarative setup (drkit.yaml): repository, copies, targets, keys, retention, schedules, "
                    + "objectives (env DRKIT_CONFIG).")
    Path config;

    private Setup setup;

    @Option(names = "--json", scope = ScopeType.INHERIT, description = "Machine-readable output on stdout.")
    boolean json;

    @Option(
            names = {"-q", "--quiet"},
            scope = ScopeType.INHERIT,
            description = "Only errors on stderr.")
    boolean quiet;

    @Option(
            names = {"-v", "--verbose"},
            scope = ScopeType.INHERIT,
            description = "Log what happens on stderr; -vv also how (debug), -vvv every library's debug log too.")
    boolean[] verbose = new boolean[0];

    @Option(
            names = "--lock-wait",
            paramLabel = "DURATION",
            scope = ScopeType.INHERIT,
            description = "How long to wait for a lock held by another process (default: fail at once).")
    String lockWait;

    @Option(
            names = "--dedup-key-file",
            paramLabel = "FILE",
            scope = ScopeType.INHERIT,
            description = "Chunk key for deduplicated encrypted backups: 64 hex digits (openssl rand -hex 32), "
                    + "readable only by its owner, the same on every host backing up into the repository.")
    Path dedupKeyFile;

    @picocli.CommandLine.Spec(picocli.CommandLine.Spec.Target.MIXEE)
    picocli.CommandLine.Model.CommandSpec mixee;

    /** How often -v was given: 0 warnings only, 1 what happens, 2 and more also how. */
    int verbosity() {
        picocli.CommandLine.ParseResult parsed = mixee.commandLine().getParseResult();
        return parsed == null ? verbose.length : DrkitCli.verbosity(parsed.originalArgs());
    }

    /** The options given on the command line, wherever they stood. */
    static GlobalOptions of(picocli.CommandLine.Model.CommandSpec spec) {
        return ((DrkitCli) spec.root().userObject()).global;
    }

    /** The repository given by --repo or DRKIT_REPO, else the setup file's, or null. */
    String repository() {
        String uri = repo != null ? repo : System.getenv("DRKIT_REPO");
        if ((uri == null || uri.isBlank()) && setup() != null) {
            uri = setup().repository();
        }
        return uri == null || uri.isBlank() ? null : uri;
    }

    /** The setup file given by --config or DRKIT_CONFIG (read and checked once), or null. */
    Setup setup() {
        if (setup == null) {
            Path file = config;
            String env = System.getenv("DRKIT_CONFIG");
            if (file == null && env != null && !env.isBlank()) {
                file = Path.of(env);
            }
            if (file != null) {
                setup = SetupFile.load(file);
            }
        }
        return setup;
    }

    /** The setup file, or an error saying the command needs one. */
    Setup requireSetup(String what) {
        if (setup() == null) {
            throw new ConfigException(what + " needs a setup file: give --config drkit.yaml (or set DRKIT_CONFIG)");
        }
        return setup();
    }

    /** The setup's keys ({@code encrypt-to}, {@code secret-key}, ...), empty without a setup. */
    Settings setupEncryption() {
        return setup() == null ? Settings.empty() : setup().encryption();
    }

    /**
     * The options of a target: the setup's for that target (when there is one) overlaid by the
     * ones given on the command line, key by key.
     */
    Settings targetOptions(String name, Settings fromCommandLine) {
        if (setup() == null || !setup().targets().containsKey(name)) {
            return fromCommandLine;
        }
        return setup().target(name).settings().overlaidBy(fromCommandLine);
    }

    /** Opens the kit on the repository given by --repo or DRKIT_REPO. */
    DrKit open(PrintWriter err, String compression) {
        return open(err, compression, null, null, null, null);
    }

    /** Opens the kit with encryption for new artifacts and/or decryption keys for reading. */
    DrKit open(
            PrintWriter err,
            String compression,
            EncryptionStage encryption,
            DecryptionStage decryption,
            ManifestSigner signer,
            ManifestVerifier trusted) {
        return open(err, compression, encryption, decryption, signer, trusted, List.of());
    }

    /** {@link #open(PrintWriter, String)} with keys and extra listeners (the daemon's). */
    DrKit open(
            PrintWriter err,
            String compression,
            EncryptionStage encryption,
            DecryptionStage decryption,
            ManifestSigner signer,
            ManifestVerifier trusted,
            List<DrListener> listeners) {
        String uri = repository();
        if (uri == null) {
            throw new ConfigException(
                    "no repository: give --repo URI (e.g. --repo /var/backups/drkit), set DRKIT_REPO, "
                            + "or name one in the --config file");
        }
        DrKitConfig.Builder config = DrKitConfig.builder().repository(uri);
        if (compression == null && setup() != null) {
            compression = setup().compression();
        }
        if (compression != null) {
            config.compression(compression);
        }
        if (lockWait != null) {
            config.lockWait(Settings.parseDuration("--lock-wait", lockWait));
        }
        if (dedupKeyFile != null) {
            config.dedupKeyFile(dedupKeyFile);
        }
        DrKit.Builder b = DrKit.builder()
                .config(config.build())
                .encryption(encryption)
                .decryption(decryption)
                .signer(signer)
                .trustedSignatures(trusted);
        if (!quiet && !json && System.console() != null) {
            b.listener(new ConsoleProgress(TerminalSafeStream.progressWriter(err)));
        }
        // which backup a command used is not noise: passing over a damaged one is said even when
        // warnings are silenced (otherwise the library's warning says it); a target's warning during a
        // backup (e.g. a fallback to a mode that is not point-in-time) or a restore (replicas that had
        // not caught up) is said with this CLI's flags
        // (DrkitCli silences the library's log line for it)
        b.listener(new DrListener() {
            @Override
            public void onEvent(DrEvent event) {
                String line = null;
                if (quiet && event.type() == DrEvent.Type.DAMAGED_BACKUP_SKIPPED) {
                    line = event.message();
                } else if (!quiet
                        && (event.type() == DrEvent.Type.BACKUP_WARNING
                                || event.type() == DrEvent.Type.RESTORE_WARNING)) {
                    line = "warning: " + event.target() + ": " + event.message();
                }
                if (line != null) {
                    err.println("drkit: " + safe(MessageFlags.forCli(line)));
                    err.flush();
                }
            }
        });
        listeners.forEach(b::listener);
        if (verbosity() > 0 && listeners.stream().noneMatch(l -> l instanceof LoggingListener)) {
            b.listener(new LoggingListener()); // -v: each step of the operation on stderr
        }
        return b.build();
    }

    /**
     * Text that came from a repository (object names, reasons that quote a document), fit for a
     * terminal: control characters, which could forge lines or send escapes, become {@code ?}.
     */
    static String safe(String text) {
        StringBuilder b = new StringBuilder(text.length());
        text.codePoints()
                .forEach(c -> b.appendCodePoint(
                        Character.isISOControl(c) || Character.getType(c) == Character.FORMAT ? '?' : c));
        return b.toString();
    }

    /** Prints one JSON document on stdout. */
    static void printJson(PrintWriter out, Object value) {
        out.println(new String(Json.write(value), StandardCharsets.UTF_8));
        out.flush();
    }
}
