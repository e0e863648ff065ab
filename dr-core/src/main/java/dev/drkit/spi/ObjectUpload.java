package dev.drkit.spi;

import java.io.Closeable;
import java.io.IOException;
import java.io.OutputStream;

/**
 * A streaming upload of one object. Write to {@link #stream()}, then {@link #commit()} to
 * make the object visible atomically; {@link #close()} without a commit aborts and leaves
 * nothing behind. Not thread-safe: one writer at a time.
 */
public interface ObjectUpload extends Closeable {

    /** The stream to write the object's bytes to; do not close it yourself. */
    OutputStream stream();

    /**
     * Makes the object durable and visible under its key.
     *
     * @return what was stored
     * @throws java.nio.file.FileAlreadyExistsException when the key already exists
     *         (objects are write-once); the upload is then aborted
     */
    ObjectInfo commit() throws IOException;

    /** Aborts the upload unless it was committed; safe to call more than once. */
    @Override
    void close() throws IOException;
}
