package dev.drkit;

import java.util.List;
import java.util.Objects;

/**
 * One stored artifact of a backup, as recorded in its manifest.
 *
 * @param name the logical name the target gave it (e.g. {@code files.tar})
 * @param storedName the object name in the backup's folder (e.g. {@code files.tar.zst})
 * @param rawSize bytes the target produced
 * @param storedSize bytes stored, after compression and encryption
 * @param sha256 lowercase hex sha256 of the stored bytes (also in the {@code .sha256} sidecar)
 * @param rawCrc32c lowercase hex CRC32C of the raw bytes, checked after decoding
 * @param codecs the codec chain applied, in write order (e.g. {@code ["zstd"]})
 * @param recipients key ids the artifact is encrypted to (empty when not encrypted)
 */
public record ArtifactInfo(
        String name,
        String storedName,
        long rawSize,
        long storedSize,
        String sha256,
        String rawCrc32c,
        List<String> codecs,
        List<String> recipients) {

    public ArtifactInfo {
        Objects.requireNonNull(name, "name");
        Objects.requireNonNull(storedName, "storedName");
        Objects.requireNonNull(sha256, "sha256");
        codecs = codecs == null ? List.of() : List.copyOf(codecs);
        recipients = recipients == null ? List.of() : List.copyOf(recipients);
    }
}
