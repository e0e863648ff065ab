package dev.drkit.internal.repo;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.BackupNotFoundException;
import dev.drkit.ChecksumMismatchException;
import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.DamagedBackup;
import dev.drkit.DamagedBackupException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.ObjectExistsException;
import dev.drkit.RepositoryNotFoundException;
import dev.drkit.StorageException;
import dev.drkit.TargetSpec;
import dev.drkit.internal.pipeline.CheckedInputStream;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.internal.pipeline.HashingOutputStream;
import dev.drkit.internal.storage.ClassifiedStorage;
import dev.drkit.spi.DecryptionStage;
import dev.drkit.spi.EncryptionStage;
import dev.drkit.spi.ManifestSigner;
import dev.drkit.spi.ManifestVerifier;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.StorageIOException;
import dev.drkit.spi.support.BackupIds;
import dev.drkit.spi.support.Json;
import dev.drkit.spi.support.RepositoryLock;
import dev.drkit.spi.support.Sha256;
import dev.drkit.spi.support.StorageFailures;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A repository in a storage backend: its catalog of manifests and the artifacts beside
 * them. Objects are only ever created or deleted, never rewritten. Thread-safe.
 */
public final class Repository {
    private static final Logger LOG = LoggerFactory.getLogger(Repository.class);
    private final StorageBackend storage;
    private final Clock clock;
    private volatile RepositoryConfig config;
    private volatile ManifestVerifier trusted;
    private ChunkStore chunkStore; // guarded by this
    private volatile Path chunkKeyFile;

    private Repository(StorageBackend storage, Clock clock) {
        this.storage = ClassifiedStorage.of(storage);
        this.clock = clock;
    }

    /**
     * A repository on a storage, not read yet: readers call {@link #requireExisting()} (a
     * storage without one is an error, never silently initialised), writers
     * {@link #initialise()}.
     */
    public static Repository attach(StorageBackend storage, Clock clock) {
        return new Repository(storage, clock);
    }

    /**
     * Opens a repository, initialising it when the storage holds none yet (for backup and
     * copy destinations).
     *
     * @throws DrException with {@link ErrorCode#REPOSITORY_FORMAT} when it was written by a
     *         newer format version
     */
    public static Repository open(StorageBackend storage, Instant now) {
        Repository repo = new Repository(storage, Clock.fixed(now, ZoneOffset.UTC));
        repo.initialise();
        return repo;
    }

    /**
     * Trusted manifest signatures: from now on a manifest that is not signed by one of these
     * keys is damaged for every reader (listing, newest backup, retention), not only refused
     * when named.
     */
    public Repository trust(ManifestVerifier verifier) {
        this.trusted = verifier;
        return this;
    }

    /** The trusted manifest signatures given to {@link #trust}; null when none. */
    public ManifestVerifier trusted() {
        return trusted;
    }

    public StorageBackend storage() {
        return storage;
    }

    public String describe() {
        return storage.describe();
    }

    /**
     * Until when backup data written now stays immutable, where the storage locks objects
     * ({@link StorageBackend#immutableFor()}); null where it does not.
     */
    public Instant retainUntil() {
        // whole seconds, rounded up: what S3 servers store, so manifest and objects agree exactly
        return storage.immutableFor()
                .map(d -> Instant.now().plus(d).truncatedTo(ChronoUnit.SECONDS).plusSeconds(1))
                .orElse(null);
    }

    /**
     * Creates the repository when the storage holds none, and reads its configuration. Also
     * adds the configuration's checksum file to a repository written before there was one. A
     * damaged configuration is said once and does not stop writing: it holds only the format
     * and a random id, and every manifest and record carries its own format.
     */
    public RepositoryConfig initialise() {
        if (config != null && config.id() != null) {
            return config;
        }
        try {
            if (storage.stat(RepositoryLayout.CONFIG).isEmpty()) {
                storage.createIfAbsent(RepositoryLayout.CONFIG, Json.write(RepositoryConfig.create(clock.instant())));
            }
            RepositoryConfig read;
            try {
                read = readConfig();
            } catch (CorruptDataException e) {
                return damagedConfig(e.getMessage());
            }
            if (storage.stat(RepositoryLayout.CONFIG + ManifestCodec.CHECKSUM_SUFFIX)
                    .isEmpty()) {
                // from the stored bytes, so that writers racing to create the repository agree
                storage.createIfAbsent(
                        RepositoryLayout.CONFIG + ManifestCodec.CHECKSUM_SUFFIX,
                        ManifestCodec.checksumFile(readSmall(RepositoryLayout.CONFIG), RepositoryLayout.CONFIG));
            }
            config = read;
            return read;
        } catch (IOException e) {
            throw storageError("opening the repository", e);
        }
    }

    /**
     * Reads the repository's configuration, failing when the storage holds no repository: a
     * mistyped location or an unmounted disk must not look like an empty repository. A damaged
     * configuration, or a lost one beside backups, is said once and reading goes on.
     *
     * @throws RepositoryNotFoundException when there is no repository
     */
    public RepositoryConfig requireExisting() {
        if (config != null) {
            return config;
        }
        try {
            config = readConfig();
            return config;
        } catch (CorruptDataException e) {
            return damagedConfig(e.getMessage());
        } catch (NoSuchFileException e) {
            if (!listQuietly(RepositoryLayout.BACKUPS).isEmpty()) {
                return damagedConfig(configDamaged("it is missing, though the backups are there")
                        .getMessage());
            }
            throw new RepositoryNotFoundException("no drkit repository at " + describe() + " (it has no "
                    + RepositoryLayout.CONFIG + "): check the repository location, and that its disk or bucket "
                    + "is there; a backup creates a repository in a new location");
        } catch (IOException e) {
            throw storageError("opening the repository", e);
        }
    }

