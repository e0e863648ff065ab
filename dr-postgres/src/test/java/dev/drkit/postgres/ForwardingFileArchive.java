package dev.drkit.postgres;

import dev.drkit.ArtifactInfo;
import dev.drkit.spi.FileArchive;
import java.io.IOException;
import java.io.InputStream;
import java.time.Instant;
import java.util.List;
import java.util.Optional;

/** A file archive that passes every call on to another; tests override the calls they watch or break. */
class ForwardingFileArchive implements FileArchive {
    private final FileArchive to;

    ForwardingFileArchive(FileArchive to) {
        this.to = to;
    }

    @Override
    public PutResult put(String path, InputStream raw, SameContent same) throws IOException {
        return to.put(path, raw, same);
    }

    @Override
    public Optional<InputStream> open(String path) throws IOException {
        return to.open(path);
    }

    @Override
    public Optional<ArtifactInfo> info(String path) throws IOException {
        return to.info(path);
    }

    @Override
    public List<String> list(String prefix) throws IOException {
        return to.list(prefix);
    }

    @Override
    public void delete(String path) throws IOException {
        to.delete(path);
    }

    @Override
    public void deleteAll(List<String> paths) throws IOException {
        to.deleteAll(paths);
    }

    @Override
    public Optional<Instant> storedAt(String path) throws IOException {
        return to.storedAt(path);
    }

    @Override
    public String describe() {
        return to.describe();
    }
}
