package dev.drkit.spi;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.Settings;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;

/** What drkit gives a {@link Verifier}. */
public interface VerificationContext {

    /** The backup being verified. */
    BackupManifest manifest();

    /** The stored bytes of an artifact, exactly as in the repository, unchecked. */
    InputStream openStored(ArtifactInfo artifact) throws IOException;

    /**
     * The raw bytes of an artifact, decrypted and decompressed, with stored and raw
     * checksums checked as they stream (a mismatch throws at the end at the latest).
     */
    InputStream openDecoded(ArtifactInfo artifact) throws IOException;

    /**
     * For a deduplicated artifact (whose stored object is only its chunk list): checks, with no
     * key, that every chunk it lists is stored with the bytes the chunk index describes, as a
     * copy to another repository checks what it moves. Does nothing for other artifacts, and by
     * default.
     *
     * @throws dev.drkit.CorruptDataException when a chunk has no stored copy that matches
     * @throws IOException when the storage fails
     */
    default void checkStoredChunks(ArtifactInfo artifact) throws IOException {}

    /**
     * The raw bytes of artifact {@code name} of backup {@code backupId}, which the verified
     * backup depends on (its parent, or a backup it lists in {@link BackupManifest#dependsOn()}),
     * checked as {@link #openDecoded(ArtifactInfo)} checks: what a restore test of an incremental
     * backup reads the files of earlier backups from.
     *
     * @throws dev.drkit.BackupNotFoundException when the verified backup does not depend on
     *     {@code backupId}, or that backup has no such artifact
     * @throws IOException when the storage fails
     */
    default InputStream openDecoded(String backupId, String name) throws IOException {
        throw new UnsupportedOperationException("this context cannot read the backups the verified one depends on");
    }

    /** An area of the repository for files outside any backup ({@code wal}), e.g. to replay WAL in a restore test. */
    default FileArchive archive(String area) {
        throw new UnsupportedOperationException("this context has no file archive");
    }

    /**
     * The complete backups of the verified backup's target, oldest first, as the catalog lists
     * them (damaged ones left out, a signed repository's checked as for a restore), the verified
     * one among them: for a verifier whose finding depends on what later backups cover, such as a
     * gap in the WAL archive that a later base backup starts after. Empty by default, when the
     * context cannot list them: the backup is then judged alone.
     *
     * @throws IOException when the storage fails
     */
    default List<BackupManifest> backupsOfTarget() throws IOException {
        return List.of();
    }

    /**
     * The content of an artifact's {@code .sha256} checksum file (what {@code sha256sum -c}
     * reads when drkit is not at hand), or null when it is missing. Small; read whole.
     *
     * @throws IOException when the storage fails
     */
    default byte[] checksumFile(ArtifactInfo artifact) throws IOException {
        throw new UnsupportedOperationException("this context cannot read checksum files");
    }

    /** Verifier options. */
    Settings options();
}