    private RepositoryConfig damagedConfig(String message) {
        if (config == null) {
            LOG.warn(message);
        }
        config = new RepositoryConfig(RepositoryConfig.FORMAT, null, null);
        return config;
    }

    private RepositoryConfig readConfig() throws IOException {
        byte[] json = readSmall(RepositoryLayout.CONFIG);
        byte[] checksum = readOptional(RepositoryLayout.CONFIG + ManifestCodec.CHECKSUM_SUFFIX);
        String problem = ManifestCodec.checksumProblem(json, checksum, RepositoryLayout.CONFIG);
        RepositoryConfig read = null;
        if (problem == null) {
            try {
                read = Json.read(json, RepositoryConfig.class);
            } catch (IOException | RuntimeException e) {
                problem = "it is not a valid configuration document";
            }
        }
        if (read == null || read.id() == null) {
            throw configDamaged(problem == null ? "it is incomplete" : problem);
        }
        if (read.format() > RepositoryConfig.FORMAT) {
            throw new DrException(
                    ErrorCode.REPOSITORY_FORMAT,
                    "repository " + describe() + " has format " + read.format() + " but this drkit reads up to "
                            + RepositoryConfig.FORMAT + "; upgrade drkit");
        }
        return read;
    }

    private CorruptDataException configDamaged(String reason) {
        return new CorruptDataException("the repository configuration " + RepositoryLayout.CONFIG + " in "
                + describe() + " is damaged: " + reason + "; the backups are not affected: put the file back from a "
                + "copy of the repository, or run a repository check with repair, which writes a new one");
    }

    /** Whether the repository's configuration is damaged (for checks); null when it is sound. */
    public String configProblem() {
        try {
            readConfig();
            return null;
        } catch (CorruptDataException e) {
            return e.getMessage();
        } catch (NoSuchFileException e) {
            return configDamaged("it is missing, though the backups are there").getMessage();
        } catch (IOException e) {
            throw storageError("reading the repository configuration", e);
        }
    }

    /** Replaces a damaged or missing configuration with a new one (it holds nothing backups depend on). */
    public void rewriteConfig() {
        try {
            storage.delete(RepositoryLayout.CONFIG);
            storage.delete(RepositoryLayout.CONFIG + ManifestCodec.CHECKSUM_SUFFIX);
            config = null;
            initialise();
        } catch (IOException e) {
            throw storageError("rewriting the repository configuration", e);
        }
    }

    /** Names of targets that have at least one object in the repository, sorted. */
    public List<String> targets() {
        requireExisting();
        TreeSet<String> names = new TreeSet<>();
        for (ObjectInfo o : listQuietly(RepositoryLayout.BACKUPS)) {
            String rest = o.key().substring(RepositoryLayout.BACKUPS.length());
            int slash = rest.indexOf('/');
            if (slash > 0) {
                names.add(rest.substring(0, slash));
            }
        }
        return List.copyOf(names);
    }

    /**
     * What the catalog holds for one target: the sound complete backups, oldest first (by
     * start time, then id: ids only resolve to the second), the damaged ones, and the
     * incomplete ones (objects but no manifest: in progress, or left by a crash).
     */
    public record Catalog(
            List<BackupManifest> backups, List<DamagedBackup> damaged, Map<String, List<ObjectInfo>> incomplete) {
        /** The newest sound backup, if any. */
        public Optional<BackupManifest> latest() {
            return backups.isEmpty() ? Optional.empty() : Optional.of(backups.get(backups.size() - 1));
        }
    }

    /** Reads every manifest of a target; one damaged manifest never hides the others. */
    public Catalog catalog(String target) {
        return catalog(target, List.of());
    }

    /**
     * The catalog of a target as it stands now, reading only the manifests that are not among
     * {@code known} (sound manifests of this target read earlier): a manifest is written once,
     * so what was read of it holds while the listing still shows it.
     */
    public Catalog catalog(String target, List<BackupManifest> known) {
        Map<String, BackupManifest> read = new HashMap<>();
        known.forEach(m -> read.put(m.id(), m));
        List<BackupManifest> good = new ArrayList<>();
        List<DamagedBackup> damaged = new ArrayList<>();
        Map<String, List<ObjectInfo>> incomplete = new LinkedHashMap<>();
        for (Map.Entry<String, List<ObjectInfo>> e : backupObjects(target).entrySet()) {
            if (!hasManifest(e.getValue())) {
                // a checksum without its manifest, outside a delete: the manifest was lost
                if (has(e.getValue(), RepositoryLayout.MANIFEST + ManifestCodec.CHECKSUM_SUFFIX)
                        && !has(e.getValue(), RepositoryLayout.DELETING)) {
                    damaged.add(new DamagedBackup(target, e.getKey(), LOST_MANIFEST));
                } else {
                    incomplete.put(e.getKey(), e.getValue());
                }
                continue;
            }
            if (read.containsKey(e.getKey())) {
                good.add(read.get(e.getKey()));
                continue;
            }
            try {
                good.add(manifest(target, e.getKey()));
            } catch (DamagedBackupException d) {
                damaged.add(new DamagedBackup(target, e.getKey(), d.reason()));
            } catch (BackupNotFoundException gone) {
                // deleted between the listing and the read (a concurrent prune)
            } catch (DrException d) {
                if (d.code() != ErrorCode.REPOSITORY_FORMAT && d.code() != ErrorCode.SIGNATURE) {
                    throw d;
                }
                damaged.add(new DamagedBackup(target, e.getKey(), d.getMessage()));
            }
        }
        good.sort(Comparator.comparing(BackupManifest::startedAt).thenComparing(BackupManifest::id));
        return new Catalog(List.copyOf(good), List.copyOf(damaged), incomplete);
    }

