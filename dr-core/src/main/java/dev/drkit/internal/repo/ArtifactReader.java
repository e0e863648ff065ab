package dev.drkit.internal.repo;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.ChecksumMismatchException;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.internal.pipeline.CheckedInputStream;
import dev.drkit.internal.pipeline.ContentHash;
import dev.drkit.internal.pipeline.HashingOutputStream;
import dev.drkit.spi.StorageIOException;
import dev.drkit.spi.support.StorageFailures;
import java.io.BufferedInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;

/**
 * The decoded stream of one artifact. Stored bytes are hashed as they are read; when the
 * decoded stream ends, the rest of the stored object is drained and the stored size and
 * sha256 and the raw size and crc32c are compared with the manifest. A decoding error caused by corrupt
 * stored bytes is reported as a {@link ChecksumMismatchException}, which says more than the
 * codec's own complaint. A failure of the storage while reading stays the storage's.
 */
final class ArtifactReader extends FilterInputStream {
    private final CheckedInputStream stored;
    private final String what;

    private ArtifactReader(InputStream decoded, CheckedInputStream stored, String what) {
        super(decoded);
        this.stored = stored;
        this.what = what;
    }

    static InputStream open(
            Repository repo,
            BackupManifest m,
            ArtifactInfo a,
            StreamCodecs codecs,
            HashingOutputStream.ByteCounter counter)
            throws IOException {
        String what = "artifact " + m.target() + "/" + m.id() + "/" + a.storedName();
        return open(repo.openStored(m, a), a, codecs, counter, what);
    }

    /** Decodes and checks the stored bytes of an artifact read from {@code source}. */
    static InputStream open(
            InputStream source,
            ArtifactInfo a,
            StreamCodecs codecs,
            HashingOutputStream.ByteCounter counter,
            String what)
            throws IOException {
        CheckedInputStream stored = null;
        try {
            stored = new CheckedInputStream(
                    new BufferedInputStream(source, 256 * 1024), a.storedSize(), a.sha256(), "stored " + what, null);
            InputStream decoded = codecs.decode(stored, a.codecs(), a.recipients(), what);
            CheckedInputStream raw = new CheckedInputStream(
                    decoded, a.rawSize(), a.rawCrc32c(), ContentHash.crc32c(), "crc32c", "decoded " + what, counter);
            return new ArtifactReader(raw, stored, what);
        } catch (IOException | RuntimeException e) {
            if (stored != null
                    && e instanceof DrException
                    && ((DrException) e).code() == DrException.ErrorCode.DECRYPTION) {
                // a key error may be damage to the stored bytes (the session key packet): that is said first
                try {
                    stored.drainAndCheck();
                } catch (ChecksumMismatchException mismatch) {
                    source.close();
                    mismatch.addSuppressed(e);
                    throw mismatch;
                } catch (IOException | RuntimeException ignored) {
                    // the key error says more
                }
            }
            source.close();
            if (e instanceof DrException) {
                throw (DrException) e;
            }
            rethrowStorageFailure(e);
            throw new CorruptDataException(
                    "cannot decode " + what + ": " + e.getMessage() + "; the backup is damaged, use another one", e);
        }
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        int n = read(one, 0, 1);
        return n < 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        try {
            int n = in.read(b, off, len);
            if (n < 0) {
                stored.drainAndCheck();
            }
            return n;
        } catch (ChecksumMismatchException e) {
            throw e;
        } catch (IOException | RuntimeException e) {
            rethrowStorageFailure(e);
            throw explain(e);
        }
    }

    /** The storage failing to deliver the bytes (a lost connection) says nothing about the backup: not corrupt. */
    private static void rethrowStorageFailure(Exception e) throws StorageIOException {
        StorageIOException failure = StorageFailures.find(e);
        if (failure != null) {
            throw failure;
        }
    }

    private RuntimeException explain(Exception decodeError) {
        try {
            stored.drainAndCheck();
        } catch (ChecksumMismatchException mismatch) {
            mismatch.addSuppressed(decodeError);
            return mismatch;
        } catch (IOException | RuntimeException ignored) {
            // the original error says more
        }
        if (decodeError instanceof DrException) {
            return (DrException) decodeError;
        }
        return new CorruptDataException(
                "cannot decode " + what + ": " + decodeError.getMessage() + "; the backup is damaged, use another one",
                decodeError);
    }
}
