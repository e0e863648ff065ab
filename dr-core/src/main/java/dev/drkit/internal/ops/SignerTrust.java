package dev.drkit.internal.ops;

import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.spi.ManifestSigner;
import dev.drkit.spi.ManifestVerifier;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Whether the kit's own trusted keys believe what its signer signs. A kit given both signs its
 * backups and refuses, on restore, what they refuse: a signing key they hold as revoked (by
 * itself or by a revoker it designated), expired or unfit, or one they do not hold, makes backups
 * that look fine and that no restore believes. A probe, signed and verified as a manifest is,
 * says so before a backup starts, and in status. Internal.
 */
final class SignerTrust {
    static final String PROBE = "a probe signed with the key that signs manifests";
    private static final Logger LOG = LoggerFactory.getLogger(SignerTrust.class);

    private SignerTrust() {}

    /**
     * Why the trusted keys refuse what {@code signer} signs, or empty when they accept it (or when
     * either is not configured).
     *
     * @throws IOException when the signer cannot sign at all
     */
    static Optional<String> refusal(ManifestSigner signer, ManifestVerifier trusted, Instant now) throws IOException {
        if (signer == null || trusted == null) {
            return Optional.empty();
        }
        byte[] probe = ("drkit signer probe " + now).getBytes(StandardCharsets.US_ASCII);
        byte[] signature = signer.sign(probe);
        try {
            trusted.verify(probe, signature, PROBE);
        } catch (RuntimeException e) {
            if (e instanceof DrException d && d.code() == ErrorCode.SIGNATURE) {
                return Optional.of(e.getMessage());
            }
            // a verifier's contract speaks of manifests only: one that reads what it is given may
            // fail on the probe for that alone, which says nothing of the key and must not stop
            // every backup
            LOG.debug("the trusted keys could not judge the signer's probe: {}", e.toString());
        }
        return Optional.empty();
    }

    /** Fails with {@link ErrorCode#SIGNATURE} when the trusted keys refuse what {@code signer} signs. */
    static void require(ManifestSigner signer, ManifestVerifier trusted, Instant now) {
        Optional<String> refused;
        try {
            refused = refusal(signer, trusted, now);
        } catch (IOException e) {
            throw new DrException(
                    ErrorCode.SIGNATURE, "the key that signs manifests cannot sign: " + e.getMessage(), e);
        }
        refused.ifPresent(why -> {
            throw new DrException(ErrorCode.SIGNATURE, message(why));
        });
    }

    /** A refusal in words, with what to do. */
    static String message(String why) {
        return "this kit's trusted keys refuse what its signer signs, so no restore with them would believe a backup "
                + "taken now: " + why + "; sign with a key the trusted keys accept (a revoked key needs a new one), "
                + "or add the signer's public key to them";
    }
}
