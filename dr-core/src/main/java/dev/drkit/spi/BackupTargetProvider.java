package dev.drkit.spi;

import dev.drkit.BackupManifest;
import dev.drkit.Settings;
import java.io.IOException;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Function;

/**
 * Creates {@link BackupTarget}s of one type from settings. Stateless with a cheap no-arg
 * constructor; registered in {@code META-INF/services/dev.drkit.spi.BackupTargetProvider}
 * or given to the builder.
 */
public interface BackupTargetProvider {

    /** The target type served (e.g. {@code files}, {@code postgres-logical}). */
    String type();

    /** Breaks ties between providers of one type; equal priorities are an error. */
    default int priority() {
        return 0;
    }

    /**
     * Creates a target.
     *
     * @param settings the target's settings (for {@code files}: {@code path}, {@code exclude})
     * @throws dev.drkit.ConfigException listing every invalid or missing setting
     */
    BackupTarget create(Settings settings);

    /**
     * The settings {@link #create} reads, which a target keeps for every backup. The default is
     * {@link OptionSchema#unchecked()}: settings are passed on as given, and {@code drkit targets}
     * says the type does not publish its options.
     */
    default OptionSchema schema() {
        return OptionSchema.unchecked();
    }

    /**
     * The options a restore reads from {@link RestoreContext#options()}. A restore may be given
     * the target's settings too (a configured target's settings under the ones given for one
     * restore), so they are checked against this schema plus {@link #schema()}. The default is
     * {@link OptionSchema#unchecked()}.
     */
    default OptionSchema restoreSchema() {
        return OptionSchema.unchecked();
    }

    /**
     * The repository areas (such as {@code wal}) that this type's backups need beside their own
     * artifacts; a copy replicates them with the backups, and a check covers them. The default is
     * none. A question about the type, not about one configured target.
     */
    default List<String> archiveAreas() {
        return List.of();
    }

    /**
     * After a prune: removes what only expired backups needed from the repository's file archive
     * (PostgreSQL WAL older than the oldest kept base backup). {@code kept} holds every complete
     * backup of this type in the repository, whatever its target name, since they may share the
     * archive. Returns the paths removed (or, in a dry run, that would be).
     */
    default List<String> pruneArchive(List<BackupManifest> kept, Function<String, FileArchive> archive, boolean dryRun)
            throws IOException {
        return List.of();
    }

    /**
     * How far past {@code newest}, the newest complete backup of a target of this type, a restore
     * can recover from what the repository's file archive holds: the time the last of the data it
     * replays after that backup was stored (PostgreSQL: the newest WAL segment archived without a
     * gap since the backup started), or empty when there is nothing past the backup (the default).
     * Status judges a target's RPO against the later of this and the backup's end, so that a
     * daily base backup with WAL archived by the minute meets an RPO of an hour, and an archive
     * that stopped growing does not.
     *
     * @param archive the repository's file archive areas by name, as for {@link #pruneArchive}
     * @throws IOException when the storage fails
     */
    default Optional<Instant> recoveryPoint(BackupManifest newest, Function<String, FileArchive> archive)
            throws IOException {
        return Optional.empty();
    }

    /**
     * Backups that a restore of {@code manifest} needs besides itself (incremental parents, ...);
     * retention never expires them while this one is kept. The default returns the parent, if any,
     * and {@link BackupManifest#dependsOn()}.
     */
    default List<String> dependencies(BackupManifest manifest) {
        return manifest.recordedDependencies();
    }
}
