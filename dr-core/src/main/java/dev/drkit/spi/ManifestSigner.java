package dev.drkit.spi;

import java.io.IOException;
import java.time.Instant;
import java.util.Optional;

/**
 * Signs manifests when backups are written. The detached signature is stored beside the
 * manifest as {@code manifest.json<suffix>}, before the manifest itself, so that a manifest
 * never exists without its signature. Implementations are immutable and thread-safe.
 */
public interface ManifestSigner {

    /** The signature file's suffix, with its dot (e.g. {@code .asc}). */
    String signatureSuffix();

    /** A detached signature over exactly these bytes. */
    byte[] sign(byte[] manifest) throws IOException;

    /**
     * When this signer stops signing (its key expires), or empty for never. Status reports a
     * signer within a week of it as a problem: backups and WAL archiving fail from then on,
     * since restores would not believe what it signed.
     */
    default Optional<Instant> validUntil() {
        return Optional.empty();
    }
}
