package dev.drkit;

import dev.drkit.internal.pipeline.Compression;
import java.net.URI;
import java.net.URISyntaxException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * Settings of a {@link DrKit}: where the repository is and how artifacts are written.
 * Immutable; build with {@link #builder()} or load from {@link Settings} with
 * {@link #from(Settings)}. {@link #validate()} reports every problem at once.
 * {@link #toString()} never prints credentials or URI query parameters.
 */
public final class DrKitConfig {
    private final String repository;
    private final Settings storageSettings;
    private final String compression;
    private final int compressionLevel;
    private final boolean compressionLevelSet;
    private final int compressionWorkers;
    private final boolean compressionWorkersSet;
    private final Duration lockWait;
    private final Duration lockTtl;
    private final boolean dedup;
    private final Path dedupKeyFile;

    private DrKitConfig(Builder b) {
        this.repository = b.repository;
        this.storageSettings = b.storageSettings;
        this.compression = b.compression;
        this.compressionLevel = b.compressionLevel;
        this.compressionLevelSet = b.compressionLevelSet;
        this.compressionWorkers = b.compressionWorkers;
        this.compressionWorkersSet = b.compressionWorkersSet;
        this.lockWait = b.lockWait;
        this.lockTtl = b.lockTtl;
        this.dedup = b.dedup;
        this.dedupKeyFile = b.dedupKeyFile;
    }

    public static Builder builder() {
        return new Builder();
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.repository = repository;
        b.storageSettings = storageSettings;
        b.compression = compression;
        b.compressionLevel = compressionLevel;
        b.compressionLevelSet = compressionLevelSet;
        b.compressionWorkers = compressionWorkers;
        b.compressionWorkersSet = compressionWorkersSet;
        b.lockWait = lockWait;
        b.lockTtl = lockTtl;
        b.dedup = dedup;
        b.dedupKeyFile = dedupKeyFile;
        return b;
    }

    /**
     * Loads from settings with the keys {@code repository}, {@code compression},
     * {@code compression-level}, {@code compression-workers}, {@code lock-wait},
     * {@code lock-ttl}, {@code dedup}, {@code dedup-key-file}; keys starting with {@code storage.} go to the storage backend.
     * Malformed values are collected and reported together.
     */
    public static DrKitConfig from(Settings s) {
        List<String> problems = new ArrayList<>();
        Builder b = builder();
        s.get("repository").ifPresent(v -> b.repository = v);
        s.get("compression").ifPresent(v -> b.compression = v);
        if (s.has("compression-level")) {
            collect(problems, () -> {
                b.compressionLevel = s.integer("compression-level", b.compressionLevel);
                b.compressionLevelSet = true;
            });
        }
        if (s.has("compression-workers")) {
            collect(problems, () -> {
                b.compressionWorkers = s.integer("compression-workers", b.compressionWorkers);
                b.compressionWorkersSet = true;
            });
        }
        collect(problems, () -> s.duration("lock-wait").ifPresent(d -> b.lockWait = d));
        collect(problems, () -> s.duration("lock-ttl").ifPresent(d -> b.lockTtl = d));
        collect(problems, () -> b.dedup = s.bool("dedup", b.dedup));
        s.path("dedup-key-file").ifPresent(p -> b.dedupKeyFile = p);
        Settings.Builder storage = Settings.builder();
        for (String k : s.keys()) {
            if (k.startsWith("storage.")) {
                storage.addAll(k.substring("storage.".length()), s.getAll(k));
            }
        }
        b.storageSettings = storage.build();
        DrKitConfig config = b.build();
        problems.addAll(config.validate());
        if (!problems.isEmpty()) {
            throw new ConfigException(problems);
        }
        return config;
    }

    private static void collect(List<String> problems, Runnable r) {
        try {
            r.run();
        } catch (ConfigException e) {
            problems.addAll(e.problems());
        }
    }

    /** Every problem with this configuration; empty when it is valid. */
    public List<String> validate() {
        List<String> problems = new ArrayList<>();
        if (repository == null || repository.isBlank()) {
            problems.add("repository: not set; give setting 'repository' (file:/path, s3://bucket/prefix, ...)");
        } else {
            try {
                repositoryUri();
            } catch (ConfigException e) {
                problems.add(e.getMessage());
            }
        }
        if (Compression.find(compression).isEmpty()) {
            problems.add("compression: unknown codec '" + compression + "'; use zstd, gzip, lz4, xz or none");
        }
        int maxLevel = Compression.find(compression).map(Compression::maxLevel).orElse(22);
        if (compressionLevel < -1 || compressionLevel > maxLevel) {
            problems.add("compression-level: " + compressionLevel + " is out of range for " + compression
                    + " (-1 for its default, up to " + maxLevel + ")");
        }
        if (dedup
                && Compression.find(compression)
                        .filter(c -> c != Compression.ZSTD)
                        .isPresent()) {
            problems.add("dedup: " + TargetSpec.DEDUP_NEEDS_ZSTD);
        }
        if (compressionWorkers < 0 || compressionWorkers > 64) {
            problems.add("compression-workers: " + compressionWorkers + " is out of range (0 to 64)");
        }
        if (lockWait.isNegative()) {
            problems.add("lock-wait: must not be negative");
        }
        if (lockTtl.compareTo(Duration.ofSeconds(10)) < 0) {
            problems.add("lock-ttl: must be at least 10s");
        }
        return problems;
    }

    /**
     * The repository as a URI; a plain path becomes a {@code file:} URI.
     *
     * @throws ConfigException when it is not a valid URI
     */
    public URI repositoryUri() {
        String r = repository.trim();
        if (r.startsWith("/") || r.startsWith(".") || !r.contains(":")) {
            return Path.of(r).toAbsolutePath().normalize().toUri();
        }
        try {
            URI uri = new URI(r);
            if (uri.getScheme() == null) {
                throw new ConfigException("repository: '" + redact(r) + "' has no scheme");
            }
            return uri;
        } catch (URISyntaxException e) {
            throw new ConfigException("repository: '" + redact(r) + "' is not a valid URI: " + e.getReason());
        }
    }

    public String repository() {
        return repository;
    }

    public Settings storageSettings() {
        return storageSettings;
    }

    public String compression() {
        return compression;
    }

    /** The codec's level for every backup; -1 (the default) is the codec's own default level. */
    public int compressionLevel() {
        return compressionLevel;
    }

    /**
     * Whether the host chose {@link #compressionLevel()}, even as -1: a target that prefers the
     * codec's fastest level ({@code BackupTarget.prefersFastCompression()}, Redis) gets it only
     * when the host did not.
     */
    public boolean compressionLevelSet() {
        return compressionLevelSet;
    }

    /**
     * Background zstd compression threads per artifact stream; 0 compresses on the thread that
     * writes the artifact (hashing, encryption and upload still run on a pipeline thread of
     * their own). Default: up to 4, one per core. On a host with 2 cores or fewer, a target whose
     * source runs in processes of its own ({@code BackupTarget.sourceCompetesForCpu()}: pg_dump
     * and its server, a forking Redis) compresses on the writing thread unless this is set.
     */
    public int compressionWorkers() {
        return compressionWorkers;
    }

    /** Whether {@link #compressionWorkers()} was set (by the builder or the settings key), not defaulted. */
    public boolean compressionWorkersSet() {
        return compressionWorkersSet;
    }

    public Duration lockWait() {
        return lockWait;
    }

    /**
     * Whether backups store their artifacts deduplicated in the repository's chunk store
     * (setting {@code dedup}; a target's own {@code dedup} setting overrides it). Off by
     * default.
     */
    public boolean dedup() {
        return dedup;
    }

    /**
     * The chunk key file (setting {@code dedup-key-file}): 64 hex digits, readable only by its
     * owner, the same on every host that backs up into the repository. Encrypted backups that
     * are deduplicated name their chunks by an HMAC under this key, so chunk ids say nothing
     * about the content; the key is also kept in the repository encrypted to the recipients.
     */
    public Optional<Path> dedupKeyFile() {
        return Optional.ofNullable(dedupKeyFile);
    }

    public Duration lockTtl() {
        return lockTtl;
    }

    /** A URI without user info or query, safe to print. */
    public static String redact(String uri) {
        String s = uri.replaceAll("//[^/@]*@", "//****@");
        int q = s.indexOf('?');
        return q < 0 ? s : s.substring(0, q) + "?****";
    }

    @Override
    public String toString() {
        return "DrKitConfig{repository=" + (repository == null ? null : redact(repository))
                + ", compression=" + compression + ", level=" + compressionLevel + ", workers=" + compressionWorkers
                + ", lockWait=" + lockWait + ", lockTtl=" + lockTtl + ", dedup=" + dedup + ", storage="
                + storageSettings + "}";
    }

    /** Builder; setters reject bad arguments at the call. Not thread-safe. */
    public static final class Builder {
        private String repository;
        private Settings storageSettings = Settings.empty();
        private String compression = "zstd";
        private int compressionLevel = -1;
        private boolean compressionLevelSet;
        private int compressionWorkers = Math.min(4, Runtime.getRuntime().availableProcessors());
        private boolean compressionWorkersSet;
        private Duration lockWait = Duration.ZERO;
        private Duration lockTtl = Duration.ofMinutes(5);
        private boolean dedup;
        private Path dedupKeyFile;

        public Builder repository(String uriOrPath) {
            this.repository = requireText(uriOrPath, "repository");
            return this;
        }

        public Builder storageSettings(Settings settings) {
            this.storageSettings = Objects.requireNonNull(settings, "settings");
            return this;
        }

        public Builder compression(String codec) {
            this.compression = Compression.parse(codec).codecName();
            return this;
        }

        public Builder compressionLevel(int level) {
            if (level < -1 || level > 22) {
                throw new IllegalArgumentException("compression level out of range: " + level);
            }
            this.compressionLevel = level;
            this.compressionLevelSet = true;
            return this;
        }

        public Builder compressionWorkers(int workers) {
            if (workers < 0 || workers > 64) {
                throw new IllegalArgumentException("compression workers out of range: " + workers);
            }
            this.compressionWorkers = workers;
            this.compressionWorkersSet = true;
            return this;
        }

        public Builder lockWait(Duration wait) {
            if (wait.isNegative()) {
                throw new IllegalArgumentException("lock wait must not be negative");
            }
            this.lockWait = wait;
            return this;
        }

        public Builder lockTtl(Duration ttl) {
            if (ttl.compareTo(Duration.ofSeconds(10)) < 0) {
                throw new IllegalArgumentException("lock ttl must be at least 10s");
            }
            this.lockTtl = ttl;
            return this;
        }

        private static String requireText(String v, String what) {
            if (v == null || v.isBlank()) {
                throw new IllegalArgumentException(what + " must not be blank");
            }
            return v;
        }

        /**
         * Stores backups' artifacts deduplicated in the repository's chunk store (unencrypted,
         * zstd only for now); a target's {@code dedup} setting overrides this.
         */
        public Builder dedup(boolean on) {
            this.dedup = on;
            return this;
        }

        /** The chunk key file for deduplicated encrypted backups (see {@link DrKitConfig#dedupKeyFile()}). */
        public Builder dedupKeyFile(Path file) {
            this.dedupKeyFile = file;
            return this;
        }

        public DrKitConfig build() {
            return new DrKitConfig(this);
        }
    }
}
