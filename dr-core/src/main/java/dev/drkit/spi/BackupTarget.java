package dev.drkit.spi;

import dev.drkit.Capability;
import java.io.IOException;
import java.util.Set;

/**
 * Something to protect: a directory tree, a PostgreSQL cluster, a Redis server, a bucket.
 *
 * <p>During {@link #backup} a target writes one or more named artifacts as streams and
 * records metadata; during {@link #restore} it reads them back into a destination the
 * caller names, never silently over live data. drkit handles compression, encryption,
 * checksums, storage and the manifest; a target only produces and consumes raw bytes.
 *
 * <p>Instances are created per use by a {@link BackupTargetProvider} from settings and
 * need not be thread-safe.
 */
public interface BackupTarget {

    /** The target type, as its provider names it (e.g. {@code files}). */
    String type();

    /** What this target can do. */
    Set<Capability> capabilities();

    /**
     * Whether the repository's fastest compression level suits this target's artifacts better
     * than the codec's default: true for data that is partly compressed already (a Redis RDB
     * compresses its long strings itself), where a higher level costs CPU and stores no less.
     * drkit follows it only when neither the kit ({@code compression-level}) nor the target's
     * settings ({@code compression-level}) name a level. The default is false.
     */
    default boolean prefersFastCompression() {
        return false;
    }

    /**
     * Whether this target's source runs in processes of its own that need the CPU while the
     * backup reads them (pg_dump and its server, a forking Redis). On a host with 2 cores or
     * fewer drkit then compresses on the writing thread rather than on worker threads, which
     * would only compete with the source (a 1 GB logical backup took 2.68 s instead of 2.88 s);
     * a source read inside the JVM (files) keeps the workers (1.5 times slower without them).
     * Not followed when the host sets {@code compression-workers}. The default is false.
     */
    default boolean sourceCompetesForCpu() {
        return false;
    }

    /**
     * Produces the backup's artifacts through {@link BackupContext#newArtifact}. Throwing
     * aborts the backup: drkit removes what was written and no manifest is created.
     *
     * <p>The repository's own failures (of the artifact streams, of {@link BackupContext}'s
     * reads) are {@link StorageIOException}s, and drkit reports them, or an exception caused by
     * one, as the repository's. Any other {@link IOException} thrown from here is taken for a
     * failure of the source and reported as a {@link dev.drkit.DrException.ErrorCode#TARGET}
     * error of this target; a target that can say more (which file, which connection, what to
     * do) throws that {@link dev.drkit.DrException} itself. A target that reads its source
     * through a {@link StorageBackend} reports that storage's failures as such a
     * {@code DrException}, or they would be taken for the repository's. Source files that
     * changed while they were copied are not a failure: a target records them under
     * {@link dev.drkit.BackupResult#INCOMPLETE_FILES} and
     * {@link dev.drkit.BackupResult#INCOMPLETE_FILE_COUNT}.
     */
    void backup(BackupContext context) throws IOException;

    /**
     * Consumes a backup's artifacts through {@link RestoreContext#openArtifact} into the
     * destination given in {@link RestoreContext#options()}. Must refuse a destination that
     * holds data unless {@link RestoreContext#force()} is set, and must not leave partial
     * data there when an artifact turns out to be corrupt. A target that restores online into a
     * live service (a bucket, a Redis server) may instead merge without force: it adds what the
     * backup holds and never replaces or removes what was written at the destination after the
     * backup was taken, so that deleted data comes back without undoing newer writes.
     *
     * <p>As in {@link #backup}, an {@link IOException} that is not the repository's
     * {@link StorageIOException} is taken for a failure of the destination and reported as a
     * {@link dev.drkit.DrException.ErrorCode#TARGET} error of this target.
     */
    void restore(RestoreContext context) throws IOException;
}
