package dev.drkit.internal.repo;

import java.time.Instant;
import java.util.UUID;

/**
 * {@code drkit-repository.json}: the repository's format version and id.
 *
 * @param format format version
 * @param id random repository id
 * @param createdAt when the repository was initialised
 */
public record RepositoryConfig(int format, String id, Instant createdAt) {
    public static final int FORMAT = 1;

    static RepositoryConfig create(Instant now) {
        return new RepositoryConfig(FORMAT, UUID.randomUUID().toString(), now);
    }
}
