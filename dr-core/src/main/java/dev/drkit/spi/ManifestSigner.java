package dev.drkit.spi;

import java.io.IOException;

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
}
