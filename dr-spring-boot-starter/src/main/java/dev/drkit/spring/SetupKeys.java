package dev.drkit.spring;

import dev.drkit.ConfigException;
import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.crypto.Passphrases;
import dev.drkit.crypto.PgpDecryption;
import dev.drkit.crypto.PgpEncryption;
import dev.drkit.crypto.PgpManifestSigner;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import org.springframework.util.ClassUtils;

/**
 * The setup's {@code drkit.encryption.*} keys on the kit's builder, as the setup file's: new
 * artifacts encrypted to {@code encrypt-to} and/or with {@code passphrase-file}, manifests signed
 * with {@code sign-with}, and backups opened (for verification and restores) with {@code
 * secret-key} or the passphrase. Uses dr-crypto, which the application adds when it encrypts.
 */
final class SetupKeys {
    private static final String WHERE = SpringSetupReader.PREFIX + ".encryption";

    private SetupKeys() {}

    static void apply(Settings keys, DrKit.Builder builder) {
        if (keys.keys().isEmpty()) {
            return;
        }
        if (!ClassUtils.isPresent("dev.drkit.crypto.PgpEncryption", SetupKeys.class.getClassLoader())) {
            throw new ConfigException(WHERE + " is set, but encryption needs the module dr-crypto: add the "
                    + "dependency dev.drkit:dr-crypto to the application");
        }
        Crypto.apply(keys, builder);
    }

    /** Separate, so that dr-crypto's classes are loaded only when the application has them. */
    private static final class Crypto {
        static void apply(Settings keys, DrKit.Builder builder) {
            try {
                List<Path> recipients =
                        keys.getAll("encrypt-to").stream().map(Path::of).toList();
                char[] passphrase =
                        keys.path("passphrase-file").map(Passphrases::fromFile).orElse(null);
                if (!recipients.isEmpty() || passphrase != null) {
                    PgpEncryption.Builder encryption = PgpEncryption.builder();
                    for (Path p : recipients) {
                        encryption.recipients(p);
                    }
                    if (passphrase != null) {
                        encryption.passphrase(passphrase);
                    }
                    builder.encryption(encryption.build());
                }
                List<Path> secretKeys =
                        keys.getAll("secret-key").stream().map(Path::of).toList();
                if (!secretKeys.isEmpty() || passphrase != null) {
                    PgpDecryption.Builder decryption = PgpDecryption.builder();
                    for (Path p : secretKeys) {
                        decryption.secretKeys(p);
                    }
                    char[] secretPassphrase = keys.path("secret-passphrase-file")
                            .map(Passphrases::fromFile)
                            .orElse(passphrase);
                    decryption.passphrase(secretPassphrase);
                    builder.decryption(decryption.build());
                    wipe(secretPassphrase);
                }
                wipe(passphrase);
                if (keys.has("sign-with")) {
                    char[] signPassphrase = keys.path("sign-passphrase-file")
                            .map(Passphrases::fromFile)
                            .orElse(null);
                    builder.signer(
                            PgpManifestSigner.fromFile(keys.path("sign-with").orElseThrow(), signPassphrase));
                    wipe(signPassphrase);
                }
            } catch (ConfigException e) {
                throw new ConfigException(WHERE + ": " + e.getMessage(), e); // which setting named the file
            } catch (IOException e) {
                throw new ConfigException(
                        WHERE + ": cannot read a key file: " + e.getMessage()
                                + "; check that the files named there exist and are readable by the application",
                        e);
            }
        }

        private static void wipe(char[] secret) {
            if (secret != null) {
                Arrays.fill(secret, '\0');
            }
        }
    }
}
