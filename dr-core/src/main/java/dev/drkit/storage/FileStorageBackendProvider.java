package dev.drkit.storage;

import dev.drkit.ConfigException;
import dev.drkit.Settings;
import dev.drkit.spi.OptionSchema;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.StorageBackendProvider;
import java.io.IOException;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Set;

/** Provides {@link FileStorageBackend} for {@code file:} URIs. */
public final class FileStorageBackendProvider implements StorageBackendProvider {

    @Override
    public Set<String> schemes() {
        return Set.of("file");
    }

    /** A {@code file:} repository takes no options. */
    @Override
    public OptionSchema schema() {
        return OptionSchema.none();
    }

    @Override
    public StorageBackend create(URI uri, Settings settings) throws IOException {
        String path = uri.getPath();
        if (path == null || path.isEmpty()) {
            throw new ConfigException("file repository URI needs an absolute path, e.g. file:/var/backups/drkit");
        }
        Path root = Path.of(path);
        for (Path p = root; p != null; p = p.getParent()) {
            if (Files.exists(p)) { // the nearest part that exists must be a directory (or lead to one)
                if (!Files.isDirectory(p)) {
                    throw new ConfigException("the repository location " + root + (p.equals(root) ? " is" : " is under")
                            + " a file" + (p.equals(root) ? "" : " (" + p + ")") + ", not a directory; name a "
                            + "directory for the repository (a backup creates one that does not exist yet)");
                }
                break;
            }
        }
        return new FileStorageBackend(root);
    }
}
