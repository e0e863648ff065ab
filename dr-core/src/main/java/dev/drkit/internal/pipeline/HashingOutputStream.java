package dev.drkit.internal.pipeline;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;

/** Counts and hashes what passes through. Not thread-safe. */
public final class HashingOutputStream extends FilterOutputStream {
    private final ContentHash digest;
    private final ByteCounter counter;
    private long count;
    private String hex;

    /** @param counter also told of every byte written (progress), or null */
    public HashingOutputStream(OutputStream out, ContentHash hash, ByteCounter counter) {
        super(out);
        this.digest = hash;
        this.counter = counter;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        digest.update(b, off, len);
        added(len);
    }

    private void added(long n) {
        count += n;
        if (counter != null) {
            counter.add(n);
        }
    }

    public long count() {
        return count;
    }

    /** The hash of everything written; call once writing is done. */
    public String hash() {
        if (hex == null) {
            hex = digest.hex();
        }
        return hex;
    }

    /** Receives byte counts as they pass. */
    @FunctionalInterface
    public interface ByteCounter {
        void add(long bytes);
    }
}
