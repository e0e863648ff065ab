package dev.drkit.examples.cli;

import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.crypto.Passphrases;
import dev.drkit.crypto.PgpEncryption;
import dev.drkit.crypto.PgpManifestSigner;
import dev.drkit.spi.EncryptionStage;
import dev.drkit.spi.ManifestSigner;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import picocli.CommandLine.Option;

/** {@code --encrypt-to PUBLIC_KEY_FILE... [--passphrase-file FILE]} for backups. */
final class EncryptionOptions {
    @Option(
            names = "--encrypt-to",
            paramLabel = "PUBLIC_KEY_FILE",
            description = "Encrypt to the OpenPGP public key(s) in this file (repeatable; gpg can open the result).")
    List<Path> publicKeys = new ArrayList<>();

    @Option(
            names = "--passphrase-file",
            paramLabel = "FILE",
            description =
                    "Also (or only) encrypt with the passphrase on the first line of FILE (env DRKIT_PASSPHRASE).")
    Path passphraseFile;

    @Option(
            names = "--sign-with",
            paramLabel = "SECRET_KEY_FILE",
            description = "Sign the manifest with this OpenPGP key (manifest.json.asc; gpg --verify checks it).")
    Path signingKey;

    @Option(names = "--sign-passphrase-file", paramLabel = "FILE", description = "Passphrase of the --sign-with key.")
    Path signingPassphraseFile;

    /**
     * A kit that stores with these options: encrypted as asked, and its manifests and archived
     * files' records signed when a signing key is configured.
     */
    DrKit openKit(GlobalOptions global, PrintWriter err) throws IOException {
        return global.open(err, null, stage(global), null, signer(global), null);
    }

    /** The manifest signer (from the options, else the setup file's {@code sign-with}), or null. */
    ManifestSigner signer(GlobalOptions global) throws IOException {
        Settings setup = global.setupEncryption();
        Path key = signingKey != null ? signingKey : setup.path("sign-with").orElse(null);
        if (key == null) {
            return null;
        }
        Path passphraseFrom = signingKey != null
                ? signingPassphraseFile
                : setup.path("sign-passphrase-file").orElse(null);
        char[] passphrase = passphraseFrom == null ? null : Passphrases.fromFile(passphraseFrom);
        return PgpManifestSigner.fromFile(key, passphrase);
    }

    /**
     * The stage, or null when no encryption was asked for; without options on the command line
     * the setup file's {@code encrypt-to} and {@code passphrase-file} apply.
     */
    EncryptionStage stage(GlobalOptions global) throws IOException {
        List<Path> keys = publicKeys;
        Path passphraseFrom = passphraseFile;
        if (keys.isEmpty() && passphraseFrom == null) {
            Settings setup = global.setupEncryption();
            keys = setup.getAll("encrypt-to").stream().map(Path::of).toList();
            passphraseFrom = setup.path("passphrase-file").orElse(null);
        }
        char[] passphrase = passphraseFrom != null ? Passphrases.fromFile(passphraseFrom) : null;
        if (keys.isEmpty() && passphrase == null) {
            return null;
        }
        PgpEncryption.Builder b = PgpEncryption.builder();
        for (Path p : keys) {
            b.recipients(p);
        }
        if (passphrase != null) {
            b.passphrase(passphrase);
            Arrays.fill(passphrase, '\0');
        }
        return b.build();
    }
}
