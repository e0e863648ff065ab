package dev.drkit.spi;

import dev.drkit.BackupManifest;
import dev.drkit.Settings;
import java.io.IOException;
import java.io.InputStream;
import org.slf4j.LoggerFactory;

/** What drkit gives a {@link BackupTarget} during a restore. Not thread-safe. */
public interface RestoreContext {

    /** The backup being restored. */
    BackupManifest manifest();

    /**
     * Opens an artifact's raw bytes: read from storage, checked, decrypted, decompressed.
     * The stored checksum and size are checked as bytes stream, and a mismatch throws
     * {@link dev.drkit.ChecksumMismatchException} at the latest when the end is reached,
     * so a target must treat what it wrote as provisional until the stream is exhausted.
     *
     * @throws dev.drkit.BackupNotFoundException when the backup has no such artifact
     */
    InputStream openArtifact(String name) throws IOException;

    /**
     * Opens an artifact of a backup this one depends on ({@link BackupManifest#parent()} or
     * {@link BackupManifest#dependsOn()}), for restoring incremental backups.
     *
     * @throws dev.drkit.BackupNotFoundException when {@code backupId} is not a dependency or is gone
     */
    InputStream openArtifact(String backupId, String name) throws IOException;

    /**
     * An area of the repository for files outside any backup ({@code wal}), e.g. to check that
     * the WAL a base backup needs has been archived.
     */
    default FileArchive archive(String area) {
        throw new UnsupportedOperationException("this context has no file archive");
    }

    /** Restore options (for {@code files}: {@code to}). */
    Settings options();

    /** Whether the caller explicitly allowed overwriting existing data. */
    boolean force();

    /**
     * Tells the host something it should know about this restore that does not fail it; one
     * line, no secrets. drkit logs it at WARN (logger {@code dev.drkit.warnings}) and sends a
     * {@link dev.drkit.DrEvent.Type#RESTORE_WARNING} event. The default (contexts outside drkit's
     * own restores) logs it only.
     */
    default void warn(String message) {
        LoggerFactory.getLogger("dev.drkit.warnings").warn("{}: {}", manifest().target(), message);
    }
}
