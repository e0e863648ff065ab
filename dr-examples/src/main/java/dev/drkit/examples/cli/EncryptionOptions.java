package dev.drkit.examples.cli;

import dev.drkit.crypto.Passphrases;
import dev.drkit.crypto.PgpEncryption;
import dev.drkit.spi.EncryptionStage;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import picocli.CommandLine.Option;

/** {@code --encrypt-to PUBLIC_KEY_FILE... [--passphrase-file FILE]} for backups. */
final class EncryptionOptions {
    @Option(names = "--encrypt-to", paramLabel = "PUBLIC_KEY_FILE",
            description = "Encrypt to the OpenPGP public key(s) in this file (repeatable; gpg can open the result).")
    List<Path> publicKeys = new ArrayList<>();

    @Option(names = "--passphrase-file", paramLabel = "FILE",
            description = "Also (or only) encrypt with the passphrase on the first line of FILE (env DRKIT_PASSPHRASE).")
    Path passphraseFile;

    @Option(names = "--sign-with", paramLabel = "SECRET_KEY_FILE",
            description = "Sign the manifest with this OpenPGP key (manifest.json.asc; gpg --verify checks it).")
    Path signingKey;

    @Option(names = "--sign-passphrase-file", paramLabel = "FILE",
            description = "Passphrase of the --sign-with key.")
    Path signingPassphraseFile;

    /** The manifest signer, or null. */
    dev.drkit.spi.ManifestSigner signer() throws IOException {
        if (signingKey == null) {
            return null;
        }
        char[] passphrase = signingPassphraseFile == null ? null : Passphrases.fromFile(signingPassphraseFile);
        return dev.drkit.crypto.PgpManifestSigner.fromFile(signingKey, passphrase);
    }

    /** The stage, or null when no encryption was asked for. */
    EncryptionStage stage() throws IOException {
        char[] passphrase = passphraseFile != null ? Passphrases.fromFile(passphraseFile) : null;
        if (publicKeys.isEmpty() && passphrase == null) {
            return null;
        }
        PgpEncryption.Builder b = PgpEncryption.builder();
        for (Path p : publicKeys) {
            b.recipients(p);
        }
        if (passphrase != null) {
            b.passphrase(passphrase);
            java.util.Arrays.fill(passphrase, '\0');
        }
        return b.build();
    }
}