    /** The sound complete backups of a target, oldest first (see {@link #catalog}). */
    public List<BackupManifest> manifests(String target) {
        return catalog(target).backups();
    }

    /** Ids of backups that have objects but no manifest: in progress, or left by a crash. */
    public Map<String, List<ObjectInfo>> incomplete(String target) {
        return catalog(target).incomplete();
    }

    private static boolean hasManifest(List<ObjectInfo> objects) {
        return has(objects, RepositoryLayout.MANIFEST);
    }

    private static boolean has(List<ObjectInfo> objects, String name) {
        return objects.stream().anyMatch(o -> o.key().endsWith("/" + name));
    }

    /** Why a backup whose manifest checksum outlived its manifest is damaged. */
    public static final String LOST_MANIFEST = "its manifest.json is missing while its checksum file is there "
            + "(lost, or the backup was killed in the instant it finished)";

    /** How far in the future a backup may be dated (clocks drift) before it is not believed. */
    static final Duration FUTURE_TOLERANCE = Duration.ofHours(1);

    private Map<String, List<ObjectInfo>> backupObjects(String target) {
        requireExisting();
        String prefix = RepositoryLayout.targetPrefix(BackupIds.checkTargetName(target));
        Map<String, List<ObjectInfo>> byId = new TreeMap<>();
        for (ObjectInfo o : listQuietly(prefix)) {
            String rest = o.key().substring(prefix.length());
            int slash = rest.indexOf('/');
            if (slash > 0 && BackupIds.isValid(rest.substring(0, slash))) {
                byId.computeIfAbsent(rest.substring(0, slash), k -> new ArrayList<>())
                        .add(o);
            }
        }
        return byId;
    }

    /**
     * The manifest of one backup, checked against its checksum file and against where it is
     * stored.
     *
     * @throws DamagedBackupException when it cannot be trusted
     * @throws BackupNotFoundException when there is no such backup
     */
    public BackupManifest manifest(String target, String id) {
        requireExisting();
        String key = RepositoryLayout.manifest(target, id);
        try {
            byte[] json = readSmall(key);
            if (json.length >= MAX_SMALL) {
                throw new DamagedBackupException(
                        target, id, "it is larger than " + MAX_SMALL + " bytes, which no manifest is");
            }
            BackupManifest m = ManifestCodec.read(target, id, json, readOptional(key + ManifestCodec.CHECKSUM_SUFFIX));
            Instant latest = clock.instant().plus(FUTURE_TOLERANCE);
            // a finish in the future would make the backup look fresh for good: the RPO met, no alert
            Instant dated =
                    m.finishedAt() != null && m.finishedAt().isAfter(m.startedAt()) ? m.finishedAt() : m.startedAt();
            if (dated.isAfter(latest)) {
                throw new DamagedBackupException(
                        target,
                        id,
                        "it is dated " + dated + ", in the future "
                                + "(a writer's clock was wrong, or the manifest was altered)");
            }
            if (trusted != null) {
                // with trusted keys, an unsigned or foreign-signed manifest is not believed anywhere
                byte[] signature = readOptional(key + trusted.signatureSuffix());
                trusted.verify(json, signature, "manifest of backup " + target + "/" + id);
            }
            return m;
        } catch (NoSuchFileException e) {
            throw new BackupNotFoundException("no backup '" + id + "' of target '" + target + "' in " + describe()
                    + "; listing the target's backups (DrKit.list) shows the ones there");
        } catch (IOException e) {
            throw storageError("reading manifest of " + target + "/" + id, e);
        }
    }

    /** The newest complete backup of a target. */
    public Optional<BackupManifest> latest(String target) {
        return catalog(target).latest();
    }

    /**
     * Writes a manifest (this is what makes a backup exist, so it is written last), and first its detached signature when a signer is given, so that a
     * manifest never exists without its signature.
     */
    public void writeManifest(BackupManifest manifest, ManifestSigner signer) {
        String key = RepositoryLayout.manifest(manifest.target(), manifest.id());
        byte[] json = Json.write(manifest);
        try {
            Instant until = manifest.lockedUntil();
            if (signer != null && !storage.createIfAbsent(key + signer.signatureSuffix(), signer.sign(json), until)) {
                throw new ObjectExistsException("signature " + key + signer.signatureSuffix() + " already exists");
            }
            if (!storage.createIfAbsent(
                    key + ManifestCodec.CHECKSUM_SUFFIX,
                    ManifestCodec.checksumFile(json, RepositoryLayout.MANIFEST),
                    until)) {
                throw new ObjectExistsException(
                        "checksum file " + key + ManifestCodec.CHECKSUM_SUFFIX + " already exists in " + describe());
            }
            if (!storage.createIfAbsent(key, json, until)) {
                throw new ObjectExistsException("manifest " + key + " already exists in " + describe());
            }
        } catch (IOException e) {
            throw storageError("writing manifest " + key, e);
        }
    }

