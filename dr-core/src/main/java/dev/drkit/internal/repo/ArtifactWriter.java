package dev.drkit.internal.repo;

import dev.drkit.ArtifactInfo;
import dev.drkit.ObjectExistsException;
import dev.drkit.internal.pipeline.ContentHash;
import dev.drkit.internal.pipeline.HashingOutputStream;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.spi.support.Sha256;
import dev.drkit.spi.support.StorageFailures;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.time.Instant;

/**
 * Streams one artifact into the repository: raw bytes are counted and CRC32C-summed,
 * encoded, SHA-256-hashed as stored, and uploaded. {@link #close()} finishes the encoding, commits the
 * object and writes its {@code .sha256} sidecar; {@link #abort()} leaves nothing. Not
 * thread-safe.
 */
public final class ArtifactWriter extends ArtifactOutput {
    private final Repository repo;
    private final String storedName;
    private final String key;
    private final StreamCodecs codecs;
    private final ObjectUpload upload;
    private final Instant retainUntil;
    private final HashingOutputStream stored;
    private final HashingOutputStream raw;
    private boolean closed;

    private ArtifactWriter(
            Repository repo,
            String name,
            String storedName,
            String key,
            StreamCodecs codecs,
            ObjectUpload upload,
            Instant retainUntil,
            HashingOutputStream.ByteCounter counter)
            throws IOException {
        super(name);
        this.repo = repo;
        this.retainUntil = retainUntil;
        this.storedName = storedName;
        this.key = key;
        this.codecs = codecs;
        this.upload = upload;
        this.stored = new HashingOutputStream(new NonClosing(upload.stream()), ContentHash.sha256(), null);
        this.raw = new HashingOutputStream(codecs.encode(stored, name), ContentHash.crc32c(), counter);
    }

    static ArtifactWriter open(
            Repository repo,
            String target,
            String backupId,
            String name,
            StreamCodecs codecs,
            HashingOutputStream.ByteCounter counter)
            throws IOException {
        return openAt(repo, RepositoryLayout.backupPrefix(target, backupId), name, codecs, counter);
    }

    /** An artifact stored as {@code prefix + name + extension}, outside any backup (e.g. a WAL segment). */
    static ArtifactWriter openAt(
            Repository repo, String prefix, String name, StreamCodecs codecs, HashingOutputStream.ByteCounter counter)
            throws IOException {
        return openAt(repo, prefix, name, name, codecs, counter);
    }

    /** An artifact {@code name} stored as {@code prefix + storedBase + extension}. */
    static ArtifactWriter openAt(
            Repository repo,
            String prefix,
            String name,
            String storedBase,
            StreamCodecs codecs,
            HashingOutputStream.ByteCounter counter)
            throws IOException {
        String storedName = storedBase + codecs.extension();
        String key = prefix + storedName;
        Instant retainUntil = repo.retainUntil();
        ObjectUpload upload = repo.storage().create(key, retainUntil);
        try {
            return new ArtifactWriter(repo, name, storedName, key, codecs, upload, retainUntil, counter);
        } catch (IOException e) {
            upload.close();
            throw StorageFailures.classify(e);
        } catch (RuntimeException e) {
            upload.close();
            throw e;
        }
    }

    /** Finishes and commits the artifact. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        try {
            raw.close();
            upload.commit();
            String sha = stored.hash();
            String sidecar = key + RepositoryLayout.SHA256_SUFFIX;
            if (!repo.storage()
                    .createIfAbsent(
                            sidecar,
                            Sha256.sidecar(sha, storedName).getBytes(StandardCharsets.US_ASCII),
                            retainUntil)) {
                throw new ObjectExistsException("checksum file " + sidecar + " already exists");
            }
            committed(new ArtifactInfo(
                    name(),
                    storedName,
                    raw.count(),
                    stored.count(),
                    sha,
                    raw.hash(),
                    codecs.chain(),
                    codecs.recipients()));
        } catch (FileAlreadyExistsException e) {
            throw new ObjectExistsException("artifact " + key + " already exists in " + repo.describe(), e);
        } catch (IOException e) {
            throw StorageFailures.classify(e);
        } finally {
            upload.close();
        }
    }

    /** Abandons the artifact; nothing of it stays in the repository. */
    @Override
    public void abort() {
        closed = true;
        try {
            upload.close();
        } catch (IOException ignored) {
            // best effort: an orphan upload is never listed
        }
        try {
            raw.close(); // releases the compressor's native memory and the pipeline thread
        } catch (IOException | RuntimeException ignored) {
            // expected: the upload is gone
        }
    }

    @Override
    OutputStream raw() {
        return raw;
    }

    private static final class NonClosing extends FilterOutputStream {
        NonClosing(OutputStream out) {
            super(out);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            out.write(b, off, len);
        }

        @Override
        public void close() throws IOException {
            out.flush();
        }
    }
}
