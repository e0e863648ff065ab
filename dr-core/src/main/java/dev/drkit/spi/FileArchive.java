package dev.drkit.spi;

import dev.drkit.ArtifactInfo;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/**
 * Files kept in a repository outside any single backup, such as PostgreSQL WAL segments: each
 * stored once (compressed, encrypted, checksummed like an artifact) and complete only once its
 * info document is written, last. Paths are relative, {@code /}-separated.
 */
public interface FileArchive {

    /** What {@link #put} did. */
    enum PutResult {
        /** The file is now stored, durably. */
        STORED,
        /** The same bytes were stored before; nothing changed. */
        ALREADY_STORED
    }

    /** Compares stored bytes (read to the end) with the bytes being stored. */
    @FunctionalInterface
    interface SameContent {
        boolean test(InputStream stored) throws IOException;
    }

    /**
     * Stores {@code raw} under {@code path}; returns once it is durable.
     *
     * @throws dev.drkit.ObjectExistsException when the path holds other bytes
     */
    PutResult put(String path, InputStream raw, SameContent same) throws IOException;

    /** The decoded bytes under {@code path}, checked as they stream; empty when none is stored. */
    Optional<InputStream> open(String path) throws IOException;

    /** What is recorded about {@code path}, if it is stored. */
    Optional<ArtifactInfo> info(String path) throws IOException;

    /** Paths of complete files under {@code prefix}, sorted. */
    List<String> list(String prefix) throws IOException;

    /** Removes a stored file. */
    void delete(String path) throws IOException;

    /** Removes stored files; the default removes them one by one. */
    default void deleteAll(List<String> paths) throws IOException {
        for (String path : paths) {
            delete(path);
        }
    }

    /** Where the archive lives, for messages. */
    /**
     * When the file under {@code path} was stored (the time its record was written, which makes
     * it complete): in a repository filled by a copy, when it was stored in the repository it was
     * copied from, so that how far a restore from the copy reaches is not judged by when the copy
     * ran; empty when it is not stored or the storage keeps no times. The file's record is read
     * and checked as {@link #info} checks it.
     *
     * @throws IOException when the storage fails
     */
    default Optional<Instant> storedAt(String path) throws IOException {
        return Optional.empty();
    }

    String describe();
}