    /**
     * Deletes a backup: the manifest first, so that an interrupted delete leaves an
     * incomplete backup (never listed, removed by the next prune), never a listed one with
     * missing artifacts.
     */
    public void deleteBackup(String target, String id) {
        String prefix = RepositoryLayout.backupPrefix(target, id);
        try {
            // the marker first: a delete cut short leaves an incomplete backup, not one whose
            // manifest looks lost
            storage.createIfAbsent(prefix + RepositoryLayout.DELETING, new byte[0]);
            storage.delete(RepositoryLayout.manifest(target, id));
            storage.deleteAll(storage.list(prefix).stream()
                    .map(ObjectInfo::key)
                    .filter(k -> !k.equals(prefix + RepositoryLayout.DELETING))
                    .toList());
            storage.delete(prefix + RepositoryLayout.DELETING);
        } catch (IOException e) {
            throw storageError("deleting backup " + target + "/" + id, e);
        }
    }

    /**
     * Until when this storage refuses to delete a backup: the time its manifest records, or,
     * where the storage locks objects, the retention on the manifest object itself (a copy
     * from an unlocked repository records none). Null when it is not locked.
     */
    public Instant lockedUntil(BackupManifest m) {
        Instant until = m.lockedUntil();
        if (storage.immutableFor().isPresent()) {
            try {
                Instant stored = storage.retainedUntil(RepositoryLayout.manifest(m.target(), m.id()))
                        .orElse(null);
                if (stored != null && (until == null || stored.isAfter(until))) {
                    until = stored;
                }
            } catch (IOException e) {
                throw storageError("checking the Object Lock of " + m.target() + "/" + m.id(), e);
            }
        }
        return until;
    }

    /**
     * Whether a backup's manifest exists here and is sound: readable, matching its checksum and,
     * with trusted keys, signed by one. Nothing is changed; see {@link #replaceDamagedManifest}.
     */
    public boolean hasSoundManifest(String target, String id) {
        return hasManifest(target, id) && damage(target, id) == null;
    }

    /** Why the backup's manifest here cannot be trusted; null when it can. */
    private String damage(String target, String id) {
        try {
            manifest(target, id);
            return null;
        } catch (DamagedBackupException e) {
            return e.reason();
        } catch (DrException e) {
            if (e.code() != ErrorCode.SIGNATURE) {
                throw e;
            }
            return e.getMessage(); // not signed by a trusted key: as damaged to every reader
        }
    }

    /**
     * Removes a backup's manifest here that cannot be trusted (with its checksum file and
     * signature), so that a copy whose source manifest was verified puts it back; call it only
     * then, since nothing else replaces it. A sound one, or none, is left as it is.
     */
    public void replaceDamagedManifest(String target, String id) {
        if (!hasManifest(target, id)) {
            return;
        }
        String reason = damage(target, id);
        if (reason == null) {
            return;
        }
        String key = RepositoryLayout.manifest(target, id);
        try {
            storage.delete(key);
            storage.delete(key + ManifestCodec.CHECKSUM_SUFFIX);
            if (trusted != null) {
                storage.delete(key + trusted.signatureSuffix()); // a forged or stale one would stay
            }
        } catch (IOException io) {
            throw storageError("removing the damaged manifest of " + target + "/" + id, io);
        }
        LOG.warn("replacing the damaged manifest of {}/{} in {}: {}", target, id, describe(), reason);
    }

    /** Whether a backup's manifest exists here (the backup is complete). */
    public boolean hasManifest(String target, String id) {
        try {
            return storage.stat(RepositoryLayout.manifest(target, id)).isPresent();
        } catch (IOException e) {
            throw storageError("checking " + target + "/" + id, e);
        }
    }

    /**
     * Copies one backup from another repository: artifacts and their sidecars first, each
     * checked against the manifest's size and sha256 as it streams, then signatures, then the
     * manifest, so that an interrupted copy is resumed by running it again and is never listed
     * half-done. Objects already present with the right size and hash are skipped.
     *
     * @return stored bytes transferred
     */
    public long copyFrom(Repository source, BackupManifest m) {
        return copyFrom(source, m, () -> {});
    }

    /**
     * As {@link #copyFrom(Repository, BackupManifest)}, running {@code beforeManifest} once the
     * artifacts are in and before the manifest, its checksum and signature are written (a
     * check that the copy's lock is still held throws there, and nothing names the copy yet).
     */
    public long copyFrom(Repository source, BackupManifest m, Runnable beforeManifest) {
        long bytes = 0;
        String prefix = RepositoryLayout.backupPrefix(m.target(), m.id());
        try {
            List<ObjectInfo> objects = source.storage.list(prefix);
            Map<String, Boolean> checkedPacks = new HashMap<>(); // encrypted packs read whole: once per copy
            for (ArtifactInfo a : m.artifacts()) {
                if (isChunked(a)) {
                    bytes += copyChunks(source, m, a, checkedPacks);
                }
                String key = prefix + a.storedName();
                bytes += copyObject(source, key, a.storedSize(), a.sha256());
            }
            beforeManifest.run();
            for (ObjectInfo o : objects) {
                String name = o.key().substring(prefix.length());
                boolean artifact =
                        m.artifacts().stream().anyMatch(a -> a.storedName().equals(name));
                if (!artifact && !name.startsWith(RepositoryLayout.MANIFEST)) {
                    bytes += copyObject(source, o.key(), o.size(), null); // the artifacts' sidecars
                }
            }
            return bytes + copyManifest(source, m, objects);
        } catch (IOException e) {
            throw storageError("copying " + m.target() + "/" + m.id() + " from " + source.describe(), e);
        }
    }

