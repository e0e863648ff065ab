package dev.drkit.internal.repo;

import dev.drkit.ArtifactInfo;
import dev.drkit.spi.support.StorageFailures;
import java.io.IOException;
import java.io.OutputStream;

/**
 * Where a backup writes one artifact: a single stored object ({@link ArtifactWriter}) or
 * deduplicated chunks ({@link ChunkedArtifactWriter}). {@link #close()} commits the artifact,
 * {@link #abort()} abandons it. Not thread-safe: one writer.
 */
public abstract class ArtifactOutput extends OutputStream {
    private final String name;
    private ArtifactInfo result;

    ArtifactOutput(String name) {
        this.name = name;
    }

    /** Records what was stored, once the artifact is committed. */
    final void committed(ArtifactInfo info) {
        this.result = info;
    }

    /** The stream the raw bytes go into. */
    abstract OutputStream raw();

    // whatever fails past this point (encoding, upload) is the repository's side, never the target's
    // source: a StorageIOException says so to whoever catches it

    @Override
    public final void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public final void write(byte[] b, int off, int len) throws IOException {
        try {
            raw().write(b, off, len);
        } catch (IOException e) {
            throw StorageFailures.classify(e);
        }
    }

    @Override
    public final void flush() {
        // encoders buffer and chunks are cut by content: flushing mid-stream would only hurt
    }

    /** The artifact's name in the backup. */
    public final String name() {
        return name;
    }

    /** What was stored; available after a successful {@link #close()}. */
    public final ArtifactInfo info() {
        if (result == null) {
            throw new IllegalStateException("artifact " + name + " is not committed");
        }
        return result;
    }

    /**
     * For an artifact in the chunk store: its chunks, how many of them it stored (the others
     * were stored already) and their stored bytes; null for an artifact stored as one object.
     */
    public long[] dedupCounts() {
        return null;
    }

    /** Abandons the artifact: it is never listed in a manifest. */
    public abstract void abort();
}
