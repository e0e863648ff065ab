package dev.drkit.internal.pipeline;

import dev.drkit.ChecksumMismatchException;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * Counts and hashes what is read and, at end of stream, compares size and hash with what
 * is expected, throwing {@link ChecksumMismatchException} on any difference. Reading past
 * the expected size fails at once. Not thread-safe.
 */
public final class CheckedInputStream extends FilterInputStream {
    private final ContentHash digest;
    private final String algorithm;
    private final long expectedSize;
    private final String expectedHash;
    private final String what;
    private final HashingOutputStream.ByteCounter counter;
    private long count;
    private boolean checked;

    /**
     * @param what names the data in error messages, e.g. {@code stored artifact config/2025.../files.tar.zst}
     * @param counter told of bytes read (progress), or null
     */
    public CheckedInputStream(
            InputStream in,
            long expectedSize,
            String expectedSha256,
            String what,
            HashingOutputStream.ByteCounter counter) {
        this(in, expectedSize, expectedSha256, ContentHash.sha256(), "sha256", what, counter);
    }

    /**
     * @param expectedHash the expected hex hash, or null to check the size only
     * @param algorithm the hash's name in error messages
     */
    public CheckedInputStream(
            InputStream in,
            long expectedSize,
            String expectedHash,
            ContentHash hash,
            String algorithm,
            String what,
            HashingOutputStream.ByteCounter counter) {
        super(in);
        this.digest = hash;
        this.algorithm = algorithm;
        this.expectedSize = expectedSize;
        this.expectedHash = expectedHash;
        this.what = what;
        this.counter = counter;
    }

    @Override
    public int read() throws IOException {
        int b = in.read();
        if (b < 0) {
            check();
        } else {
            digest.update(new byte[] {(byte) b}, 0, 1);
            added(1);
        }
        return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        int n = in.read(b, off, len);
        if (n < 0) {
            check();
        } else if (n > 0) {
            digest.update(b, off, n);
            added(n);
        }
        return n;
    }

    @Override
    public long skip(long n) throws IOException {
        byte[] buf = new byte[(int) Math.min(n, 8192)];
        int r = read(buf, 0, buf.length);
        return Math.max(r, 0);
    }

    @Override
    public boolean markSupported() {
        return false;
    }

    /** Reads what is left without keeping it, then checks. */
    public void drainAndCheck() throws IOException {
        byte[] buf = new byte[64 * 1024];
        while (read(buf, 0, buf.length) >= 0) {
            // read() checks at the end
        }
    }

    /** Whether the whole stream was read and matched. */
    public boolean verified() {
        return checked;
    }

    private void added(int n) throws ChecksumMismatchException {
        count += n;
        if (counter != null) {
            counter.add(n);
        }
        if (expectedSize >= 0 && count > expectedSize) {
            throw new ChecksumMismatchException(what + " is longer than the " + expectedSize
                    + " bytes recorded in the manifest: it was modified; use another backup");
        }
    }

    private void check() throws ChecksumMismatchException {
        if (checked) {
            return;
        }
        if (expectedSize >= 0 && count != expectedSize) {
            throw new ChecksumMismatchException(what + " has " + count + " bytes but the manifest records "
                    + expectedSize + ": it is truncated or was modified; use another backup");
        }
        String actual = digest.hex();
        if (expectedHash != null && !expectedHash.equalsIgnoreCase(actual)) {
            throw new ChecksumMismatchException(what + " has " + algorithm + " " + actual
                    + " but the manifest records " + expectedHash + ": it is corrupt or was tampered with; "
                    + "use another backup");
        }
        checked = true;
    }
}
