package dev.drkit.examples.cli;

import dev.drkit.crypto.Passphrases;
import dev.drkit.crypto.PgpKeys;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/** {@code drkit key generate --out DIR}. */
@Command(name = "key", description = "OpenPGP keys for encrypted backups.", subcommands = KeyCommand.Generate.class)
final class KeyCommand {

    @Command(
            name = "generate",
            description = "Write public.asc (for the backup host) and secret.asc (keep it "
                    + "offline) into DIR: an Ed25519 key with an X25519 encryption subkey, as gpg makes them.")
    static final class Generate implements Callable<Integer> {
        @Spec
        CommandSpec spec;

        @Option(names = "--out", required = true, paramLabel = "DIR", description = "Where to write the key files.")
        Path out;

        @Option(
                names = "--passphrase-file",
                paramLabel = "FILE",
                description = "Protect secret.asc with the passphrase on the first line of FILE.")
        Path passphraseFile;

        @Option(
                names = "--user-id",
                paramLabel = "TEXT",
                defaultValue = "drkit backups",
                description = "The key's user id (default: ${DEFAULT-VALUE}).")
        String userId;

        @Override
        public Integer call() throws IOException {
            GlobalOptions global = GlobalOptions.of(spec);
            char[] passphrase = passphraseFile == null ? null : Passphrases.fromFile(passphraseFile);
            PgpKeys.Generated g = PgpKeys.writeTo(out, userId, passphrase);
            PrintWriter o = spec.commandLine().getOut();
            if (global.json) {
                GlobalOptions.printJson(
                        o,
                        Map.of(
                                "encryptionKeyId",
                                g.keyId(),
                                "publicKey",
                                out.resolve("public.asc").toString(),
                                "secretKey",
                                out.resolve("secret.asc").toString()));
            } else {
                o.println("wrote " + out.resolve("public.asc") + " and " + out.resolve("secret.asc") + " (mode 600)");
                o.println("encryption key id " + g.keyId() + ": back up with --encrypt-to " + out.resolve("public.asc")
                        + ", restore with --secret-key " + out.resolve("secret.asc"));
            }
            o.flush();
            return 0;
        }
    }
}