    /**
     * Writes the manifest the copy was made from: the source's manifest bytes, read once and
     * checked to be {@code m} (which the copy checked the artifacts against) and, with trusted
     * keys, signed by one; then its signature as read, its checksum file made from those bytes,
     * and the manifest last. A manifest changed in the source since the copy began fails it.
     */
    private long copyManifest(Repository source, BackupManifest m, List<ObjectInfo> objects) throws IOException {
        String key = RepositoryLayout.manifest(m.target(), m.id());
        String what = "the manifest of " + m.target() + "/" + m.id() + " in " + source.describe();
        byte[] json;
        BackupManifest read;
        try {
            json = source.readSmall(key);
            read = ManifestCodec.read(
                    m.target(), m.id(), json, source.readOptional(key + ManifestCodec.CHECKSUM_SUFFIX));
        } catch (NoSuchFileException e) {
            throw new CorruptDataException(what + " is missing; the backup cannot be copied");
        } catch (DamagedBackupException e) {
            throw new CorruptDataException(
                    what + " changed while the backup was copied: " + e.reason() + "; copy again");
        }
        if (!read.equals(m)) {
            throw new CorruptDataException(what + " changed while the backup was copied; copy again");
        }
        // the source's is verified and its artifacts are here: a damaged or unsigned one here goes now
        replaceDamagedManifest(m.target(), m.id());
        Instant until = retainUntil();
        long bytes = 0;
        for (ObjectInfo o : objects) {
            String name = o.key()
                    .substring(RepositoryLayout.backupPrefix(m.target(), m.id()).length());
            if (!name.startsWith(RepositoryLayout.MANIFEST + ".")
                    || name.equals(RepositoryLayout.MANIFEST + ManifestCodec.CHECKSUM_SUFFIX)) {
                continue;
            }
            byte[] signature = source.readOptional(o.key());
            if (signature == null) {
                continue; // removed meanwhile
            }
            if (source.trusted != null && name.equals(RepositoryLayout.MANIFEST + source.trusted.signatureSuffix())) {
                source.trusted.verify(json, signature, what);
            }
            bytes += writeOnce(o.key(), signature, until);
        }
        bytes += writeChecksumOnce(key + ManifestCodec.CHECKSUM_SUFFIX, json, RepositoryLayout.MANIFEST, until);
        bytes += writeOnce(key, json, until);
        return bytes;
    }

    /**
     * Writes the checksum file of {@code json} (named {@code name}) unless one that {@code json}
     * matches is here (an interrupted copy wrote it, perhaps in an older form); one that does not
     * match stops the copy.
     */
    long writeChecksumOnce(String key, byte[] json, String name, Instant until) throws IOException {
        byte[] content = ManifestCodec.checksumFile(json, name);
        if (storage.createIfAbsent(key, content, until)) {
            return content.length;
        }
        byte[] here = readOptional(key);
        if (here != null && ManifestCodec.checksumProblem(json, here, name) != null) {
            throw new ObjectExistsException(key + " already exists in " + describe()
                    + " and does not match what is copied; remove it from the destination and copy again");
        }
        return 0;
    }

    /** Writes a small object unless it is here with the same bytes; other bytes here stop the copy. */
    long writeOnce(String key, byte[] content, Instant until) throws IOException {
        if (storage.createIfAbsent(key, content, until)) {
            return content.length;
        }
        byte[] here = readOptional(key);
        if (here != null && !Arrays.equals(here, content)) {
            throw new ObjectExistsException(key + " already exists in " + describe()
                    + " with different content; remove it from the destination and copy again");
        }
        return 0;
    }

    /**
     * Copies the chunks of a chunked artifact that this repository's chunk store lacks, each
     * checked against its id on the way, into packs of this repository.
     *
     * @return stored bytes transferred
     */
    private long copyChunks(Repository source, BackupManifest m, ArtifactInfo a, Map<String, Boolean> checkedPacks)
            throws IOException {
        String what = "artifact " + m.target() + "/" + m.id() + "/" + a.storedName() + " in " + source.describe();
        ChunkedArtifactReader.ChunkList list = ChunkedArtifactReader.readList(source.openStored(m, a), a, what);
        long keyBytes = 0;
        if (list.keyId() != null) {
            for (ObjectInfo key : source.storage.list(chunkKeyPrefix(list.keyId()))) {
                keyBytes += copyObject(source, key.key(), key.size(), null);
            }
        }
        ChunkStore here = chunks();
        ChunkStore there = source.chunks();
        boolean trustHere = !chunkCollectionRunning(); // as a backup does: see newArtifact
        if (trustHere) {
            here.refresh();
        }
        ChunkStore.PackWriter packs = here.newPackWriter();
        // the k-th further copy of an encrypted chunk goes to the k-th of these: a pack holds a chunk once
        List<ChunkStore.PackWriter> further = new ArrayList<>();
        long bytes = keyBytes;
        boolean ok = false;
        try {
            Set<String> done = new HashSet<>();
            Set<String> reused = new HashSet<>(); // packs here whose chunks the copy refers to
            for (int i = 0; i < list.ids().size(); i++) {
                String id = list.ids().get(i);
                if (!done.add(id)) {
                    continue;
                }
                String holder = trustHere ? here.holder(id) : null;
                if (holder != null) {
                    reused.add(holder);
                    continue;
                }
                List<byte[]> copies;
                if (list.keyId() == null) {
                    copies = List.of(there.read(id, list.lengths()[i], what, ChunkCodec.PLAIN)
                            .frame());
                } else {
                    // encrypted: moved as stored (this process may hold no key), every copy whose bytes
                    // match its index; a restore checks each chunk itself
                    copies = there.readAllStoredSound(id, list.lengths()[i], checkedPacks);
                    if (copies == null) {
                        List<String> holders = there.packsOf(id);
                        throw new CorruptDataException(what + ": chunk " + id + " is missing from "
                                + source.describe()
                                + (holders.isEmpty()
                                        ? ""
                                        : ", or every copy of it is damaged (its bytes do not match its index, in "
                                                + "pack " + String.join(", ", holders) + ")")
                                + "; the backup cannot be copied (a check that reads the data, "
                                + "CheckOptions.readData, lists every damaged pack)");
                    }
                }
                packs.add(id, copies.get(0), list.lengths()[i]);
                bytes += copies.get(0).length;
                for (int k = 1; k < copies.size(); k++) {
                    if (further.size() < k) {
                        further.add(here.newPackWriter());
                    }
                    further.get(k - 1).add(id, copies.get(k), list.lengths()[i]);
                    bytes += copies.get(k).length;
                }
            }
            packs.finish();
            for (ChunkStore.PackWriter p : further) {
                p.finish();
            }
            here.requirePacks(reused, what, "copy", "the backup is not copied, copy it again");
            ok = true;
            return bytes;
        } finally {
            if (!ok) {
                packs.abort();
                further.forEach(ChunkStore.PackWriter::abort);
            }
        }
    }

