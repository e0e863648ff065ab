package dev.drkit.spi;

/**
 * Checks manifest signatures against trusted keys before a backup is restored or verified.
 * Implementations are immutable and thread-safe.
 */
public interface ManifestVerifier {

    /** The signature file's suffix, with its dot (e.g. {@code .asc}). */
    String signatureSuffix();

    /**
     * Accepts the manifest or throws a {@link dev.drkit.DrException} with code
     * {@link dev.drkit.DrException.ErrorCode#SIGNATURE} that says why (missing, made by an
     * untrusted key, or not matching the bytes).
     *
     * @param signature the stored signature, or null when there is none
     * @param what names the manifest in messages
     */
    void verify(byte[] manifest, byte[] signature, String what);
}
