package dev.drkit.crypto;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.Date;
import org.bouncycastle.bcpg.ArmoredOutputStream;
import org.bouncycastle.bcpg.HashAlgorithmTags;
import org.bouncycastle.bcpg.SymmetricKeyAlgorithmTags;
import org.bouncycastle.openpgp.PGPEncryptedDataGenerator;
import org.bouncycastle.openpgp.PGPPrivateKey;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPSecretKeyRingCollection;
import org.bouncycastle.openpgp.PGPSignature;
import org.bouncycastle.openpgp.PGPSignatureGenerator;
import org.bouncycastle.openpgp.PGPSignatureSubpacketGenerator;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPContentSignerBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePGPDataEncryptorBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcePublicKeyKeyEncryptionMethodGenerator;

/** Key pairs for tests, generated once per JVM (generation is cheap with curve25519, but still). */
final class TestKeys {
    private static PgpKeys.Generated pair;
    private static PgpKeys.Generated other;

    private TestKeys() {}

    static synchronized PgpKeys.Generated pair() {
        if (pair == null) {
            pair = PgpKeys.generate("drkit test <test@drkit.dev>", null);
        }
        return pair;
    }

    static synchronized PgpKeys.Generated other() {
        if (other == null) {
            other = PgpKeys.generate("drkit other <other@drkit.dev>", null);
        }
        return other;
    }

    static PGPPublicKey encryptionKey(PgpKeys.Generated g) throws IOException {
        return PgpKeys.encryptionKeys(new ByteArrayInputStream(g.publicArmored()), "test key")
                .get(0);
    }

    /** A generator of messages encrypted (with an integrity packet) to {@link #pair()}, as gpg writes them. */
    static PGPEncryptedDataGenerator encryptorToPair() throws IOException {
        PGPEncryptedDataGenerator generator =
                new PGPEncryptedDataGenerator(new JcePGPDataEncryptorBuilder(SymmetricKeyAlgorithmTags.AES_256)
                        .setWithIntegrityPacket(true)
                        .setProvider(CfbProvider.INSTANCE)
                        .setSecureRandom(new SecureRandom()));
        generator.addMethod(new JcePublicKeyKeyEncryptionMethodGenerator(encryptionKey(pair())).setProvider(Pgp.BC));
        return generator;
    }

    static PGPSecretKeyRingCollection secretKeys(PgpKeys.Generated g) throws IOException {
        return PgpKeys.secretKeys(new ByteArrayInputStream(g.secretArmored()), "test key");
    }

    /**
     * An armored detached signature of {@code doc} by {@code key} (SHA-256), dated {@code at}
     * (null: now), as a manifest signer writes one.
     */
    static byte[] detached(PGPPrivateKey key, PGPPublicKey pub, byte[] doc, Instant at) throws Exception {
        PGPSignatureGenerator gen = new PGPSignatureGenerator(
                new JcaPGPContentSignerBuilder(pub.getAlgorithm(), HashAlgorithmTags.SHA256).setProvider(Pgp.BC), pub);
        gen.init(PGPSignature.BINARY_DOCUMENT, key);
        if (at != null) {
            PGPSignatureSubpacketGenerator when = new PGPSignatureSubpacketGenerator();
            when.setSignatureCreationTime(false, Date.from(at));
            gen.setHashedSubpackets(when.generate());
        }
        gen.update(doc);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (ArmoredOutputStream armored = ArmoredOutputStream.builder().build(bytes)) {
            gen.generate().encode(armored);
        }
        return bytes.toByteArray();
    }
}
