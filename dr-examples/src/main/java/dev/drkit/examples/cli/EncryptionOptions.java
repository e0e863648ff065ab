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
