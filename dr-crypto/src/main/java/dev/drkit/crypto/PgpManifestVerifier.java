package dev.drkit.crypto;

import dev.drkit.ConfigException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.spi.ManifestVerifier;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import org.bouncycastle.openpgp.PGPException;
import org.bouncycastle.openpgp.PGPPublicKey;
import org.bouncycastle.openpgp.PGPPublicKeyRing;
import org.bouncycastle.openpgp.PGPPublicKeyRingCollection;
import org.bouncycastle.openpgp.PGPSignature;
import org.bouncycastle.openpgp.PGPSignatureList;
import org.bouncycastle.openpgp.PGPUtil;
import org.bouncycastle.openpgp.jcajce.JcaPGPObjectFactory;
import org.bouncycastle.openpgp.operator.jcajce.JcaPGPContentVerifierBuilderProvider;

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
