package dev.drkit.crypto;

import dev.drkit.ConfigException;
import dev.drkit.spi.EncryptionStage;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import org.bouncycastle.bcpg.HashAlgorithmTags;
import org.bouncycastle.bcpg.SymmetricKeyAlgorithmTags;
import org.bouncycastle.openpgp.PGPEncryptedDataGenerator;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPLiteralData;
import org.bouncycastle.openpgp.PGPLiteralDataGenerator;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPDigestCalculatorProviderBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePBEKeyEncryptionMethodGenerator;
import org.bouncycastle.openpgp.operator.jcajce.JcePGPDataEncryptorBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePublicKeyKeyEncryptionMethodGenerator;

/**
 * Encrypts artifacts as OpenPGP messages that {@code gpg --decrypt} opens: AES-256 in a
 * symmetrically encrypted, integrity-protected data packet (SEIPD v1 with MDC, RFC 4880),
 * streamed with partial-length packets, without OpenPGP compression (drkit compresses first).
 * The session key is encrypted to every recipient key and/or a passphrase (iterated and
 * salted S2K, SHA-256), so old backups stay readable with an old key after rotation and an
 * escrow key can open everything. Bulk AES runs on the JDK's AES-NI through
 * {@link OpenPgpCfbCipher}.
 * Immutable and thread-safe.
 */
public final class PgpEncryption implements EncryptionStage {
    private static final int PACKET_BUFFER = 1 << 16;

    private final List<PGPPublicKey> keys;
    private final char[] passphrase;
    private final SecureRandom random = new SecureRandom();

    private PgpEncryption(List<PGPPublicKey> keys, char[] passphrase) {
        this.keys = List.copyOf(keys);
        this.passphrase = passphrase == null ? null : passphrase.clone();
    }

    public static Builder builder() {
        return new Builder();
    }

    @Override
    public String codecName() {
        return "pgp";
    }

    @Override
    public String extension() {
        return ".pgp";
    }

    @Override
    public List<String> recipients() {
        List<String> r = new ArrayList<>();
        keys.forEach(k -> r.add(Pgp.keyId(k.getKeyID())));
        if (passphrase != null) {
            r.add("passphrase");
        }
        return r;
    }

    @Override
    public OutputStream encrypt(OutputStream stored, String name) throws IOException {
        PGPEncryptedDataGenerator generator =
                new PGPEncryptedDataGenerator(new JcePGPDataEncryptorBuilder(SymmetricKeyAlgorithmTags.AES_256)
                        .setWithIntegrityPacket(true)
                        .setProvider(CfbProvider.INSTANCE)
                        .setSecureRandom(random));
        for (PGPPublicKey k : keys) {
            generator.addMethod(new JcePublicKeyKeyEncryptionMethodGenerator(k)
                    .setProvider(Pgp.BC)
                    .setSecureRandom(random));
        }
        if (passphrase != null) {
            try {
                generator.addMethod(new JcePBEKeyEncryptionMethodGenerator(
                                passphrase,
                                new JcaPGPDigestCalculatorProviderBuilder()
                                        .build()
                                        .get(HashAlgorithmTags.SHA256),
                                0xff)
                        .setSecureRandom(random));
            } catch (PGPException e) {
                throw new IOException("setting up passphrase encryption failed: " + e.getMessage(), e);
            }
        }
        try {
            OutputStream encrypted = generator.open(stored, new byte[PACKET_BUFFER]);
            PGPLiteralDataGenerator literal = new PGPLiteralDataGenerator();
            OutputStream data =
                    literal.open(encrypted, PGPLiteralData.BINARY, name, new Date(), new byte[PACKET_BUFFER]);
            return new FilterOutputStream(data) {
                private boolean closed;

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    out.write(b, off, len);
                }

                @Override
                public void close() throws IOException {
                    if (closed) {
                        return;
                    }
                    closed = true;
                    literal.close();
                    generator.close();
                    stored.close();
                }
            };
        } catch (PGPException e) {
            throw new IOException("starting OpenPGP encryption failed: " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "PgpEncryption" + recipients(); // key ids only, never the passphrase
    }

    /** Builder; not thread-safe. */
    public static final class Builder {
        private final List<PGPPublicKey> keys = new ArrayList<>();
        private char[] passphrase;

        /** Adds every encryption key in an armored or binary public key file. */
        public Builder recipients(Path publicKeyFile) throws IOException {
            keys.addAll(PgpKeys.encryptionKeys(publicKeyFile));
            return this;
        }

        public Builder recipient(PGPPublicKey key) {
            if (!key.isEncryptionKey()) {
                throw new IllegalArgumentException("key " + Pgp.keyId(key.getKeyID()) + " cannot encrypt");
            }
            keys.add(key);
            return this;
        }

        /** Also lets a passphrase open the backups (copied; clear your array afterwards). */
        public Builder passphrase(char[] passphrase) {
            if (passphrase == null || passphrase.length == 0) {
                throw new IllegalArgumentException("passphrase must not be empty");
            }
            this.passphrase = Arrays.copyOf(passphrase, passphrase.length);
            return this;
        }

        public PgpEncryption build() {
            if (keys.isEmpty() && passphrase == null) {
                throw new ConfigException("encryption needs at least one recipient key (setting 'encrypt-to') "
                        + "or a passphrase (setting 'passphrase-file')");
            }
            return new PgpEncryption(keys, passphrase);
        }
    }
}
