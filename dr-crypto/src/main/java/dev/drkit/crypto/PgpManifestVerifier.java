package dev.drkit.crypto;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.spi.ManifestVerifier;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Date;
import java.util.HashSet;
import java.util.Iterator;
import java.util.List;
import java.util.Set;
import org.bouncycastle.bcpg.SignatureSubpacket;
import org.bouncycastle.bcpg.SignatureSubpacketTags;
import org.bouncycastle.bcpg.sig.KeyFlags;
import org.bouncycastle.bcpg.sig.RevocationKey;
import org.bouncycastle.bcpg.sig.RevocationReasonTags;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPPublicKeyRing;
import org.bouncycastle.openpgp.PGPPublicKeyRingCollection;
import org.bouncycastle.openpgp.PGPSignature;
import org.bouncycastle.openpgp.PGPSignatureList;
import org.bouncycastle.openpgp.PGPSignatureSubpacketVector;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.jcajce.JcaPGPObjectFactory;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPContentVerifierBuilderProvider;
import org.bouncycastle.util.encoders.Hex;

/**
 * Accepts a manifest only when its detached OpenPGP signature verifies with one of the
 * trusted public keys. Immutable and thread-safe.
 */
public final class PgpManifestVerifier implements ManifestVerifier {
    private final PGPPublicKeyRingCollection trusted;

    private PgpManifestVerifier(PGPPublicKeyRingCollection trusted) {
        this.trusted = trusted;
    }

    /**
     * Trusts the keys in an armored or binary public key file.
     *
     * @throws ConfigException when the file is missing or is not an OpenPGP public key
     */
    public static PgpManifestVerifier fromFile(Path publicKeyFile) throws IOException {
        return new PgpManifestVerifier(PgpKeys.publicKeyRings(publicKeyFile));
    }

    public static PgpManifestVerifier of(PGPPublicKeyRingCollection trusted) {
        return new PgpManifestVerifier(trusted);
    }

    @Override
    public String signatureSuffix() {
        return ".asc";
    }

    @Override
    public void verify(byte[] manifest, byte[] signature, String what) {
        if (signature == null) {
            throw new DrException(
                    ErrorCode.SIGNATURE,
                    what + " is not signed but a trusted key is configured; "
                            + "it may have been planted: use a signed backup");
        }
        List<String> signers = new ArrayList<>();
        for (PGPSignature sig : signatures(signature, what)) {
            signers.add(Pgp.keyId(sig.getKeyID()));
            PGPPublicKey key = find(sig.getKeyID());
            if (key == null) {
                continue;
            }
            String unfit = sig.getSignatureType() != PGPSignature.BINARY_DOCUMENT
                    ? "a signature of another type (" + sig.getSignatureType() + ") than drkit makes"
                    : unfitToSign(key);
            if (unfit == null) {
                unfit = untimely(key, sig.getCreationTime());
            }
            if (unfit != null) {
                throw new DrException(
                        ErrorCode.SIGNATURE,
                        what + " is signed by " + Pgp.keyId(sig.getKeyID()) + ", which the trusted key file holds "
                                + "but which may not sign manifests: " + unfit);
            }
            try {
                sig.init(new JcaPGPContentVerifierBuilderProvider().setProvider(Pgp.BC), key);
                sig.update(manifest);
                if (sig.verify()) {
                    return;
                }
                throw new DrException(
                        ErrorCode.SIGNATURE,
                        what + " does not match its signature by " + Pgp.keyId(sig.getKeyID())
                                + ": it was modified; use another backup");
            } catch (PGPException e) {
                throw new DrException(
                        ErrorCode.SIGNATURE, "checking the signature of " + what + " failed: " + e.getMessage(), e);
            }
        }
        throw new DrException(
                ErrorCode.SIGNATURE,
                what + " is signed by " + String.join(", ", signers) + ", which is not a trusted key (trusted: "
                        + String.join(", ", trustedIds()) + ")");
    }

    private static List<PGPSignature> signatures(byte[] signature, String what) {
        try {
            JcaPGPObjectFactory f =
                    new JcaPGPObjectFactory(PGPUtil.getDecoderStream(new ByteArrayInputStream(signature)));
            Object o = f.nextObject();
            if (o instanceof PGPSignatureList) {
                List<PGPSignature> out = new ArrayList<>();
                ((PGPSignatureList) o).forEach(out::add);
                return out;
            }
        } catch (IOException | RuntimeException e) {
            // fall through
        }
        throw new DrException(ErrorCode.SIGNATURE, "the signature of " + what + " is unreadable");
    }

    /**
     * A key's revocation by its owner: {@code since} null when it counts for every signature
     * (no reason given, the key compromised, or a reason drkit does not know), else the time from
     * which it counts (the key superseded or retired: what it signed before stays good).
     */
    private record Revocation(Instant since, String reason) {}

