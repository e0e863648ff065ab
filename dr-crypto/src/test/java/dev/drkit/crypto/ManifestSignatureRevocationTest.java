package dev.drkit.crypto;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.TargetSpec;
import dev.drkit.spi.ManifestSigner;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.KeyPairGenerator;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;
import org.bouncycastle.bcpg.HashAlgorithmTags;
import org.bouncycastle.bcpg.PublicKeyAlgorithmTags;
import org.bouncycastle.bcpg.sig.KeyFlags;
import org.bouncycastle.bcpg.sig.RevocationKey;
import org.bouncycastle.bcpg.sig.RevocationReason;
import org.bouncycastle.bcpg.sig.RevocationReasonTags;
import org.bouncycastle.openpgp.PGPKeyPair;
import org.bouncycastle.openpgp.PGPKeyRingGenerator;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPPublicKeyRing;
import org.bouncycastle.openpgp.PGPPublicKeyRingCollection;
import org.bouncycastle.openpgp.PGPSignature;
import org.bouncycastle.openpgp.PGPSignatureGenerator;
import org.bouncycastle.openpgp.PGPSignatureSubpacketGenerator;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPContentSignerBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPDigestCalculatorProviderBuilder;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPKeyPair;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A key rotated out of service and revoked as superseded or retired leaves what it signed
 * before believed, so that the backups of the years before a key rotation stay restorable; a
 * key revoked as compromised, or without a reason, is believed for nothing (a thief dates
 * signatures as he likes). Keys made 10 days ago, revoked 3 days ago; manifests signed 5 days
 * ago (before) and 1 day ago (after).
 */
class ManifestSignatureRevocationTest {
    private static final byte[] MANIFEST =
            "{\"target\":\"config\",\"id\":\"20250103T030000Z-3f9a1c\"}".getBytes(StandardCharsets.UTF_8);
    private static final Instant NOW = Instant.now();
    private static final Instant MADE = NOW.minus(Duration.ofDays(10));
    private static final Instant REVOKED = NOW.minus(Duration.ofDays(3));
    private static final Instant BEFORE = NOW.minus(Duration.ofDays(5));
    private static final Instant AFTER = NOW.minus(Duration.ofDays(1));

    private static PGPKeyPair primary;
    private static PGPKeyPair signing;
    /** An organisation's key, designated (or not) to revoke {@link #primary}. */
    private static PGPKeyPair organisation;

    @BeforeAll
    static void keys() throws Exception {
        primary = rsa();
        signing = rsa();
        organisation = rsa();
    }

    private static PGPKeyPair rsa() throws Exception {
        KeyPairGenerator g = KeyPairGenerator.getInstance("RSA", Pgp.BC);
        g.initialize(2048);
        return new JcaPGPKeyPair(PublicKeyAlgorithmTags.RSA_GENERAL, g.generateKeyPair(), Date.from(MADE));
    }

    private static JcaPGPContentSignerBuilder signerFor(PGPPublicKey key) {
        return new JcaPGPContentSignerBuilder(key.getAlgorithm(), HashAlgorithmTags.SHA256).setProvider(Pgp.BC);
    }

    private static PGPSignatureSubpacketGenerator dated(Instant at) {
        PGPSignatureSubpacketGenerator g = new PGPSignatureSubpacketGenerator();
        g.setSignatureCreationTime(false, Date.from(at));
        return g;
    }

    /** A primary that certifies and signs, with (when {@code withSubkey}) a cross-certified signing subkey. */
    private static PGPPublicKeyRing ring(boolean withSubkey) throws Exception {
        return ring(withSubkey, null);
    }

    /** The same, its self-signature designating {@code revoker} (when not null) as a revocation key. */
    private static PGPPublicKeyRing ring(boolean withSubkey, PGPPublicKey revoker) throws Exception {
        return ring(withSubkey, revoker, (byte) 0x80);
    }

