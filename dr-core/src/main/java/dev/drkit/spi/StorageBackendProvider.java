package dev.drkit.spi;

import dev.drkit.Settings;
import java.io.IOException;
import java.net.URI;
import java.util.Set;

/**
 * Creates {@link StorageBackend}s for repository URIs of its schemes. Stateless with a
 * cheap no-arg constructor; registered in
 * {@code META-INF/services/dev.drkit.spi.StorageBackendProvider} or given to the builder.
 */
public interface StorageBackendProvider {

    /** The URI schemes served, lowercase (e.g. {@code file}, {@code s3}). */
    Set<String> schemes();

    /**
     * Breaks ties when several providers serve one scheme: the highest wins; equal
     * priorities are an error that names both.
     */
    default int priority() {
        return 0;
    }

    /**
     * Creates a backend for a repository URI.
     *
     * @param uri the repository URI; its scheme is one of {@link #schemes()}
     * @param settings backend settings (credentials are referenced by file, not value)
     * @throws dev.drkit.ConfigException when the URI or settings are invalid
     * @throws IOException when the storage cannot be reached or prepared
     */
    StorageBackend create(URI uri, Settings settings) throws IOException;

    /**
     * The options {@link #create} reads, from the settings and the URI's query alike (one name
     * for both). The default is {@link OptionSchema#unchecked()}: nothing is checked.
     */
    default OptionSchema schema() {
        return OptionSchema.unchecked();
    }
}
