package dev.drkit.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.testkit.MutableClock;
import java.nio.charset.StandardCharsets;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.Date;
import java.util.List;
import org.bouncycastle.bcpg.HashAlgorithmTags;
import org.bouncycastle.bcpg.PublicKeyAlgorithmTags;
import org.bouncycastle.bcpg.sig.KeyFlags;
import org.bouncycastle.openpgp.PGPKeyPair;
import org.bouncycastle.openpgp.PGPKeyRingGenerator;
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
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * A key's validity in time: a manifest signed while its key was valid stays believed after the
 * key expires (old backups stay restorable), one dated after the expiry or before the key existed
 * is not, and the signer refuses an expired key instead of writing manifests no restore believes.
 */
class ManifestSignatureTimeTest {
    private static final byte[] MANIFEST =
            "{\"target\":\"config\",\"id\":\"20250103T030000Z-3f9a1c\"}".getBytes(StandardCharsets.UTF_8);
    private static final Instant NOW = Instant.now();

    /** A key made 10 days ago that expired 2 days ago (valid 8 days). */
    private static PGPKeyPair key;

    private static PGPKeyRingGenerator rings;

    @BeforeAll
    static void keys() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA", Pgp.BC);
        g.initialize(2048);
        key = new JcaPGPKeyPair(
                PublicKeyAlgorithmTags.RSA_GENERAL, g.generateKeyPair(), Date.from(NOW.minus(Duration.ofDays(10))));
        PGPSignatureSubpacketGenerator self = new PGPSignatureSubpacketGenerator();
        self.setKeyFlags(false, KeyFlags.CERTIFY_OTHER | KeyFlags.SIGN_DATA);
        self.setKeyExpirationTime(false, Duration.ofDays(8).toSeconds());
        self.setSignatureCreationTime(false, Date.from(NOW.minus(Duration.ofDays(10))));
        rings = new PGPKeyRingGenerator(
                PGPSignature.POSITIVE_CERTIFICATION,
                key,
                "ops <ops@example.com>",
                new JcaPGPDigestCalculatorProviderBuilder().build().get(HashAlgorithmTags.SHA1),
                self.generate(),
                null,
                signer(),
                null);
    }

    private static JcaPGPContentSignerBuilder signer() {
        return new JcaPGPContentSignerBuilder(key.getPublicKey().getAlgorithm(), HashAlgorithmTags.SHA256)
                .setProvider(Pgp.BC);
    }

    /** A detached signature of the manifest dated {@code at}. */
    private static byte[] signedAt(Instant at) throws Exception {
        return TestKeys.detached(key.getPrivateKey(), key.getPublicKey(), MANIFEST, at);
    }

    private static PgpManifestVerifier trusting() throws Exception {
        PGPPublicKeyRing ring = rings.generatePublicKeyRing();
        return PgpManifestVerifier.of(new PGPPublicKeyRingCollection(List.of(ring)));
    }

    @Test
    void aManifestSignedWhileTheKeyWasValidIsBelievedAfterItExpired() throws Exception {
        byte[] sig = signedAt(NOW.minus(Duration.ofDays(5)));
        assertThatCode(() -> trusting().verify(MANIFEST, sig, "manifest")).doesNotThrowAnyException();
    }

    @Test
    void aManifestSignedAfterTheKeyExpiredIsNotBelieved() throws Exception {
        // a thief of a retired key signs today
        byte[] sig = signedAt(NOW);
        assertThatThrownBy(() -> trusting().verify(MANIFEST, sig, "manifest"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("may not sign manifests: the signature is dated")
                .hasMessageContaining("after the key " + Pgp.keyId(key.getKeyID()) + " expired");
    }

    @Test
    void aManifestDatedBeforeTheKeyExistedIsNotBelieved() throws Exception {
        byte[] sig = signedAt(NOW.minus(Duration.ofDays(11)));
        assertThatThrownBy(() -> trusting().verify(MANIFEST, sig, "manifest"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("before the key was made");
    }

    @Test
    void theSignerRefusesAnExpiredKeyAndTakesItWhileValid() throws Exception {
        PGPSecretKeyRingCollection secret = new PGPSecretKeyRingCollection(List.of(rings.generateSecretKeyRing()));

        assertThatThrownBy(() -> PgpManifestSigner.of(secret, null, "signing.key", NOW))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("signing.key holds no OpenPGP key that can sign today: the signing key "
                        + Pgp.keyId(key.getKeyID()) + " expired on ")
                .hasMessageContaining("extend its expiry, or make a new signing key");

        // three days ago it signed, and what it signed then is believed today
        PgpManifestSigner before = PgpManifestSigner.of(secret, null, "signing.key", NOW.minus(Duration.ofDays(3)));
        assertThat(before.keyId()).isEqualTo(Pgp.keyId(key.getKeyID()));
    }

    @Test
    void aSignerThatOutlivesItsKeysExpiryStopsSigning() throws Exception {
        // a daemon or host service loads its signer once: it signed on past the expiry, and every
        // restore then refused what it had signed, long after the backups looked fine
        PGPSecretKeyRingCollection secret = new PGPSecretKeyRingCollection(List.of(rings.generateSecretKeyRing()));
        MutableClock clock = new MutableClock(NOW.minus(Duration.ofDays(3)));
        PgpManifestSigner signer = PgpManifestSigner.of(secret, null, "signing.key", clock);
        Instant expiry = NOW.minus(Duration.ofDays(2)).truncatedTo(ChronoUnit.SECONDS);
        assertThat(signer.validUntil()).contains(expiry);

        byte[] beforeExpiry = signer.sign(MANIFEST);
        assertThatCode(() -> trusting().verify(MANIFEST, beforeExpiry, "manifest"))
                .doesNotThrowAnyException();

        clock.set(expiry);
        assertThatThrownBy(() -> signer.sign(MANIFEST))
                .isInstanceOf(ConfigException.class)
                .hasMessageStartingWith("the signing key " + Pgp.keyId(key.getKeyID()) + " expired on " + expiry)
                .hasMessageContaining("extend its expiry, or make a new signing key");
    }

    @Test
    void theSignerRefusesAKeyMadeAfterThisHostsTime() throws Exception {
        // the key was made on a host whose clock was ahead of this one's: what it signed now would be
        // dated before the key was made, which no restore believes
        PGPSecretKeyRingCollection secret = new PGPSecretKeyRingCollection(List.of(rings.generateSecretKeyRing()));
        assertThatThrownBy(() -> PgpManifestSigner.of(secret, null, "signing.key", NOW.minus(Duration.ofDays(11))))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("the signing key " + Pgp.keyId(key.getKeyID()) + " was made on ")
                .hasMessageContaining("check this host's clock");
    }

    @Test
    void aKeyWhoseExpiryWasRemovedLaterSignsAndIsBelieved() throws Exception {
        // gpg --quick-set-expire KEY never: a newer self-signature without a key expiration time
        PGPSignatureSubpacketGenerator never = new PGPSignatureSubpacketGenerator();
        never.setKeyFlags(false, KeyFlags.CERTIFY_OTHER | KeyFlags.SIGN_DATA);
        PGPPublicKeyRing publicRing = withSelfSignature(PGPSignature.POSITIVE_CERTIFICATION, never);
        PGPSecretKeyRing secretRing = PGPSecretKeyRing.replacePublicKeys(rings.generateSecretKeyRing(), publicRing);

        PgpManifestSigner today =
                PgpManifestSigner.of(new PGPSecretKeyRingCollection(List.of(secretRing)), null, "signing.key", NOW);
        assertThat(today.keyId()).isEqualTo(Pgp.keyId(key.getKeyID()));
        byte[] sig = signedAt(NOW);
        PgpManifestVerifier verifier = PgpManifestVerifier.of(new PGPPublicKeyRingCollection(List.of(publicRing)));
        assertThatCode(() -> verifier.verify(MANIFEST, sig, "manifest")).doesNotThrowAnyException();
    }

    @Test
    void aDirectKeySignatureWithoutAnExpiryLeavesTheKeysExpiry() throws Exception {
        // gpg's addrevoker: a direct-key signature, newer than the user id's, that only designates a revoker
        PGPSignatureSubpacketGenerator designation = new PGPSignatureSubpacketGenerator();
        designation.addRevocationKey(false, PublicKeyAlgorithmTags.RSA_GENERAL, new byte[20]);
        PgpManifestVerifier verifier = PgpManifestVerifier.of(
                new PGPPublicKeyRingCollection(List.of(withSelfSignature(PGPSignature.DIRECT_KEY, designation))));

        byte[] sig = signedAt(NOW);
        assertThatThrownBy(() -> verifier.verify(MANIFEST, sig, "manifest"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("after the key " + Pgp.keyId(key.getKeyID()) + " expired");
    }

    /** The key's ring with one more self-signature of {@code type} (on its user id, or direct), dated 4 days ago. */
    private static PGPPublicKeyRing withSelfSignature(int type, PGPSignatureSubpacketGenerator subpackets)
            throws Exception {
        PGPPublicKeyRing ring = rings.generatePublicKeyRing();
        PGPSignatureGenerator gen = new PGPSignatureGenerator(signer(), key.getPublicKey());
        gen.init(type, key.getPrivateKey());
        subpackets.setSignatureCreationTime(false, Date.from(NOW.minus(Duration.ofDays(4))));
        gen.setHashedSubpackets(subpackets.generate());
        String id = "ops <ops@example.com>";
        PGPPublicKey signed = type == PGPSignature.DIRECT_KEY
                ? PGPPublicKey.addCertification(ring.getPublicKey(), gen.generateCertification(ring.getPublicKey()))
                : PGPPublicKey.addCertification(
                        ring.getPublicKey(), id, gen.generateCertification(id, ring.getPublicKey()));
        return PGPPublicKeyRing.insertPublicKey(ring, signed);
    }
}
