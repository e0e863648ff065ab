package dev.drkit.spi;

import dev.drkit.spi.support.BoundedInputStream;
import java.io.Closeable;
import java.io.IOException;
import java.io.InputStream;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * A flat key space of immutable objects: where a repository lives (local disk, S3, MinIO).
 *
 * <p>Keys are {@code /}-separated relative paths without {@code .} or {@code ..} segments.
 * Objects are write-once: {@link #create} streams an object that becomes visible only when
 * {@link ObjectUpload#commit()} succeeds, and committing over an existing key fails. Any
 * object size must work with bounded memory.
 *
 * <p>Implementations are thread-safe: one instance serves concurrent uploads and reads.
 * Methods throw {@link IOException} for storage failures; drkit wraps them with context.
 */
public interface StorageBackend extends Closeable {

    /**
     * Where this backend stores, for messages and logs: never contains credentials or
     * query parameters that could hold secrets.
     */
    String describe();

    /**
     * Starts a streaming upload of a new object. Nothing is visible under {@code key}
     * until {@link ObjectUpload#commit()}; closing without commit leaves nothing behind.
     */
    ObjectUpload create(String key) throws IOException;

    /**
     * Atomically creates a small object unless the key already exists.
     *
     * @return true when this call created it, false when an object was already there
     */
    boolean createIfAbsent(String key, byte[] content) throws IOException;

    /**
     * How long this storage keeps the backup data written to it immutable (S3 Object Lock),
     * when it is configured to; empty for storage that does not lock objects. The repository
     * then writes its artifacts, checksums, manifests and WAL with
     * {@link #create(String, Instant)} and {@link #createIfAbsent(String, byte[], Instant)},
     * and its own short-lived objects (locks, status) without.
     */
    default Optional<Duration> immutableFor() {
        return Optional.empty();
    }

    /**
     * Until when the storage keeps this object immutable, as the storage itself says (for
     * objects written by another repository's copy, say); empty when it is not locked.
     */
    default Optional<Instant> retainedUntil(String key) throws IOException {
        return Optional.empty();
    }

    /**
     * {@link #create(String)}, the object kept immutable (neither deleted nor overwritten)
     * until {@code retainUntil}; null means no lock. Storage that cannot lock refuses a time.
     */
    default ObjectUpload create(String key, Instant retainUntil) throws IOException {
        if (retainUntil != null) {
            throw new UnsupportedOperationException(describe() + " cannot keep objects immutable");
        }
        return create(key);
    }

    /** {@link #createIfAbsent(String, byte[])}, the object kept immutable until {@code retainUntil} (null: no lock). */
    default boolean createIfAbsent(String key, byte[] content, Instant retainUntil) throws IOException {
        if (retainUntil != null) {
            throw new UnsupportedOperationException(describe() + " cannot keep objects immutable");
        }
        return createIfAbsent(key, content);
    }

    /**
     * Opens an object for reading from {@code offset}.
     *
     * @throws java.nio.file.NoSuchFileException when there is no such object
     */
    InputStream open(String key, long offset) throws IOException;

    /**
     * Opens {@code length} bytes of an object from {@code offset} (fewer when the object ends
     * first). Remote backends override this to ask for just that range, so that closing the
     * stream early transfers nothing more; the default reads from {@code offset} and stops.
     *
     * @throws java.nio.file.NoSuchFileException when there is no such object
     */
    default InputStream open(String key, long offset, long length) throws IOException {
        return new BoundedInputStream(open(key, offset), length);
    }

    /** Size and time of an object, or empty when it does not exist. */
    Optional<ObjectInfo> stat(String key) throws IOException;

    /**
     * Every committed object whose key starts with {@code prefix}, sorted by key. Uploads
     * in progress are never listed.
     */
    List<ObjectInfo> list(String prefix) throws IOException;

    /** Deletes an object; deleting a missing one is not an error. */
    void delete(String key) throws IOException;

    /**
     * Deletes many objects; missing ones are not an error. Object stores override this with
     * their batch call (S3: 1000 keys a request); the default deletes one by one.
     */
    default void deleteAll(Collection<String> keys) throws IOException {
        for (String key : keys) {
            delete(key);
        }
    }

    /**
     * Removes what interrupted uploads left behind (temporary files, incomplete multipart
     * uploads) that is older than {@code olderThan}. Never touches committed objects.
     *
     * @return how many were removed
     */
    default int cleanIncompleteUploads(Duration olderThan) throws IOException {
        return 0;
    }

    /**
     * Uploads started and never committed or aborted (left by a killed writer) that are older
     * than {@code olderThan}, for a repository check to list; what
     * {@link #cleanIncompleteUploads} would remove. The default knows of none.
     *
     * @throws IOException when the storage fails
     */
    default List<ObjectInfo> incompleteUploads(Duration olderThan) throws IOException {
        return List.of();
    }

    /** Releases resources; the default does nothing. Clients the host gave are not closed. */
    @Override
    default void close() throws IOException {}
}