    /** The same, the designation of class {@code revokerClass} (0x80 is the only one RFC 4880 defines). */
    private static PGPPublicKeyRing ring(boolean withSubkey, PGPPublicKey revoker, byte revokerClass) throws Exception {
        PGPSignatureSubpacketGenerator self = dated(MADE);
        self.setKeyFlags(false, KeyFlags.CERTIFY_OTHER | KeyFlags.SIGN_DATA);
        if (revoker != null) {
            self.addCustomSubpacket(
                    new RevocationKey(false, revokerClass, revoker.getAlgorithm(), revoker.getFingerprint()));
        }
        PGPKeyRingGenerator rings = new PGPKeyRingGenerator(
                PGPSignature.POSITIVE_CERTIFICATION,
                primary,
                "ops <ops@example.com>",
                new JcaPGPDigestCalculatorProviderBuilder().build().get(HashAlgorithmTags.SHA1),
                self.generate(),
                null,
                signerFor(primary.getPublicKey()),
                null);
        if (withSubkey) {
            PGPSignatureGenerator back =
                    new PGPSignatureGenerator(signerFor(signing.getPublicKey()), signing.getPublicKey());
            back.init(PGPSignature.PRIMARYKEY_BINDING, signing.getPrivateKey());
            back.setHashedSubpackets(dated(MADE).generate());
            PGPSignatureSubpacketGenerator binding = dated(MADE);
            binding.setKeyFlags(false, KeyFlags.SIGN_DATA);
            binding.addEmbeddedSignature(
                    false, back.generateCertification(primary.getPublicKey(), signing.getPublicKey()));
            rings.addSubKey(signing, binding.generate(), null);
        }
        return rings.generatePublicKeyRing();
    }

    /** The ring with a revocation of its primary (or of its subkey) dated {@link #REVOKED}; reason -1: none given. */
    private static PGPPublicKeyRing revoked(PGPPublicKeyRing ring, boolean subkey, int reason) throws Exception {
        return revoked(ring, subkey, subpackets -> {
            if (reason >= 0) {
                subpackets.setRevocationReason(false, (byte) reason, "rotated");
            }
        });
    }

    /** The ring with a revocation dated {@link #REVOKED} whose other hashed subpackets {@code reasons} adds. */
    private static PGPPublicKeyRing revoked(
            PGPPublicKeyRing ring, boolean subkey, Consumer<PGPSignatureSubpacketGenerator> reasons) throws Exception {
        PGPSignatureGenerator revoker =
                new PGPSignatureGenerator(signerFor(primary.getPublicKey()), primary.getPublicKey());
        revoker.init(subkey ? PGPSignature.SUBKEY_REVOCATION : PGPSignature.KEY_REVOCATION, primary.getPrivateKey());
        PGPSignatureSubpacketGenerator subpackets = dated(REVOKED);
        reasons.accept(subpackets);
        revoker.setHashedSubpackets(subpackets.generate());
        PGPPublicKey on = subkey ? ring.getPublicKey(signing.getKeyID()) : ring.getPublicKey();
        PGPSignature revocation =
                subkey ? revoker.generateCertification(ring.getPublicKey(), on) : revoker.generateCertification(on);
        return PGPPublicKeyRing.insertPublicKey(ring, PGPPublicKey.addCertification(on, revocation));
    }

    /** {@link #organisation}'s own certificate, for the trusted file. */
    private static PGPPublicKeyRing organisationRing() throws Exception {
        PGPSignatureSubpacketGenerator self = dated(MADE);
        self.setKeyFlags(false, KeyFlags.CERTIFY_OTHER);
        return new PGPKeyRingGenerator(
                        PGPSignature.POSITIVE_CERTIFICATION,
                        organisation,
                        "security <security@example.com>",
                        new JcaPGPDigestCalculatorProviderBuilder().build().get(HashAlgorithmTags.SHA1),
                        self.generate(),
                        null,
                        signerFor(organisation.getPublicKey()),
                        null)
                .generatePublicKeyRing();
    }

    /** {@code ring} with a revocation of its primary made by {@link #organisation}, dated {@link #REVOKED}. */
    private static PGPPublicKeyRing revokedByOrganisation(PGPPublicKeyRing ring, int reason) throws Exception {
        PGPSignatureGenerator revoker =
                new PGPSignatureGenerator(signerFor(organisation.getPublicKey()), organisation.getPublicKey());
        revoker.init(PGPSignature.KEY_REVOCATION, organisation.getPrivateKey());
        PGPSignatureSubpacketGenerator subpackets = dated(REVOKED);
        subpackets.setRevocationReason(false, (byte) reason, "revoked by security");
        subpackets.setIssuerKeyID(false, organisation.getKeyID());
        revoker.setHashedSubpackets(subpackets.generate());
        PGPPublicKey on = ring.getPublicKey();
        return PGPPublicKeyRing.insertPublicKey(
                ring, PGPPublicKey.addCertification(on, revoker.generateCertification(on)));
    }

