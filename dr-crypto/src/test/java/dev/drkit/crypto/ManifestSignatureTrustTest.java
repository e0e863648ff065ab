package dev.drkit.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
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
import org.junit.jupiter.api.io.TempDir;

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
        // a signing subkey bound by the primary, with the subkey's back-signature in the binding's hashed area
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
    void aSigningSubkeyGpgMadeIsBelieved(@TempDir Path dir) throws Exception {
        // gpg 2.2 --quick-add-key KEY ed25519 sign, under a primary that only certifies (kept
        // offline): gpg puts the subkey's back-signature in the binding's unhashed area, where
        // it needs no cover, since it is itself a signature by the subkey
        String publicKey = String.join(
                "\n",
                "-----BEGIN PGP PUBLIC KEY BLOCK-----",
                "",
                "mDMEaxYeRxYJKwYBBAHaRw8BAQdAR72F1dI5IT6WiGIeXCpJtZaFiUzIoQlN1DYr",
                "3jBRimG0FW9wcyA8b3BzQGV4YW1wbGUuY29tPoiQBBMWCAA4FiEER/l3sRcovoh2",
                "FQ7Mr6AF4QwZTxcFAmsWHkcCGwEFCwkIBwIGFQoJCAsCBBYCAwECHgECF4AACgkQ",
                "r6AF4QwZTxdMOAEAq8ZHRBRFX8VPmcK/PWqFdB5/AwzYS0Ya++6xF/jiwb4A/07M",
                "dpFIv42RwXGxLCr5QFGk3a+ehDGmF6LmciGl9p8LuDMEaxYeRxYJKwYBBAHaRw8B",
                "AQdANwo1DOma/6OHm5gx6Sn53iWI8WIbVHAO9+GPyryJlwWI7wQYFggAIBYhBEf5",
                "d7EXKL6IdhUOzK+gBeEMGU8XBQJrFh5HAhsCAIEJEK+gBeEMGU8XdiAEGRYIAB0W",
                "IQRc79Y5TMxMtXasxn61rNKmY83zbwUCaxYeRwAKCRC1rNKmY83zb0gxAPsFkIh9",
                "JjocFgipcXZRG16HHfecYURHSCmaRNlSTpxhhwEA9WJT/0TvMMyjz8OVrA41f1zx",
                "5A3/qhKmk36+ssxtcwsa3QEAkmJ9xMgLDG+s3yjlvfc7toycH6lavLtMDkPSvHDw",
                "nFYA/1NEo6aRFLXW3Mcd1PGjUmhdFBlI2n3Vm2hu/tSfTmcI",
                "=cze9",
                "-----END PGP PUBLIC KEY BLOCK-----");
        String signature = String.join(
                "\n",
                "-----BEGIN PGP SIGNATURE-----",
                "",
                "iHUEABYIAB0WIQRc79Y5TMxMtXasxn61rNKmY83zbwUCaxYeRwAKCRC1rNKmY83z",
                "b8C3AP0f0VgqGqbXXAyuRU+eLyvmwBcF8Nd4789yMYCT76vkbwD+IGtArtcwfHdC",
                "X1d4vA2AjOw1H5vPTBJbWMgmZ8WQQQs=",
                "=NDWp",
                "-----END PGP SIGNATURE-----");
        byte[] manifest = "{\"target\":\"config\",\"id\":\"20250103T030000Z-3f9a1c\"}".getBytes(StandardCharsets.UTF_8);
        Path keyFile = Files.writeString(dir.resolve("trusted.asc"), publicKey);
        PgpManifestVerifier verifier = PgpManifestVerifier.fromFile(keyFile);

        assertThatCode(() -> verifier.verify(manifest, signature.getBytes(StandardCharsets.US_ASCII), "manifest"))
                .doesNotThrowAnyException();
    }

    @Test
    void aSigningSubkeyWithoutItsOwnBackSignatureDoesNotSignManifests() throws Exception {
        // the primary's binding alone, or with a back-signature another key made (in the unhashed
        // area, which anyone may fill): the subkey's holder never agreed to sign for the primary
        PGPKeyPair primary = rsa();
        PGPKeyPair signing = rsa();
        PGPKeyPair other = rsa();
        PGPSignatureGenerator back = new PGPSignatureGenerator(signerFor(other.getPublicKey()), other.getPublicKey());
        back.init(PGPSignature.PRIMARYKEY_BINDING, other.getPrivateKey());
        PGPSignatureSubpacketGenerator unhashed = new PGPSignatureSubpacketGenerator();
        unhashed.addEmbeddedSignature(
                false, back.generateCertification(primary.getPublicKey(), signing.getPublicKey()));
        for (boolean withForeignBack : new boolean[] {false, true}) {
            PGPSignatureSubpacketGenerator flags = new PGPSignatureSubpacketGenerator();
            flags.setKeyFlags(false, KeyFlags.SIGN_DATA);
            PGPKeyRingGenerator rings = certifyingPrimary(primary);
            rings.addSubKey(signing, flags.generate(), withForeignBack ? unhashed.generate() : null);
            PGPPublicKeyRing ring = rings.generatePublicKeyRing();
            byte[] sig = detached(signing.getPrivateKey(), ring.getPublicKey(signing.getKeyID()), MANIFEST);

            assertThatThrownBy(() -> trusting(ring).verify(MANIFEST, sig, "manifest"))
                    .as("with a foreign back-signature: %s", withForeignBack)
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining("the signing subkey is not cross-certified");
        }
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