    /**
     * Checks, with no key, that every chunk of a chunked artifact is stored with the bytes its
     * index describes (their CRC32C, or for an index of version 1 the whole pack's SHA-256), as
     * {@link #copyFrom} checks what it moves; does nothing for an artifact stored whole.
     *
     * @throws CorruptDataException naming the first chunk that has no such copy
     */
    public void checkStoredChunks(BackupManifest m, ArtifactInfo a) throws IOException {
        if (!isChunked(a)) {
            return;
        }
        String what = "artifact " + m.target() + "/" + m.id() + "/" + a.storedName();
        ChunkedArtifactReader.ChunkList list = ChunkedArtifactReader.readList(openStored(m, a), a, what);
        Map<String, Boolean> checkedPacks = new HashMap<>();
        Set<String> done = new HashSet<>();
        for (int i = 0; i < list.ids().size(); i++) {
            String id = list.ids().get(i);
            if (done.add(id) && chunks().readAllStoredSound(id, list.lengths()[i], checkedPacks) == null) {
                throw new CorruptDataException(what + ": chunk " + id + " has no stored copy whose bytes match its "
                        + "chunk index; the backup cannot be restored, use another one (a check that reads the "
                        + "data, CheckOptions.readData, lists every damaged chunk)");
            }
        }
    }

    /** Copies one object from another repository, checked against size and sha256 when given; 0 when already here. */
    long copyObject(Repository source, String key, long size, String sha256) throws IOException {
        Optional<ObjectInfo> here = storage.stat(key);
        if (here.isPresent()) {
            if (sha256 == null || matches(key, size, sha256)) {
                return 0; // already copied (resuming)
            }
            // the destination's problem, not the source's: the copy stops and says so
            throw new ObjectExistsException(key + " already exists in " + describe()
                    + " with different content; remove it from the destination and copy again");
        }
        String what = "stored " + key + " in " + source.describe();
        InputStream stored;
        try {
            stored = source.storage.open(key, 0);
        } catch (NoSuchFileException e) {
            throw new CorruptDataException(what + " is missing; the backup cannot be copied");
        }
        try (InputStream in = new CheckedInputStream(stored, size, sha256, what, null);
                ObjectUpload up = storage.create(key, retainUntil())) {
            long n = in.transferTo(up.stream());
            up.commit();
            return n;
        } catch (FileAlreadyExistsException e) {
            return 0; // a concurrent copy won
        }
    }

    private boolean matches(String key, long size, String sha256) throws IOException {
        try (InputStream in = new CheckedInputStream(storage.open(key, 0), size, sha256, key, null)) {
            in.transferTo(OutputStream.nullOutputStream());
            return true;
        } catch (ChecksumMismatchException e) {
            return false;
        }
    }

    /** Starts writing an artifact of a backup being made, as one stored object. */
    public ArtifactOutput newArtifact(
            String target, String backupId, String name, StreamCodecs codecs, HashingOutputStream.ByteCounter counter)
            throws IOException {
        return newArtifact(target, backupId, name, codecs, false, counter);
    }

    /**
     * Starts writing an artifact of a backup being made; with {@code dedup}, into the chunk
     * store, where chunks an earlier backup stored are not stored again.
     *
     * @throws ConfigException when {@code dedup} is asked with codecs it cannot use yet
     */
    public ArtifactOutput newArtifact(
            String target,
            String backupId,
            String name,
            StreamCodecs codecs,
            boolean dedup,
            HashingOutputStream.ByteCounter counter)
            throws IOException {
        String checked = BackupIds.checkArtifactName(name);
        if (!dedup) {
            return ArtifactWriter.open(this, target, backupId, checked, codecs, counter);
        }
        if (codecs.compression() != Compression.ZSTD) {
            throw new ConfigException("dedup: " + TargetSpec.DEDUP_NEEDS_ZSTD + " for this target");
        }
        ChunkCodec codec = ChunkCodec.PLAIN;
        if (codecs.encryption() != null) {
            byte[] key = configuredChunkKey();
            if (key == null) {
                throw new ConfigException("dedup-key-file: encrypted backups name their chunks by a keyed hash; give "
                        + "setting 'dedup-key-file' (a file with 64 hex digits, e.g. from 'openssl rand -hex 32', "
                        + "readable only by its owner; the same file on every host that backs up into this "
                        + "repository), or turn off setting 'dedup' for this target");
            }
            storeChunkKey(key, codecs.encryption());
            codec = ChunkCodec.encrypted(key, codecs.encryption());
        }
        boolean collecting = chunkCollectionRunning();
        if (collecting) {
            LOG.info(
                    "a chunk garbage collection is running in {}: {} of {}/{} stores all its chunks anew",
                    describe(),
                    checked,
                    target,
                    backupId);
        }
        return ChunkedArtifactWriter.open(
                this,
                chunks(),
                RepositoryLayout.backupPrefix(target, backupId),
                checked,
                codecs,
                codec,
                !collecting,
                counter);
    }

