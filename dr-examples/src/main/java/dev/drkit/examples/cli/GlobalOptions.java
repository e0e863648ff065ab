package dev.drkit.examples.cli;

import dev.drkit.ConfigException;
import dev.drkit.DrKit;
import dev.drkit.DrKitConfig;
import dev.drkit.core.repo.Json;
import java.io.PrintWriter;
import picocli.CommandLine.Option;
import picocli.CommandLine.ScopeType;

/** Options every command takes, before or after the command name. */
final class GlobalOptions {
    @Option(names = "--repo", paramLabel = "URI", scope = ScopeType.INHERIT,
            description = "Repository: file:/path or a plain path (env DRKIT_REPO).")
    String repo;

    @Option(names = "--json", scope = ScopeType.INHERIT, description = "Machine-readable output on stdout.")
    boolean json;

    @Option(names = {"-q", "--quiet"}, scope = ScopeType.INHERIT, description = "Only errors on stderr.")
    boolean quiet;

    @Option(names = {"-v", "--verbose"}, scope = ScopeType.INHERIT, description = "Log what happens on stderr.")
    boolean verbose;

    @Option(names = "--lock-wait", paramLabel = "DURATION", scope = ScopeType.INHERIT,
            description = "How long to wait for a lock held by another process (default: fail at once).")
    String lockWait;

    /** The options given on the command line, wherever they stood. */
    static GlobalOptions of(picocli.CommandLine.Model.CommandSpec spec) {
        return ((DrkitCli) spec.root().userObject()).global;
    }

    /** The repository given by --repo or DRKIT_REPO, or null. */
    String repository() {
        String uri = repo != null ? repo : System.getenv("DRKIT_REPO");
        return uri == null || uri.isBlank() ? null : uri;
    }

    /** Opens the kit on the repository given by --repo or DRKIT_REPO. */
    DrKit open(PrintWriter err, String compression) {
        return open(err, compression, null, null, null, null);
    }

    /** Opens the kit with encryption for new artifacts and/or decryption keys for reading. */
    DrKit open(PrintWriter err, String compression, dev.drkit.spi.EncryptionStage encryption,
               dev.drkit.spi.DecryptionStage decryption, dev.drkit.spi.ManifestSigner signer,
               dev.drkit.spi.ManifestVerifier trusted) {
        String uri = repo != null ? repo : System.getenv("DRKIT_REPO");
        if (uri == null || uri.isBlank()) {
            throw new ConfigException("no repository: give --repo URI (e.g. --repo /var/backups/drkit) or set DRKIT_REPO");
        }
        DrKitConfig.Builder config = DrKitConfig.builder().repository(uri);
        if (compression != null) {
            config.compression(compression);
        }
        if (lockWait != null) {
            config.lockWait(dev.drkit.Settings.parseDuration("--lock-wait", lockWait));
        }
        DrKit.Builder b = DrKit.builder().config(config.build()).encryption(encryption).decryption(decryption)
                .signer(signer).trustedSignatures(trusted);
        if (!quiet && !json && System.console() != null) {
            b.listener(new ConsoleProgress(err));
        }
        return b.build();
    }

    /** Prints one JSON document on stdout. */
    static void printJson(PrintWriter out, Object value) {
        out.println(new String(Json.write(value), java.nio.charset.StandardCharsets.UTF_8));
        out.flush();
    }
}