    /**
     * The revocation of {@code on} (a primary with {@code sub} null, else the subkey {@code sub}
     * of {@code primary}) by its primary's verified revocation signatures, or null when there is
     * none. Any revocation without a reason, or for compromise, counts for everything the key
     * signed, whatever other revocations say; a key only superseded or retired is revoked from
     * the earliest such revocation on. So a key rotated out of service and revoked as gpg's
     * "Key is superseded" or "Key is no longer used" leaves the backups it signed restorable,
     * while a stolen key, revoked as compromised, signs nothing more that is believed.
     */
    private Revocation revocation(PGPPublicKey on, int type, PGPPublicKey primary, PGPPublicKey sub) {
        Instant soft = null;
        String softReason = null;
        List<PGPSignature> revocations = validSignatures(on, type, primary, sub);
        if (type == PGPSignature.KEY_REVOCATION) {
            revocations.addAll(byDesignatedRevokers(primary));
        }
        for (PGPSignature s : revocations) {
            byte code = reason(s);
            if (code != RevocationReasonTags.KEY_SUPERSEDED && code != RevocationReasonTags.KEY_RETIRED) {
                return new Revocation(
                        null, code == RevocationReasonTags.KEY_COMPROMISED ? "as compromised" : "without a reason");
            }
            Instant at = s.getCreationTime().toInstant();
            if (soft == null || at.isBefore(soft)) {
                soft = at;
                softReason = code == RevocationReasonTags.KEY_SUPERSEDED ? "superseded" : "retired";
            }
        }
        return soft == null ? null : new Revocation(soft, softReason);
    }

    /**
     * The revocations of {@code primary} made by a key its owner designated as a revoker (a
     * "revocation key" in any of its verified self-signatures, as gpg's {@code --desig-revoke}
     * writes; a designation cannot be taken back, so a thief holding the key cannot undo it) and
     * that verify with that key, which must be in the trusted file: a key whose owner lost it, or
     * an organisation's key that revokes its members' keys. A revocation by any other key counts
     * for nothing.
     */
    private List<PGPSignature> byDesignatedRevokers(PGPPublicKey primary) {
        List<PGPSignature> out = new ArrayList<>();
        List<PGPSignature> byOthers = new ArrayList<>();
        primary.getSignaturesOfType(PGPSignature.KEY_REVOCATION).forEachRemaining(s -> {
            if (s.getKeyID() != primary.getKeyID()) {
                byOthers.add(s);
            }
        });
        if (byOthers.isEmpty()) {
            return out; // the usual case: no self-signature needs verifying for designations
        }
        Set<String> designated = new HashSet<>();
        for (PGPSignature self : selfSignatures(primary)) {
            PGPSignatureSubpacketVector hashed = self.getHashedSubPackets();
            if (hashed == null) {
                continue;
            }
            for (SignatureSubpacket p : hashed.getSubpackets(SignatureSubpacketTags.REVOCATION_KEY)) {
                // RFC 4880 5.2.3.15: the class has bit 0x80 set, else it designates nothing
                if (p instanceof RevocationKey r && (r.getSignatureClass() & 0x80) != 0) {
                    designated.add(Hex.toHexString(r.getFingerprint()));
                }
            }
        }
        if (designated.isEmpty()) {
            return out;
        }
        for (PGPSignature s : byOthers) {
            PGPPublicKey revoker = find(s.getKeyID());
            if (revoker != null
                    && designated.contains(Hex.toHexString(revoker.getFingerprint()))
                    && verifies(s, revoker, () -> {
                        s.init(verifiers(), revoker);
                        return s.verifyCertification(primary);
                    })) {
                out.add(s);
            }
        }
        return out;
    }

    /**
     * The reason a revocation gives in its hashed area, {@code NO_REASON} when it gives none. Of
     * several (OpenPGP lets the last count, Bouncy Castle reads the first), one that is not
     * superseded or retired wins, so that neither reading softens a compromise; one without a
     * code is no reason.
     */
    private static byte reason(PGPSignature revocation) {
        SignatureSubpacket[] reasons = revocation.getHashedSubPackets() == null
                ? new SignatureSubpacket[0]
                : revocation.getHashedSubPackets().getSubpackets(SignatureSubpacketTags.REVOCATION_REASON);
        byte code = RevocationReasonTags.NO_REASON;
        for (SignatureSubpacket reason : reasons) {
            code = reason.getData().length == 0 ? RevocationReasonTags.NO_REASON : reason.getData()[0];
            if (code != RevocationReasonTags.KEY_SUPERSEDED && code != RevocationReasonTags.KEY_RETIRED) {
                return code;
            }
        }
        return code;
    }

