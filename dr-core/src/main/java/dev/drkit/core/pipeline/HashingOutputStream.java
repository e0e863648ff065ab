package dev.drkit.core.pipeline;

import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.security.MessageDigest;

/** Counts and SHA-256-hashes what passes through. Not thread-safe. */
public final class HashingOutputStream extends FilterOutputStream {
    private final MessageDigest digest = Sha256.newDigest();
    private final ByteCounter counter;
    private long count;
    private String hex;

    /** @param counter also told of every byte written (progress), or null */
    public HashingOutputStream(OutputStream out, ByteCounter counter) {
        super(out);
        this.counter = counter;
    }

    @Override
    public void write(int b) throws IOException {
        out.write(b);
        digest.update((byte) b);
        added(1);
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
    public String sha256() {
        if (hex == null) {
            hex = Sha256.hex(digest.digest());
        }
        return hex;
    }

    /** Receives byte counts as they pass. */
    @FunctionalInterface
    public interface ByteCounter {
        void add(long bytes);
    }
}
