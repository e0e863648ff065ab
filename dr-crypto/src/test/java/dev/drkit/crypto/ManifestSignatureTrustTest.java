package dev.drkit.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.util.Date;
import java.util.List;
import org.bouncycastle.bcpg.HashAlgorithmTags;
import org.bouncycastle.bcpg.PublicKeyAlgorithmTags;
import org.bouncycastle.bcpg.sig.KeyFlags;
import org.bouncycastle.openpgp.PGPKeyPair;
import org.bouncycastle.openpgp.PGPKeyRingGenerator;
import org.bouncycastle.openpgp.PGPPrivateKey;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPPublicKeyRing;
import org.bouncycastle.openpgp.PGPPublicKeyRingCollection;
import org.bouncycastle.openpgp.PGPSecretKeyRing;
import org.bouncycastle.openpgp.PGPSecretKeyRingCollection;
import org.bouncycastle.openpgp.PGPSignature;
import org.bouncycastle.openpgp.PGPSignatureGenerator;
import org.bouncycastle.openpgp.PGPSignatureSubpacketGenerator;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPContentSignerBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPDigestCalculatorProviderBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPKeyPair;
import org.junit.jupiter.api.Test;

/**
 * A trusted key file names who may sign manifests; not every key packet in it may. A key that
 * is revoked, a subkey that may only encrypt, and a subkey the primary never bound (keyservers
 * accept any packet appended to a certificate) must not make a manifest believed.
 */
class ManifestSignatureTrustTest {
    private static final byte[] MANIFEST =
            "{\"target\":\"config\",\"id\":\"20250103T030000Z-3f9a1c\"}".getBytes(StandardCharsets.UTF_8);

