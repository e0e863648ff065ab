package dev.drkit;

import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.spi.StorageBackend;
import java.io.IOException;
import java.io.InputStream;
import java.util.List;
import java.util.Optional;

/**
 * A storage that passes every call the SPI requires to another, for tests that change one or
 * two of them; the SPI's default methods stay defaults, so they go through the overrides.
 */
public abstract class ForwardingStorage implements StorageBackend {
    protected final StorageBackend delegate;

    protected ForwardingStorage(StorageBackend delegate) {
        this.delegate = delegate;
    }

    @Override
    public String describe() {
        return delegate.describe();
    }

    @Override
    public ObjectUpload create(String key) throws IOException {
        return delegate.create(key);
    }

    @Override
    public boolean createIfAbsent(String key, byte[] content) throws IOException {
        return delegate.createIfAbsent(key, content);
    }

    @Override
    public InputStream open(String key, long offset) throws IOException {
        return delegate.open(key, offset);
    }

    @Override
    public Optional<ObjectInfo> stat(String key) throws IOException {
        return delegate.stat(key);
    }

    @Override
    public List<ObjectInfo> list(String prefix) throws IOException {
        return delegate.list(prefix);
    }

    @Override
    public void delete(String key) throws IOException {
        delegate.delete(key);
    }
}
