package dev.drkit.spi;

import dev.drkit.BackupManifest;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.time.Clock;
import java.util.Optional;
import org.slf4j.LoggerFactory;

/**
 * What drkit gives a {@link BackupTarget} during a backup. Not thread-safe, except that
 * distinct artifacts may be written from distinct threads.
 */
public interface BackupContext {

    /** The name of the target being backed up (e.g. {@code config}). */
    String targetName();

    /** The id of the backup being written. */
    String backupId();

    /**
     * Opens a new artifact. Write its raw bytes and close the stream: closing compresses,
     * encrypts, checksums and commits it. Names are simple file names, unique per backup.
     */
    OutputStream newArtifact(String name) throws IOException;

    /**
     * Drops an artifact this backup opened and will not finish (a target that found, part way,
     * that it must write the backup another way): what was written of it is removed, and the
     * manifest will not list it. Its name may then be used again. Unknown names are ignored.
     */
    default void discardArtifact(String name) {
        throw new UnsupportedOperationException("this context cannot discard artifacts");
    }

    /** Records target metadata in the manifest; values must be JSON-friendly. */
    void metadata(String key, Object value);

    /** Sets the kind recorded in the manifest (default {@code full}). */
    void kind(String kind);

    /**
     * Records the backup this one builds on (an incremental's parent). Retention never
     * expires the parent while this backup is kept.
     */
    void parent(String backupId);

    /** Records another backup a restore of this one needs (besides the parent). */
    void dependsOn(String backupId);

    /** Tells how many raw bytes the backup is expected to produce, for progress and ETA. */
    void expectBytes(long total);

    /** The newest complete backup of this target, for incremental backups. */
    Optional<BackupManifest> previous();

    /**
     * Opens an artifact of an earlier complete backup of this target (decoded and checked), so
     * that an incremental backup can compare against what is already stored.
     */
    InputStream openArtifact(BackupManifest earlier, String name) throws IOException;

    /**
     * An earlier complete backup of this target by id (for example one that an incremental chain
     * depends on), so that its artifacts can be opened with {@link #openArtifact}; empty when
     * there is none. The default (contexts outside drkit's own backups) knows none.
     */
    default Optional<BackupManifest> earlier(String backupId) {
        return Optional.empty();
    }

    /**
     * Whether drkit asks for a synthetic full backup: a full backup built from the newest backup
     * and the backups it depends on, read from the repository, without reading the source. drkit
     * asks right after a backup whose manifest set {@link BackupManifest#SYNTHETIC_FULL_DUE}, so a
     * target that sets it must honour this. The default is false.
     */
    default boolean synthesize() {
        return false;
    }

    /**
     * An area of the repository for files outside any backup ({@code wal}), e.g. to check that
     * the WAL a base backup needs has been archived.
     */
    default FileArchive archive(String area) {
        throw new UnsupportedOperationException("this context has no file archive");
    }

    /**
     * Tells the host something it should know about this backup that does not fail it, e.g. that
     * the target fell back to a weaker mode; one line, no secrets. drkit logs it at WARN (logger
     * {@code dev.drkit.warnings}) and sends a {@link dev.drkit.DrEvent.Type#BACKUP_WARNING} event. The
     * default (contexts outside drkit's own backups) logs it only.
     */
    default void warn(String message) {
        LoggerFactory.getLogger("dev.drkit.warnings").warn("{}: {}", targetName(), message);
    }

    /** The clock drkit runs on. */
    Clock clock();
}