    private static PGPKeyPair rsa() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA", Pgp.BC);
        g.initialize(2048);
        return new JcaPGPKeyPair(PublicKeyAlgorithmTags.RSA_GENERAL, g.generateKeyPair(), new Date());
    }

    private static JcaPGPContentSignerBuilder signerFor(PGPPublicKey key) {
        return new JcaPGPContentSignerBuilder(key.getAlgorithm(), HashAlgorithmTags.SHA256).setProvider(Pgp.BC);
    }

    /** An RSA key as gpg makes one: a primary that certifies and signs, a subkey that only encrypts. */
    private static PGPKeyRingGenerator certifyingPrimary(PGPKeyPair primary) throws Exception {
        PGPSignatureSubpacketGenerator flags = new PGPSignatureSubpacketGenerator();
        flags.setKeyFlags(false, KeyFlags.CERTIFY_OTHER | KeyFlags.SIGN_DATA);
        return new PGPKeyRingGenerator(
                PGPSignature.POSITIVE_CERTIFICATION,
                primary,
                "ops <ops@example.com>",
                new JcaPGPDigestCalculatorProviderBuilder().build().get(HashAlgorithmTags.SHA1),
                flags.generate(),
                null,
                signerFor(primary.getPublicKey()),
                null);
    }

    private static byte[] detached(PGPPrivateKey key, PGPPublicKey pub, byte[] doc) throws Exception {
        return TestKeys.detached(key, pub, doc, null);
    }

    private static PgpManifestVerifier trusting(PGPPublicKeyRing ring) throws Exception {
        return PgpManifestVerifier.of(new PGPPublicKeyRingCollection(List.of(ring)));
    }

    @Test
    void theSigningPrimaryIsBelieved() throws Exception {
        PGPKeyPair primary = rsa();
        PGPKeyRingGenerator rings = certifyingPrimary(primary);
        PGPSignatureSubpacketGenerator encryptOnly = new PGPSignatureSubpacketGenerator();
        encryptOnly.setKeyFlags(false, KeyFlags.ENCRYPT_COMMS | KeyFlags.ENCRYPT_STORAGE);
        rings.addSubKey(rsa(), encryptOnly.generate(), null);
        byte[] sig = detached(primary.getPrivateKey(), primary.getPublicKey(), MANIFEST);
        assertThatCode(() -> trusting(rings.generatePublicKeyRing()).verify(MANIFEST, sig, "manifest"))
                .doesNotThrowAnyException();
    }

    @Test
    void aCrossCertifiedSigningSubkeyIsBelieved() throws Exception {
        // gpg's usual layout for a signing subkey: bound by the primary, with the subkey's back-signature
        PGPKeyPair primary = rsa();
        PGPKeyPair signing = rsa();
        PGPSignatureGenerator back =
                new PGPSignatureGenerator(signerFor(signing.getPublicKey()), signing.getPublicKey());
        back.init(PGPSignature.PRIMARYKEY_BINDING, signing.getPrivateKey());
        PGPSignatureSubpacketGenerator flags = new PGPSignatureSubpacketGenerator();
        flags.setKeyFlags(false, KeyFlags.SIGN_DATA);
        flags.addEmbeddedSignature(false, back.generateCertification(primary.getPublicKey(), signing.getPublicKey()));
        PGPKeyRingGenerator rings = certifyingPrimary(primary);
        rings.addSubKey(signing, flags.generate(), null);
        PGPPublicKeyRing ring = rings.generatePublicKeyRing();
        byte[] sig = detached(signing.getPrivateKey(), ring.getPublicKey(signing.getKeyID()), MANIFEST);
        assertThatCode(() -> trusting(ring).verify(MANIFEST, sig, "manifest")).doesNotThrowAnyException();
    }

    @Test
    void aSubkeyThatMayOnlyEncryptDoesNotSignManifests() throws Exception {
        // restore hosts hold the encryption subkey's secret (gpg --export-secret-subkeys): they may
        // read backups, but must not be able to forge the catalog
        PGPKeyPair primary = rsa();
        PGPKeyPair encryption = rsa();
        PGPKeyRingGenerator rings = certifyingPrimary(primary);
        PGPSignatureSubpacketGenerator encryptOnly = new PGPSignatureSubpacketGenerator();
        encryptOnly.setKeyFlags(false, KeyFlags.ENCRYPT_COMMS | KeyFlags.ENCRYPT_STORAGE);
        rings.addSubKey(encryption, encryptOnly.generate(), null);
        PGPPublicKeyRing ring = rings.generatePublicKeyRing();
        byte[] forged = detached(encryption.getPrivateKey(), ring.getPublicKey(encryption.getKeyID()), MANIFEST);

        assertThatThrownBy(() -> trusting(ring).verify(MANIFEST, forged, "manifest"))
                .isInstanceOfSatisfying(
                        DrException.class, e -> assertThat(e.code()).isEqualTo(DrException.ErrorCode.SIGNATURE));
    }

    @Test
    void aSubkeyNotBoundByThePrimaryDoesNotSignManifests() throws Exception {
        // a subkey packet appended to the trusted certificate with a binding by the attacker's own key
        PGPKeyPair primary = rsa();
        PGPPublicKeyRing ring = certifyingPrimary(primary).generatePublicKeyRing();
        PGPKeyPair attacker = rsa();
        PGPKeyPair planted = rsa();
        PGPSignatureSubpacketGenerator signing = new PGPSignatureSubpacketGenerator();
        signing.setKeyFlags(false, KeyFlags.SIGN_DATA);
        PGPKeyRingGenerator attackers = certifyingPrimary(attacker);
        attackers.addSubKey(planted, signing.generate(), null);
        PGPPublicKey subkey = attackers.generatePublicKeyRing().getPublicKey(planted.getKeyID());
        PGPPublicKeyRing tampered = PGPPublicKeyRing.insertPublicKey(ring, subkey);
        byte[] forged = detached(planted.getPrivateKey(), planted.getPublicKey(), MANIFEST);

        assertThatThrownBy(() -> trusting(tampered).verify(MANIFEST, forged, "manifest"))
                .isInstanceOf(DrException.class);
    }

    @Test
    void aRevokedKeyNoLongerSignsManifests() throws Exception {
        // the signing key leaked, was revoked, and the revoked certificate is what the hosts trust now
        PGPKeyPair primary = rsa();
        PGPPublicKeyRing ring = certifyingPrimary(primary).generatePublicKeyRing();
        PGPSignatureGenerator revoker =
                new PGPSignatureGenerator(signerFor(primary.getPublicKey()), primary.getPublicKey());
        revoker.init(PGPSignature.KEY_REVOCATION, primary.getPrivateKey());
        PGPPublicKey revoked =
                PGPPublicKey.addCertification(ring.getPublicKey(), revoker.generateCertification(ring.getPublicKey()));
        PGPPublicKeyRing revokedRing = PGPPublicKeyRing.insertPublicKey(ring, revoked);
        byte[] byTheThief = detached(primary.getPrivateKey(), primary.getPublicKey(), MANIFEST);

        assertThatThrownBy(() -> trusting(revokedRing).verify(MANIFEST, byTheThief, "manifest"))
                .isInstanceOf(DrException.class);
    }

    @Test
    void theSignerRefusesARevokedKeyInsteadOfWritingManifestsNoRestoreBelieves() throws Exception {
        PGPKeyPair primary = rsa();
        PGPKeyRingGenerator rings = certifyingPrimary(primary);
        PGPPublicKeyRing ring = rings.generatePublicKeyRing();
        PGPSignatureGenerator revoker =
                new PGPSignatureGenerator(signerFor(primary.getPublicKey()), primary.getPublicKey());
        revoker.init(PGPSignature.KEY_REVOCATION, primary.getPrivateKey());
        PGPPublicKey revoked =
                PGPPublicKey.addCertification(ring.getPublicKey(), revoker.generateCertification(ring.getPublicKey()));
        PGPSecretKeyRing secret = PGPSecretKeyRing.replacePublicKeys(
                rings.generateSecretKeyRing(), PGPPublicKeyRing.insertPublicKey(ring, revoked));

        assertThatThrownBy(() ->
                        PgpManifestSigner.of(new PGPSecretKeyRingCollection(List.of(secret)), null, "signing.key"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("the signing key " + Pgp.keyId(primary.getKeyID()) + " is revoked");
    }
}