    /**
     * Whether a chunk garbage collection may hold its lock now; only the lock of a collection
     * whose process is provably gone (on this host) does not count. A writer that holds its own lock and then finds none may refer to
     * stored chunks: a collection that starts later waits for that lock before it deletes.
     */
    boolean chunkCollectionRunning() throws IOException {
        List<ObjectInfo> locks = storage.list(RepositoryLayout.LOCKS + ChunkGc.SCOPE + "/");
        if (locks.isEmpty()) {
            return false;
        }
        // not judged by this host's clock (it may be ahead of the collector's): only a holder provably
        // gone does not count; a collection that crashed elsewhere costs deduplication until the next
        // prune takes its lock over
        Set<String> gone = new HashSet<>(RepositoryLock.goneHolders(storage));
        return locks.stream().anyMatch(o -> !gone.contains(o.key()));
    }

    /** Where the chunk key is read from when an encrypted backup is deduplicated; null when not set. */
    public void chunkKeyFile(Path file) {
        this.chunkKeyFile = file;
    }

    private byte[] configuredChunkKey() {
        Path file = chunkKeyFile;
        return file == null ? null : ChunkCodec.readKey(file);
    }

    /** Where the chunk key of id {@code keyId} is kept in the repository, encrypted to the recipients. */
    static String chunkKeyPrefix(String keyId) {
        return ChunkStore.KEYS + keyId + ".key";
    }

