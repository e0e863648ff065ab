package dev.drkit.examples.cli;

import dev.drkit.Settings;
import dev.drkit.crypto.Passphrases;
import dev.drkit.crypto.PgpDecryption;
import dev.drkit.crypto.PgpKeys;
import dev.drkit.crypto.PgpManifestVerifier;
import dev.drkit.spi.DecryptionStage;
import dev.drkit.spi.ManifestVerifier;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine.Option;

/** {@code --secret-key FILE... [--passphrase-file FILE]} for restore and verify. */
final class DecryptionOptions {
    @Option(
            names = "--secret-key",
            paramLabel = "FILE",
            description = "OpenPGP secret key file to open encrypted backups (repeatable; env DRKIT_SECRET_KEY "
                    + "may hold an armored key instead).")
    List<Path> secretKeys = new ArrayList<>();

    @Option(
            names = "--passphrase-file",
            paramLabel = "FILE",
            description = "Passphrase of the secret key, or of passphrase-encrypted backups (env DRKIT_PASSPHRASE).")
    Path passphraseFile;

    @Option(
            names = "--trusted-key",
            paramLabel = "PUBLIC_KEY_FILE",
            description = "Refuse backups whose manifest is not signed by this OpenPGP key (env DRKIT_TRUSTED_KEY "
                    + "may name the file).")
    Path trustedKey;

    /** The trusted manifest signatures, or null when none are configured. */
    ManifestVerifier trusted() throws IOException {
        Path file = trustedKeyFile();
        return file == null ? null : PgpManifestVerifier.fromFile(file);
    }

    /** The trusted key's file (the option, else env DRKIT_TRUSTED_KEY), or null when none is configured. */
    Path trustedKeyFile() {
        Path file = trustedKey;
        if (file == null
                && System.getenv("DRKIT_TRUSTED_KEY") != null
                && !System.getenv("DRKIT_TRUSTED_KEY").isBlank()) {
            file = Path.of(System.getenv("DRKIT_TRUSTED_KEY"));
        }
        return file;
    }

    /** The secret key files that apply: the options', else the setup file's {@code secret-key}. */
    List<Path> keyFiles(GlobalOptions global) {
        return secretKeys.isEmpty()
                ? global.setupEncryption().getAll("secret-key").stream()
                        .map(Path::of)
                        .toList()
                : secretKeys;
    }

    /**
     * The passphrase file that applies: the option's, else the setup file's
     * {@code secret-passphrase-file} or {@code passphrase-file}; null when none.
     */
    Path passphraseFileIn(GlobalOptions global) {
        Settings setup = global.setupEncryption();
        return passphraseFile != null
                ? passphraseFile
                : setup.path("secret-passphrase-file")
                        .or(() -> setup.path("passphrase-file"))
                        .orElse(null);
    }

    /**
     * The stage (possibly without keys, so that errors can say what is needed); without keys on
     * the command line the setup file's {@code secret-key} and its passphrase file apply.
     */
    DecryptionStage stage(GlobalOptions global) throws IOException {
        PgpDecryption.Builder b = PgpDecryption.builder();
        for (Path p : keyFiles(global)) {
            b.secretKeys(p);
        }
        Path passphraseFrom = passphraseFileIn(global);
        String fromEnv = System.getenv("DRKIT_SECRET_KEY");
        if (fromEnv != null && !fromEnv.isBlank()) {
            b.secretKeys(PgpKeys.secretKeys(fromEnv, "DRKIT_SECRET_KEY"));
        }
        char[] passphrase = passphraseFrom != null
                ? Passphrases.fromFile(passphraseFrom)
                : Passphrases.fromEnvironment("DRKIT_PASSPHRASE");
        b.passphrase(passphrase);
        if (passphrase != null) {
            Arrays.fill(passphrase, '\0');
        }
        return b.build();
    }
}