    /**
     * Why a key of the trusted file may not sign, or null when it may: revoked for good (it or
     * its primary; a key only superseded or retired is judged by the signature's date, in {@link
     * #untimely}), a subkey its primary did not bind as a signing key (with the subkey's own
     * back-signature, as gpg demands), or a primary whose self-signature leaves signing out.
     */
    private String unfitToSign(PGPPublicKey key) {
        PGPPublicKeyRing ring = trusted.getPublicKeyRing(key.getKeyID());
        PGPPublicKey primary = ring.getPublicKey();
        Revocation revoked = revocation(primary, PGPSignature.KEY_REVOCATION, primary, null);
        if (revoked != null && revoked.since() == null) {
            return "the key " + Pgp.keyId(primary.getKeyID()) + " is revoked " + revoked.reason();
        }
        if (key.isMasterKey()) {
            PGPSignature newest = newestSelfSignature(primary, SignatureSubpacketTags.KEY_FLAGS);
            if (newest != null && newest.getHashedSubPackets() != null) {
                int flags = newest.getHashedSubPackets().getKeyFlags();
                if (flags != 0 && (flags & KeyFlags.SIGN_DATA) == 0) {
                    return "its self-signature does not let it sign";
                }
            }
            return null;
        }
        Revocation subRevoked = revocation(key, PGPSignature.SUBKEY_REVOCATION, primary, key);
        if (subRevoked != null && subRevoked.since() == null) {
            return "the subkey is revoked " + subRevoked.reason();
        }
        PGPSignature binding = newestBinding(key, primary);
        if (binding == null) {
            return "the subkey is not bound to the key " + Pgp.keyId(primary.getKeyID());
        }
        int flags = binding.getHashedSubPackets() == null
                ? 0
                : binding.getHashedSubPackets().getKeyFlags();
        if ((flags & KeyFlags.SIGN_DATA) == 0) {
            return "the subkey may not sign (its binding leaves signing out)";
        }
        // gpg puts the back-signature in the unhashed area: it needs no cover, being itself a
        // signature by the subkey over both keys, which only the subkey's holder can make
        if (crossCertifies(binding.getHashedSubPackets(), key, primary)
                || crossCertifies(binding.getUnhashedSubPackets(), key, primary)) {
            return null;
        }
        return "the signing subkey is not cross-certified (no back-signature)";
    }

    /** Whether {@code area} holds a back-signature by {@code key} binding it to {@code primary} that verifies. */
    private static boolean crossCertifies(PGPSignatureSubpacketVector area, PGPPublicKey key, PGPPublicKey primary) {
        if (area == null) {
            return false;
        }
        try {
            for (PGPSignature back : area.getEmbeddedSignatures()) {
                if (back.getSignatureType() == PGPSignature.PRIMARYKEY_BINDING
                        && verifies(back, key, () -> {
                            back.init(verifiers(), key);
                            return back.verifyCertification(primary, key);
                        })) {
                    return true;
                }
            }
        } catch (PGPException e) {
            // unreadable embedded signature: not cross-certified
        }
        return false;
    }

    /**
     * The newest verified self-signature of a primary that says what {@code subpacket} (key flags,
     * key expiration time) is, or null: any on a user id (one without it says "none", as gpg's
     * {@code --quick-set-expire KEY never} writes), a direct-key signature only when it carries
     * it. gpg's addrevoker writes a direct-key signature with the designation alone, newer than
     * the user id's; as for gpg, it neither ends the key's expiry nor widens its use.
     */
    private static PGPSignature newestSelfSignature(PGPPublicKey primary, int subpacket) {
        PGPSignature newest = null;
        for (PGPSignature s : selfSignatures(primary)) {
            if (s.getSignatureType() != PGPSignature.DIRECT_KEY
                    || (s.getHashedSubPackets() != null
                            && s.getHashedSubPackets().hasSubpacket(subpacket))) {
                newest = newer(newest, s);
            }
        }
        return newest;
    }

    /** The self-signatures of a primary that verify: its user ids' certifications, and direct-key signatures. */
    private static List<PGPSignature> selfSignatures(PGPPublicKey primary) {
        List<PGPSignature> out = new ArrayList<>();
        for (Iterator<String> ids = primary.getUserIDs(); ids.hasNext(); ) {
            String id = ids.next();
            for (Iterator<PGPSignature> it = primary.getSignaturesForID(id); it.hasNext(); ) {
                PGPSignature s = it.next();
                if (s.isCertification()
                        && s.getKeyID() == primary.getKeyID()
                        && verifies(s, primary, () -> {
                            s.init(verifiers(), primary);
                            return s.verifyCertification(id, primary);
                        })) {
                    out.add(s);
                }
            }
        }
        out.addAll(validSignatures(primary, PGPSignature.DIRECT_KEY, primary, null));
        return out;
    }