    private static PgpManifestVerifier trustingBoth(PGPPublicKeyRing ring) throws Exception {
        return PgpManifestVerifier.of(new PGPPublicKeyRingCollection(List.of(ring, organisationRing())));
    }

    /**
     * A key whose owner designated a revoker (gpg's --desig-revoke: an organisation's key, or the
     * owner's offline one) and that this revoker revoked: on main only the key's own revocations
     * counted, so a compromised key revoked by its designated revoker stayed believed.
     */
    @Test
    void aRevocationByADesignatedRevokerCounts() throws Exception {
        PgpManifestVerifier compromised = trustingBoth(
                revokedByOrganisation(ring(false, organisation.getPublicKey()), RevocationReasonTags.KEY_COMPROMISED));
        assertThatThrownBy(() -> compromised.verify(MANIFEST, signedAt(primary, BEFORE), "manifest"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("the key " + Pgp.keyId(primary.getKeyID()) + " is revoked as compromised");

        PgpManifestVerifier superseded = trustingBoth(
                revokedByOrganisation(ring(false, organisation.getPublicKey()), RevocationReasonTags.KEY_SUPERSEDED));
        assertThatCode(() -> superseded.verify(MANIFEST, signedAt(primary, BEFORE), "manifest"))
                .doesNotThrowAnyException();
        assertThatThrownBy(() -> superseded.verify(MANIFEST, signedAt(primary, AFTER), "manifest"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("was revoked as superseded");
    }

    /** A revocation by a key the owner did not designate, or by one the trusted file lacks, counts for nothing. */
    @Test
    void aRevocationByAnotherKeyCountsForNothing() throws Exception {
        PgpManifestVerifier notDesignated =
                trustingBoth(revokedByOrganisation(ring(false), RevocationReasonTags.KEY_COMPROMISED));
        assertThatCode(() -> notDesignated.verify(MANIFEST, signedAt(primary, AFTER), "manifest"))
                .doesNotThrowAnyException();

        // a designation without the class bit 0x80 designates nothing (RFC 4880 5.2.3.15)
        PgpManifestVerifier noClass = trustingBoth(revokedByOrganisation(
                ring(false, organisation.getPublicKey(), (byte) 0x00), RevocationReasonTags.KEY_COMPROMISED));
        assertThatCode(() -> noClass.verify(MANIFEST, signedAt(primary, AFTER), "manifest"))
                .doesNotThrowAnyException();

        PgpManifestVerifier revokerUnknown = trusting(
                revokedByOrganisation(ring(false, organisation.getPublicKey()), RevocationReasonTags.KEY_COMPROMISED));
        assertThatCode(() -> revokerUnknown.verify(MANIFEST, signedAt(primary, AFTER), "manifest"))
                .doesNotThrowAnyException();
    }

    /**
     * A kit whose own trusted keys hold its signing key as revoked by the key's designated
     * revoker: its backups went on, signed, and no restore with those keys believed them. The
     * backup now fails before it starts, and status says why.
     */
    @Test
    void aKitDoesNotBackUpWithAKeyItsTrustedKeysHoldRevoked(@TempDir Path dir) throws Exception {
        PgpManifestVerifier trusted = trustingBoth(
                revokedByOrganisation(ring(false, organisation.getPublicKey()), RevocationReasonTags.KEY_COMPROMISED));
        ManifestSigner signer = new ManifestSigner() {
            @Override
            public String signatureSuffix() {
                return ".asc";
            }

            @Override
            public byte[] sign(byte[] manifest) throws IOException {
                try {
                    return TestKeys.detached(primary.getPrivateKey(), primary.getPublicKey(), manifest, Instant.now());
                } catch (Exception e) {
                    throw new IOException(e);
                }
            }
        };
        Path src = Files.createDirectories(dir.resolve("etc"));
        Files.writeString(src.resolve("app.conf"), "x=1\n");
        String repo = dir.resolve("repo").toString();
        try (DrKit signing = DrKit.builder().repository(repo).signer(signer).build()) {
            signing.backup(TargetSpec.files("config", src.toString())); // no trusted keys: nothing to ask
        }
        try (DrKit kit = DrKit.builder()
                .repository(repo)
                .signer(signer)
                .trustedSignatures(trusted)
                .build()) {
            assertThatThrownBy(() -> kit.backup(TargetSpec.files("config", src.toString())))
                    .isInstanceOfSatisfying(
                            DrException.class, e -> assertThat(e.code()).isEqualTo(DrException.ErrorCode.SIGNATURE))
                    .hasMessageContaining("trusted keys refuse what its signer signs")
                    .hasMessageContaining("the key " + Pgp.keyId(primary.getKeyID()) + " is revoked as compromised");
            assertThat(kit.status(Map.of()).problems())
                    .anySatisfy(p -> assertThat(p).startsWith("backups fail: ").contains("is revoked as compromised"));
        }
        try (DrKit untrusting = DrKit.builder().repository(repo).build()) {
            assertThat(untrusting.list("config")).hasSize(1); // the refused backup left nothing
        }
    }

    private static byte[] signedAt(PGPKeyPair by, Instant at) throws Exception {
        return TestKeys.detached(by.getPrivateKey(), by.getPublicKey(), MANIFEST, at);
    }

    private static PgpManifestVerifier trusting(PGPPublicKeyRing ring) throws Exception {
        return PgpManifestVerifier.of(new PGPPublicKeyRingCollection(List.of(ring)));
    }

    @Test
    void aSupersededKeyKeepsWhatItSignedBeforeAndSignsNothingAfter() throws Exception {
        PgpManifestVerifier verifier = trusting(revoked(ring(false), false, RevocationReasonTags.KEY_SUPERSEDED));

        assertThatCode(() -> verifier.verify(MANIFEST, signedAt(primary, BEFORE), "manifest"))
                .doesNotThrowAnyException();
        assertThatThrownBy(() -> verifier.verify(MANIFEST, signedAt(primary, AFTER), "manifest"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("may not sign manifests: the signature is dated")
                .hasMessageContaining("after the key " + Pgp.keyId(primary.getKeyID()) + " was revoked as superseded");
        // dated the very second of the revocation: revoked already
        assertThatThrownBy(() -> verifier.verify(MANIFEST, signedAt(primary, REVOKED), "manifest"))
                .isInstanceOf(DrException.class);
    }

    @Test
    void aRetiredKeyKeepsWhatItSignedBefore() throws Exception {
        PgpManifestVerifier verifier = trusting(revoked(ring(false), false, RevocationReasonTags.KEY_RETIRED));

        assertThatCode(() -> verifier.verify(MANIFEST, signedAt(primary, BEFORE), "manifest"))
                .doesNotThrowAnyException();
        assertThatThrownBy(() -> verifier.verify(MANIFEST, signedAt(primary, AFTER), "manifest"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("was revoked as retired");
    }

    @Test
    void aCompromisedKeyOrOneRevokedWithoutAReasonIsBelievedForNothing() throws Exception {
        for (int reason : new int[] {RevocationReasonTags.KEY_COMPROMISED, RevocationReasonTags.NO_REASON, -1, 99}) {
            PgpManifestVerifier verifier = trusting(revoked(ring(false), false, reason));
            String expected = reason == RevocationReasonTags.KEY_COMPROMISED ? "as compromised" : "without a reason";
            assertThatThrownBy(() -> verifier.verify(MANIFEST, signedAt(primary, BEFORE), "manifest"))
                    .as("reason %d", reason)
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining("the key " + Pgp.keyId(primary.getKeyID()) + " is revoked " + expected);
        }
    }

    @Test
    void aCompromiseRevocationOutweighsASupersededOne() throws Exception {
        PGPPublicKeyRing both = revoked(
                revoked(ring(false), false, RevocationReasonTags.KEY_SUPERSEDED),
                false,
                RevocationReasonTags.KEY_COMPROMISED);

        assertThatThrownBy(() -> trusting(both).verify(MANIFEST, signedAt(primary, BEFORE), "manifest"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("is revoked as compromised");
    }

    @Test
    void aSupersededSigningSubkeyKeepsWhatItSignedBefore() throws Exception {
        PgpManifestVerifier verifier = trusting(revoked(ring(true), true, RevocationReasonTags.KEY_SUPERSEDED));

        assertThatCode(() -> verifier.verify(MANIFEST, signedAt(signing, BEFORE), "manifest"))
                .doesNotThrowAnyException();
        assertThatThrownBy(() -> verifier.verify(MANIFEST, signedAt(signing, AFTER), "manifest"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("after the key " + Pgp.keyId(signing.getKeyID()) + " was revoked as superseded");
    }

    @Test
    void aCompromisedSigningSubkeyIsBelievedForNothing() throws Exception {
        PgpManifestVerifier verifier = trusting(revoked(ring(true), true, RevocationReasonTags.KEY_COMPROMISED));

        assertThatThrownBy(() -> verifier.verify(MANIFEST, signedAt(signing, BEFORE), "manifest"))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("the subkey is revoked as compromised");
    }

    @Test
    void aRevocationThatDoesNotVerifyCountsForNothing() throws Exception {
        // a forger appends a "superseded" revocation dated long ago, signed by a key of his own:
        // it must neither revoke the key nor move its validity
        PGPKeyPair forger = rsa();
        PGPPublicKeyRing ring = ring(false);
        PGPSignatureGenerator revoker =
                new PGPSignatureGenerator(signerFor(forger.getPublicKey()), forger.getPublicKey());
        revoker.init(PGPSignature.KEY_REVOCATION, forger.getPrivateKey());
        PGPSignatureSubpacketGenerator subpackets = dated(MADE);
        subpackets.setRevocationReason(false, RevocationReasonTags.KEY_SUPERSEDED, "");
        revoker.setHashedSubpackets(subpackets.generate());
        PGPPublicKeyRing forged = PGPPublicKeyRing.insertPublicKey(
                ring,
                PGPPublicKey.addCertification(ring.getPublicKey(), revoker.generateCertification(ring.getPublicKey())));

        assertThatCode(() -> trusting(forged).verify(MANIFEST, signedAt(primary, AFTER), "manifest"))
                .doesNotThrowAnyException();
    }

    @Test
    void anOlderCopyOfTheCertificateInTheTrustedFileDoesNotUndoItsRevocation(@TempDir Path dir) throws Exception {
        // keys collected into one file (cat keys/*.asc), one of them an export from before the
        // revocation: each copy is the same key, and its revocation holds whichever comes last
        PGPPublicKeyRing before = ring(true);
        PGPPublicKeyRing compromised = revoked(before, false, RevocationReasonTags.KEY_COMPROMISED);
        Path trusted = dir.resolve("trusted.gpg");
        Files.write(trusted, concat(compromised.getEncoded(), before.getEncoded()));
        PgpManifestVerifier verifier = PgpManifestVerifier.fromFile(trusted);

        for (PGPKeyPair by : List.of(primary, signing)) {
            assertThatThrownBy(() -> verifier.verify(MANIFEST, signedAt(by, BEFORE), "manifest"))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining("is revoked as compromised");
        }
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] out = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    @Test
    void aRevocationWhoseReasonsSayCompromiseAnywhereOrCannotBeReadIsForEverything() throws Exception {
        // several reasons in one revocation (OpenPGP: the last one counts, Bouncy Castle reads the
        // first) or one without its code: the key is taken for compromised, never for superseded
        List<Consumer<PGPSignatureSubpacketGenerator>> reasons = List.of(
                g -> {
                    g.addCustomSubpacket(new RevocationReason(false, RevocationReasonTags.KEY_SUPERSEDED, ""));
                    g.addCustomSubpacket(new RevocationReason(false, RevocationReasonTags.KEY_COMPROMISED, ""));
                },
                g -> g.addCustomSubpacket(new RevocationReason(false, false, new byte[0])));
        for (Consumer<PGPSignatureSubpacketGenerator> reason : reasons) {
            PGPPublicKeyRing ring = revoked(ring(false), false, reason);
            PgpManifestVerifier verifier = trusting(ring);
            assertThatThrownBy(() -> verifier.verify(MANIFEST, signedAt(primary, BEFORE), "manifest"))
                    .isInstanceOf(DrException.class)
                    .hasMessageContaining("the key " + Pgp.keyId(primary.getKeyID()) + " is revoked");
        }
    }
}
