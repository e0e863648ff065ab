package dev.drkit.crypto;

import dev.drkit.ConfigException;
import dev.drkit.spi.ManifestSigner;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.Iterator;
import org.bouncycastle.bcpg.ArmoredOutputStream;
import org.bouncycastle.bcpg.HashAlgorithmTags;
import org.bouncycastle.bcpg.sig.KeyFlags;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPPrivateKey;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPSecretKey;
import org.bouncycastle.openpgp.PGPSecretKeyRing;
import org.bouncycastle.openpgp.PGPSecretKeyRingCollection;
import org.bouncycastle.openpgp.PGPSignature;
import org.bouncycastle.openpgp.PGPSignatureGenerator;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPContentSignerBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPDigestCalculatorProviderBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePBESecretKeyDecryptorBuilder;

/**
 * Signs manifests with an OpenPGP signing key (Ed25519 from {@code drkit key generate}, or
 * any key gpg made): an armored detached signature, {@code manifest.json.asc}, that
 * {@code gpg --verify manifest.json.asc manifest.json} checks. Immutable and thread-safe.
 */
public final class PgpManifestSigner implements ManifestSigner {
    private final PGPPrivateKey key;
    private final PGPPublicKey publicKey;

    private PgpManifestSigner(PGPPrivateKey key, PGPPublicKey publicKey) {
        this.key = key;
        this.publicKey = publicKey;
    }

    /** The first signing-capable key in a secret key file, unlocked with {@code passphrase} (or null). */
    public static PgpManifestSigner fromFile(Path secretKeyFile, char[] passphrase) throws IOException {
        return of(PgpKeys.secretKeys(secretKeyFile), passphrase, secretKeyFile.toString());
    }

    public static PgpManifestSigner of(PGPSecretKeyRingCollection keys, char[] passphrase, String what) {
        for (PGPSecretKeyRing ring : keys) {
            for (Iterator<PGPSecretKey> it = ring.getSecretKeys(); it.hasNext(); ) {
                PGPSecretKey secret = it.next();
                if (secret.isSigningKey() && canSign(secret.getPublicKey())) {
                    try {
                        PGPPrivateKey privateKey = secret.extractPrivateKey(
                                new JcePBESecretKeyDecryptorBuilder(new JcaPGPDigestCalculatorProviderBuilder()
                                                .setProvider(Pgp.BC)
                                                .build())
                                        .setProvider(Pgp.BC)
                                        .build(passphrase == null ? new char[0] : passphrase));
                        return new PgpManifestSigner(privateKey, secret.getPublicKey());
                    } catch (PGPException e) {
                        throw new ConfigException("signing key " + Pgp.keyId(secret.getKeyID()) + " in " + what
                                + " cannot be unlocked: wrong or missing passphrase");
                    }
                }
            }
        }
        throw new ConfigException(what + " holds no OpenPGP key that can sign");
    }

    private static boolean canSign(PGPPublicKey k) {
        Iterator<PGPSignature> sigs = k.getSignatures();
        while (sigs.hasNext()) {
            PGPSignature s = sigs.next();
            if (s.getHashedSubPackets() != null && s.getHashedSubPackets().getKeyFlags() != 0) {
                return (s.getHashedSubPackets().getKeyFlags() & KeyFlags.SIGN_DATA) != 0;
            }
        }
        return k.isMasterKey();
    }

    /** The signing key's id. */
    public String keyId() {
        return Pgp.keyId(publicKey.getKeyID());
    }

    @Override
    public String signatureSuffix() {
        return ".asc";
    }

    @Override
    public byte[] sign(byte[] manifest) throws IOException {
        try {
            PGPSignatureGenerator generator = new PGPSignatureGenerator(
                    new JcaPGPContentSignerBuilder(publicKey.getAlgorithm(), HashAlgorithmTags.SHA256)
                            .setProvider(Pgp.BC),
                    publicKey);
            generator.init(PGPSignature.BINARY_DOCUMENT, key);
            generator.update(manifest);
            ByteArrayOutputStream bytes = new ByteArrayOutputStream();
            try (ArmoredOutputStream armored =
                    ArmoredOutputStream.builder().clearHeaders().build(bytes)) {
                generator.generate().encode(armored);
            }
            return bytes.toByteArray();
        } catch (PGPException e) {
            throw new IOException("signing the manifest failed: " + e.getMessage(), e);
        }
    }

    @Override
    public String toString() {
        return "PgpManifestSigner[" + keyId() + "]";
    }
}