    /** The newest binding of a subkey by its primary that verifies, or null. */
    private static PGPSignature newestBinding(PGPPublicKey key, PGPPublicKey primary) {
        PGPSignature binding = null;
        for (PGPSignature s : validSignatures(key, PGPSignature.SUBKEY_BINDING, primary, key)) {
            binding = newer(binding, s);
        }
        return binding;
    }

    /**
     * Why a signature made at {@code made} by a fit key is not believed, or null: made before the
     * key was, or after the key (or, for a subkey, its primary) expired, as the newest verified
     * self-signature or binding sets it, or was revoked as superseded or retired. A signature
     * made before the expiry or such a revocation stays good after it, so old backups stay
     * restorable once a key expires or is rotated out; a stolen key cannot sign new manifests
     * without dating them back (which is why a stolen key is revoked as compromised).
     */
    private String untimely(PGPPublicKey key, Date made) {
        if (made.before(key.getCreationTime())) {
            return "the signature is dated " + made.toInstant() + ", before the key was made ("
                    + key.getCreationTime().toInstant() + ")";
        }
        PGPPublicKey primary = trusted.getPublicKeyRing(key.getKeyID()).getPublicKey();
        List<PGPPublicKey> keys = key.isMasterKey() ? List.of(key) : List.of(primary, key);
        for (PGPPublicKey k : keys) {
            Instant expired = expiry(k, primary);
            if (expired != null && !made.toInstant().isBefore(expired)) {
                return "the signature is dated " + made.toInstant() + ", after the key " + Pgp.keyId(k.getKeyID())
                        + " expired (" + expired + ")";
            }
            Revocation revoked = k.isMasterKey()
                    ? revocation(k, PGPSignature.KEY_REVOCATION, k, null)
                    : revocation(k, PGPSignature.SUBKEY_REVOCATION, primary, k);
            if (revoked != null && revoked.since() != null && !made.toInstant().isBefore(revoked.since())) {
                return "the signature is dated " + made.toInstant() + ", after the key " + Pgp.keyId(k.getKeyID())
                        + " was revoked as " + revoked.reason() + " (" + revoked.since() + ")";
            }
        }
        return null;
    }

    /**
     * When {@code k} (a primary, or a subkey of {@code primary}) expires by its newest verified
     * self-signature or binding, or null for never: a newer one without an expiry time (gpg's
     * {@code --quick-set-expire KEY never}) ends an older one's. The signer and the verifier
     * both go by it, so that the signer never writes what restores refuse.
     */
    static Instant expiry(PGPPublicKey k, PGPPublicKey primary) {
        PGPSignature self = k.isMasterKey()
                ? newestSelfSignature(k, SignatureSubpacketTags.KEY_EXPIRE_TIME)
                : newestBinding(k, primary);
        long valid = self == null || self.getHashedSubPackets() == null
                ? 0
                : self.getHashedSubPackets().getKeyExpirationTime();
        return valid > 0 ? k.getCreationTime().toInstant().plusSeconds(valid) : null;
    }

    private interface Check {
        boolean run() throws PGPException;
    }

    private static boolean verifies(PGPSignature s, PGPPublicKey by, Check check) {
        try {
            return check.run();
        } catch (PGPException | RuntimeException e) {
            return false;
        }
    }

    /** The signatures of a type on {@code on} that {@code primary} made and that verify. */
    private static List<PGPSignature> validSignatures(
            PGPPublicKey on, int type, PGPPublicKey primary, PGPPublicKey sub) {
        List<PGPSignature> out = new ArrayList<>();
        for (Iterator<PGPSignature> it = on.getSignaturesOfType(type); it.hasNext(); ) {
            PGPSignature s = it.next();
            if (verifies(s, primary, () -> {
                s.init(verifiers(), primary);
                return sub == null ? s.verifyCertification(primary) : s.verifyCertification(primary, sub);
            })) {
                out.add(s);
            }
        }
        return out;
    }

    private static PGPSignature newer(PGPSignature a, PGPSignature b) {
        return a == null || b.getCreationTime().after(a.getCreationTime()) ? b : a;
    }

    private static JcaPGPContentVerifierBuilderProvider verifiers() {
        return new JcaPGPContentVerifierBuilderProvider().setProvider(Pgp.BC);
    }

    private PGPPublicKey find(long keyId) {
        return trusted.getPublicKey(keyId);
    }

    private List<String> trustedIds() {
        List<String> ids = new ArrayList<>();
        for (PGPPublicKeyRing ring : trusted) {
            for (Iterator<PGPPublicKey> it = ring.getPublicKeys(); it.hasNext(); ) {
                ids.add(Pgp.keyId(it.next().getKeyID()));
            }
        }
        return ids;
    }
}
