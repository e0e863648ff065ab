package dev.drkit.internal.storage;

import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.StorageIOException;
import dev.drkit.spi.support.StorageFailures;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.time.Duration;
import java.time.Instant;
import java.util.Collection;
import java.util.List;
import java.util.Optional;

/**
 * A storage whose every failure is a {@link StorageIOException}, whatever the backend throws:
 * the repository's failures can then be told apart from a backup target's, and carry a
 * retryability. Only the contract's answers pass unchanged: a missing object on reading and
 * an existing one on committing. Thread-safe as the wrapped backend is.
 */
public final class ClassifiedStorage implements StorageBackend {
    private final StorageBackend backend;

    private ClassifiedStorage(StorageBackend backend) {
        this.backend = backend;
    }

    /** The backend, wrapped unless it already is. */
    public static StorageBackend of(StorageBackend backend) {
        return backend instanceof ClassifiedStorage ? backend : new ClassifiedStorage(backend);
    }

    private static StorageIOException failure(IOException e) {
        return StorageFailures.classify(e);
    }

    @Override
    public String describe() {
        return backend.describe();
    }

    @Override
    public ObjectUpload create(String key) throws IOException {
        try {
            return new Upload(backend.create(key));
        } catch (IOException e) {
            throw failure(e);
        }
    }

    @Override
    public ObjectUpload create(String key, Instant retainUntil) throws IOException {
        try {
            return new Upload(backend.create(key, retainUntil));
        } catch (IOException e) {
            throw failure(e);
        }
    }

    @Override
    public boolean createIfAbsent(String key, byte[] content) throws IOException {
        try {
            return backend.createIfAbsent(key, content);
        } catch (IOException e) {
            throw failure(e);
        }
    }

    @Override
    public boolean createIfAbsent(String key, byte[] content, Instant retainUntil) throws IOException {
        try {
            return backend.createIfAbsent(key, content, retainUntil);
        } catch (IOException e) {
            throw failure(e);
        }
    }

    @Override
    public Optional<Duration> immutableFor() {
        return backend.immutableFor();
    }

    @Override
    public Optional<Instant> retainedUntil(String key) throws IOException {
        try {
            return backend.retainedUntil(key);
        } catch (IOException e) {
            throw failure(e);
        }
    }

    @Override
    public InputStream open(String key, long offset) throws IOException {
        try {
            return new Reading(backend.open(key, offset));
        } catch (NoSuchFileException e) {
            throw e;
        } catch (IOException e) {
            throw failure(e);
        }
    }

    @Override
    public InputStream open(String key, long offset, long length) throws IOException {
        try {
            return new Reading(backend.open(key, offset, length));
        } catch (NoSuchFileException e) {
            throw e;
        } catch (IOException e) {
            throw failure(e);
        }
    }

    @Override
    public Optional<ObjectInfo> stat(String key) throws IOException {
        try {
            return backend.stat(key);
        } catch (IOException e) {
            throw failure(e);
        }
    }

    @Override
    public List<ObjectInfo> list(String prefix) throws IOException {
        try {
            return backend.list(prefix);
        } catch (IOException e) {
            throw failure(e);
        }
    }

    @Override
    public void delete(String key) throws IOException {
        try {
            backend.delete(key);
        } catch (IOException e) {
            throw failure(e);
        }
    }

    @Override
    public void deleteAll(Collection<String> keys) throws IOException {
        try {
            backend.deleteAll(keys);
        } catch (IOException e) {
            throw failure(e);
        }
    }

    @Override
    public int cleanIncompleteUploads(Duration olderThan) throws IOException {
        try {
            return backend.cleanIncompleteUploads(olderThan);
        } catch (IOException e) {
            throw failure(e);
        }
    }

    @Override
    public List<ObjectInfo> incompleteUploads(Duration olderThan) throws IOException {
        try {
            return backend.incompleteUploads(olderThan);
        } catch (IOException e) {
            throw failure(e);
        }
    }

    @Override
    public void close() throws IOException {
        try {
            backend.close();
        } catch (IOException e) {
            throw failure(e);
        }
    }

    @Override
    public String toString() {
        return backend.toString();
    }

    private static final class Upload implements ObjectUpload {
        private final ObjectUpload upload;
        private final OutputStream stream;

        Upload(ObjectUpload upload) {
            this.upload = upload;
            OutputStream out = upload.stream();
            this.stream = new OutputStream() {
                @Override
                public void write(int b) throws IOException {
                    try {
                        out.write(b);
                    } catch (IOException e) {
                        throw failure(e);
                    }
                }

                @Override
                public void write(byte[] b, int off, int len) throws IOException {
                    try {
                        out.write(b, off, len);
                    } catch (IOException e) {
                        throw failure(e);
                    }
                }

                @Override
                public void flush() throws IOException {
                    try {
                        out.flush();
                    } catch (IOException e) {
                        throw failure(e);
                    }
                }

                @Override
                public void close() throws IOException {
                    try {
                        out.close();
                    } catch (IOException e) {
                        throw failure(e);
                    }
                }
            };
        }

        @Override
        public OutputStream stream() {
            return stream;
        }

        @Override
        public ObjectInfo commit() throws IOException {
            try {
                return upload.commit();
            } catch (FileAlreadyExistsException e) {
                throw e;
            } catch (IOException e) {
                throw failure(e);
            }
        }

        @Override
        public void close() throws IOException {
            try {
                upload.close();
            } catch (IOException e) {
                throw failure(e);
            }
        }
    }

    private static final class Reading extends FilterInputStream {
        Reading(InputStream in) {
            super(in);
        }

        @Override
        public int read() throws IOException {
            try {
                return in.read();
            } catch (NoSuchFileException e) {
                throw e;
            } catch (IOException e) {
                throw failure(e);
            }
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            try {
                return in.read(b, off, len);
            } catch (NoSuchFileException e) {
                throw e;
            } catch (IOException e) {
                throw failure(e);
            }
        }

        @Override
        public long skip(long n) throws IOException {
            try {
                return in.skip(n);
            } catch (IOException e) {
                throw failure(e);
            }
        }

        @Override
        public int available() throws IOException {
            try {
                return in.available();
            } catch (IOException e) {
                throw failure(e);
            }
        }

        @Override
        public void close() throws IOException {
            try {
                in.close();
            } catch (IOException e) {
                throw failure(e);
            }
        }
    }
}