    /**
     * Stores the chunk key in the repository, encrypted to the recipients, unless it is there:
     * whoever holds a recipient's secret key can then read encrypted chunks without the key file.
     */
    private void storeChunkKey(byte[] key, EncryptionStage encryption) throws IOException {
        // one copy per set of recipients: a target encrypted to others must find its own copy
        String prefix = chunkKeyPrefix(ChunkCodec.keyId(key));
        String name = prefix + "." + recipientsTag(encryption.recipients()) + encryption.extension();
        if (storage.stat(name).isPresent()) {
            return;
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (OutputStream enc = encryption.encrypt(out, "chunk key")) {
            enc.write((HexFormat.of().formatHex(key) + "\n").getBytes(StandardCharsets.US_ASCII));
        }
        storage.createIfAbsent(name, out.toByteArray(), retainUntil());
    }

    /** 16 hex digits naming a set of recipients (order does not matter). */
    static String recipientsTag(List<String> recipients) {
        List<String> sorted = new ArrayList<>(recipients);
        Collections.sort(sorted);
        byte[] names = String.join("\n", sorted).getBytes(StandardCharsets.UTF_8);
        return Sha256.hex(names, 0, names.length).substring(0, 16);
    }

    /** The codec that reads the chunks of an artifact: plain, or keyed by the chunk key its list names. */
    ChunkCodec chunkCodec(ChunkedArtifactReader.ChunkList list, ArtifactInfo artifact, DecryptionStage decryption)
            throws IOException {
        String keyId = list.keyId();
        if (keyId == null) {
            return ChunkCodec.PLAIN;
        }
        String codec = artifact.codecs().get(ChunkedArtifactWriter.CHAIN.size());
        return ChunkCodec.encrypted(chunkKey(keyId, decryption), codec, artifact.recipients(), decryption);
    }

    /** The chunk key of id {@code keyId}: the configured one when it is that key, else the repository's copy. */
    private byte[] chunkKey(String keyId, DecryptionStage decryption) throws IOException {
        byte[] configured = chunkKeyFile == null ? null : configuredChunkKey();
        if (configured != null && ChunkCodec.keyId(configured).equals(keyId)) {
            return configured;
        }
        List<ObjectInfo> stored = storage.list(chunkKeyPrefix(keyId));
        if (stored.isEmpty()) {
            throw new CorruptDataException(
                    "the chunk key " + keyId + " the encrypted chunks are named with is not in " + describe()
                            + " and not in setting 'dedup-key-file'; give the key file the backups were made with");
        }
        if (decryption == null) {
            throw new DrException(
                    ErrorCode.DECRYPTION,
                    "the chunks are encrypted and no decryption key was given; give its secret key (setting "
                            + "'secret-key') or passphrase (setting 'passphrase-file'), or the chunk key file "
                            + "(setting 'dedup-key-file')");
        }
        // one copy per set of recipients: the first this decryption opens to the key of that id (anyone
        // can encrypt to a public key: a copy holding another key must not hide the real one)
        String refused = null;
        String notTheKey = null;
        for (ObjectInfo copy : stored) {
            String text;
            try (InputStream in =
                    decryption.decrypt(new ByteArrayInputStream(readSmall(copy.key())), "chunk key " + keyId)) {
                text = new String(in.readNBytes(200), StandardCharsets.US_ASCII).strip();
            } catch (IOException | DrException e) {
                refused = e.getMessage();
                continue; // encrypted to other recipients
            }
            if (text.matches("[0-9a-f]{64}")
                    && ChunkCodec.keyId(HexFormat.of().parseHex(text)).equals(keyId)) {
                return HexFormat.of().parseHex(text);
            }
            notTheKey = copy.key();
        }
        if (notTheKey != null) {
            throw new CorruptDataException("the stored chunk key " + notTheKey + " is not key " + keyId
                    + "; give the key file the backups were made with (setting 'dedup-key-file')");
        }
        throw new DrException(
                ErrorCode.DECRYPTION,
                "none of the " + stored.size() + " stored copies of chunk key " + keyId + " opens with the given "
                        + "decryption key (" + refused + "); give a secret key of the recipients these backups are "
                        + "encrypted to, or the chunk key file (setting 'dedup-key-file')");
    }

    /** The repository's chunk store (deduplicated artifacts). */
    synchronized ChunkStore chunks() {
        if (chunkStore == null) {
            chunkStore = new ChunkStore(this);
        }
        return chunkStore;
    }

    /** Whether an artifact is stored in the chunk store rather than as one object. */
    public static boolean isChunked(ArtifactInfo artifact) {
        return !artifact.codecs().isEmpty() && artifact.codecs().get(0).equals(ChunkedArtifactWriter.CODEC);
    }

    /** The stored bytes of an artifact, unchecked. */
    /**
     * The first artifact of a backup whose stored bytes no longer match the manifest, as the
     * exception a read of it would end with; empty when all match (or cannot be read, which the
     * caller's own error already says). For the failure path of a restore or verification: a
     * target's parser may choke on damaged bytes before the stream's end, where the stored
     * checksum is compared, and this names the damaged object instead of the parser's symptom.
     */
    public Optional<ChecksumMismatchException> storedMismatch(BackupManifest manifest) {
        for (ArtifactInfo a : manifest.artifacts()) {
            String key = RepositoryLayout.object(manifest.target(), manifest.id(), a.storedName());
            try (CheckedInputStream in = new CheckedInputStream(
                    storage.open(key, 0), a.storedSize(), a.sha256(), "stored artifact " + key, null)) {
                in.drainAndCheck();
            } catch (ChecksumMismatchException e) {
                return Optional.of(e);
            } catch (IOException | RuntimeException e) {
                // unreadable: the caller's error stands
            }
        }
        return Optional.empty();
    }

    public InputStream openStored(BackupManifest manifest, ArtifactInfo artifact) throws IOException {
        String key = RepositoryLayout.object(manifest.target(), manifest.id(), artifact.storedName());
        try {
            return storage.open(key, 0);
        } catch (NoSuchFileException e) {
            throw new BackupNotFoundException(
                    "artifact " + key + " is missing from " + describe()
                            + ": the backup is damaged; use another backup",
                    e);
        }
    }

    /** The content of an artifact's {@code .sha256} checksum file, or null when it is missing. */
    public byte[] checksumFile(BackupManifest manifest, ArtifactInfo artifact) throws IOException {
        return readOptional(RepositoryLayout.object(manifest.target(), manifest.id(), artifact.storedName())
                + RepositoryLayout.SHA256_SUFFIX);
    }

    /** The raw bytes of an artifact, decoded, with stored and raw checksums checked. */
    public InputStream openDecoded(
            BackupManifest manifest,
            ArtifactInfo artifact,
            StreamCodecs codecs,
            HashingOutputStream.ByteCounter counter)
            throws IOException {
        if (isChunked(artifact)) {
            String what = "artifact " + manifest.target() + "/" + manifest.id() + "/" + artifact.storedName();
            ChunkedArtifactReader.ChunkList list =
                    ChunkedArtifactReader.readList(openStored(manifest, artifact), artifact, what);
            ChunkCodec codec = chunkCodec(list, artifact, codecs.decryption());
            return ChunkedArtifactReader.open(this, chunks(), list, codec, artifact, codecs.workers(), counter, what);
        }
        return ArtifactReader.open(this, manifest, artifact, codecs, counter);
    }

    /** The content of a small object, or null when it does not exist. */
    byte[] readOptional(String key) throws IOException {
        try {
            return readSmall(key);
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /** The most read of a small object (manifest, record, lock): more means it is not one. */
    static final int MAX_SMALL = 16 * 1024 * 1024;

    byte[] readSmall(String key) throws IOException {
        try (InputStream in = storage.open(key, 0)) {
            return in.readNBytes(MAX_SMALL);
        }
    }

    private List<ObjectInfo> listQuietly(String prefix) {
        try {
            return storage.list(prefix);
        } catch (IOException e) {
            throw storageError("listing " + prefix, e);
        }
    }

    /**
     * Wraps a storage failure with what was being done and where; retryable as the storage
     * says ({@link StorageIOException#retryable()}), and for other failures as their type and
     * message suggest.
     */
    public StorageException storageError(String doing, IOException e) {
        StorageIOException failure = StorageFailures.classify(e);
        String reason = failure.getMessage() == null ? "input/output error" : failure.getMessage();
        // a backend that knows which of its settings to check says so at the end of its message
        boolean advised = reason.contains("; check ");
        String advice = switch (failure.reason()) {
            case ACCESS_DENIED ->
                (advised
                                ? ""
                                : "check the credentials and the permissions they have on the "
                                        + "repository's storage; ")
                        + "retrying will not help until they are fixed";
            case NO_SPACE -> "free space on the repository's storage and retry";
            case NOT_FOUND -> "check the repository location, and that its bucket or disk is there";
            case REJECTED ->
                (advised ? "" : "check the repository's settings against what its storage supports; ")
                        + "retrying will not help until they are changed";
            case UNAVAILABLE -> "check that the repository's storage is reachable, and retry";
            case OTHER -> failure.retryable() ? "check the repository and retry" : "check the repository";
        };
        return new StorageException(
                doing + " in " + describe() + " failed: " + reason + "; " + advice, e, failure.retryable());
    }
}
