package dev.drkit.internal.repo;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.BackupNotFoundException;
import dev.drkit.CheckOptions;
import dev.drkit.CheckReport;
import dev.drkit.CheckReport.Finding;
import dev.drkit.CheckReport.Kind;
import dev.drkit.ChecksumMismatchException;
import dev.drkit.CorruptDataException;
import dev.drkit.DamagedBackupException;
import dev.drkit.DrException;
import dev.drkit.internal.pipeline.CheckedInputStream;
import dev.drkit.internal.pipeline.HashingOutputStream;
import dev.drkit.spi.ManifestVerifier;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.support.BackupIds;
import dev.drkit.spi.support.Json;
import dev.drkit.spi.support.RepositoryLock;
import dev.drkit.spi.support.Sha256;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.function.Function;
import java.util.stream.Collectors;
import java.util.zip.CRC32;

/**
 * Checks a whole repository as a reader that trusts nothing in it: the configuration, every
 * manifest with its checksum file (and signature when keys are trusted), every artifact and
 * archived file present with its recorded size and checksum file, optionally every stored
 * byte; lists what no backup accounts for, crashed runs, stale locks and uploads; and repairs
 * what can be repaired without deleting a listed backup. Works from the storage listing, so
 * a damaged configuration or manifest does not stop it. Internal to drkit.
 */
public final class RepositoryCheck {
    private static final String INFO_SUFFIX = ".info.json";

    private final Repository repo;
    private final StorageBackend storage;
    private final Clock clock;
    private final Duration lease;
    private final HashingOutputStream.ByteCounter progress;
    private final Function<Set<String>, Set<String>> areasOf;
    private final Set<String> types = new TreeSet<>();
    private final List<Finding> findings = new ArrayList<>();
    private Instant cutoff;
    private CheckOptions options;
    private int backups;
    private int artifacts;
    private int archiveFiles;
    private long bytesRead;
    /** Pack sizes from the listing, by pack id. */
    private final Map<String, Long> packSizes = new HashMap<>();
    /** Packs read whole and found to match their index (with data read). */
    private final Set<String> soundPacks = new HashSet<>();
    /** Chunk copies in packs that are not sound whose stored bytes match the CRC32C their index gives. */
    private final Set<ChunkStore.Location> soundCopies = new HashSet<>();
    /** Chunk copies in sound packs whose stored bytes do not match the CRC32C their index gives: unproven. */
    private final Set<ChunkStore.Location> crcMismatched = new HashSet<>();
    /** What was found for each chunk checked so far: empty when sound. */
    private final Map<String, String> chunkState = new HashMap<>();
    /** The chunk index as the check read it when it began (a chunk read may read it again since). */
    private ChunkStore.Loaded index;
    /** Packs a collection removed, with their index, since the listing: no damage, their chunks moved or went. */
    private final Set<String> collectedPacks = new HashSet<>();
    /** The chunk index read again for chunks of {@link #collectedPacks}; null until needed. */
    private ChunkStore.Loaded afterCollection;
    /** Packs of version 1 indexes read whole for chunks that moved (pack id to sound). */
    private final Map<String, Boolean> movedPacks = new HashMap<>();

    /** How old an unfinished storage upload must be before repair removes it (as prune does). */
    static final Duration UPLOAD_AGE = Duration.ofDays(1);

    /**
     * @param lease how old an unfinished backup or archived file must be before it counts as
     *        abandoned (the lock lease: a live writer renews its lock within it)
     * @param progress told of every byte re-read; may be null
     * @param areasOf the archive areas (e.g. {@code wal}) that backups of the given types keep
     *        files in, asked with the types of the manifests the check read, so that it reads the
     *        catalog once; objects in other top-level folders are not drkit's and are left alone
     */
    public RepositoryCheck(
            Repository repo,
            Clock clock,
            Duration lease,
            HashingOutputStream.ByteCounter progress,
            Function<Set<String>, Set<String>> areasOf) {
        this.areasOf = areasOf;
        this.repo = repo;
        this.storage = repo.storage();
        this.clock = clock;
        this.lease = lease;
        this.progress = progress;
    }

    /** Runs the check; problems are findings in the report, failures of the storage are thrown. */
    public CheckReport run(CheckOptions options) throws IOException {
        this.options = options;
        // a folder that holds no repository is never "repaired" into one
        if (storage.stat(RepositoryLayout.CONFIG).isEmpty()
                && storage.list(RepositoryLayout.BACKUPS).isEmpty()) {
            repo.requireExisting(); // says "no drkit repository at ..."
        }
        // locks before the listing, and ages against the listing's time: a writer that finishes
        // while the check runs is never taken for a crashed one
        Set<String> liveLocks = liveLockScopes();
        this.cutoff = clock.instant().minus(lease);
        List<ObjectInfo> all = storage.list("");
        Map<String, Map<String, Map<String, ObjectInfo>>> byBackup = new TreeMap<>();
        List<ObjectInfo> outside = new ArrayList<>();
        for (ObjectInfo o : all) {
            classify(o, byBackup, outside);
            if (o.key().startsWith(ChunkStore.PACKS) && o.key().endsWith(ChunkStore.PACK_SUFFIX)) {
                packSizes.put(
                        o.key()
                                .substring(
                                        ChunkStore.PACKS.length(), o.key().length() - ChunkStore.PACK_SUFFIX.length()),
                        o.size());
            }
        }
        if (!packSizes.isEmpty() || all.stream().anyMatch(o -> o.key().startsWith(ChunkStore.INDEX))) {
            index = repo.chunks().refresh(); // the storage's state now
            for (String problem : index.problems()) {
                findings.add(new Finding(
                        Kind.CHUNK_DAMAGED,
                        ChunkStore.INDEX,
                        problem + "; its chunks are not used for deduplication, and backups that need them "
                                + "are reported below",
                        false));
            }
            if (options.readData()) {
                checkPacks(index);
            }
        }
        checkConfig();
        for (var target : byBackup.entrySet()) {
            for (var backup : target.getValue().entrySet()) {
                checkBackup(target.getKey(), backup.getKey(), backup.getValue(), liveLocks);
            }
        }
        for (var area : byArea(outside).entrySet()) {
            checkArea(area.getKey(), area.getValue());
        }
        checkLocksAndUploads();
        return new CheckReport(
                clock.instant(), repo.describe(), options, backups, artifacts, archiveFiles, bytesRead, findings);
    }

    private void classify(
            ObjectInfo o, Map<String, Map<String, Map<String, ObjectInfo>>> byBackup, List<ObjectInfo> outside) {
        String key = o.key();
        if (key.startsWith(RepositoryLayout.BACKUPS)) {
            String[] parts = key.substring(RepositoryLayout.BACKUPS.length()).split("/", -1);
            if (parts.length == 3 && BackupIds.isValidName(parts[0]) && BackupIds.isValid(parts[1])) {
                byBackup.computeIfAbsent(parts[0], k -> new TreeMap<>())
                        .computeIfAbsent(parts[1], k -> new TreeMap<>())
                        .put(parts[2], o);
            } else {
                orphan(key, "it is not where a backup keeps its objects");
            }
            return;
        }
        outside.add(o);
    }

    /** The objects of the archive areas of the backup types found, by area. */
    private Map<String, Map<String, ObjectInfo>> byArea(List<ObjectInfo> outside) {
        Set<String> areas = areasOf.apply(Set.copyOf(types)).stream()
                .map(a -> a.endsWith("/") ? a : a + "/")
                .collect(Collectors.toUnmodifiableSet());
        Map<String, Map<String, ObjectInfo>> byArea = new TreeMap<>();
        for (ObjectInfo o : outside) {
            String key = o.key();
            int slash = key.indexOf('/');
            if (slash < 0 || !areas.contains(key.substring(0, slash + 1))) {
                continue; // the configuration, locks and records are checked on their own; the rest is not drkit's
            }
            byArea.computeIfAbsent(key.substring(0, slash + 1), k -> new TreeMap<>())
                    .put(key.substring(slash + 1), o);
        }
        return byArea;
    }

    private void checkConfig() {
        String problem = repo.configProblem();
        if (problem == null) {
            return;
        }
        boolean repaired = false;
        if (options.repair()) {
            repo.rewriteConfig();
            repaired = true;
        }
        findings.add(new Finding(Kind.CONFIG_DAMAGED, RepositoryLayout.CONFIG, problem, repaired));
    }

    private void checkBackup(String target, String id, Map<String, ObjectInfo> objects, Set<String> liveLocks)
            throws IOException {
        String prefix = RepositoryLayout.backupPrefix(target, id);
        if (!objects.containsKey(RepositoryLayout.MANIFEST)
                && objects.containsKey(RepositoryLayout.MANIFEST + ManifestCodec.CHECKSUM_SUFFIX)
                && !objects.containsKey(RepositoryLayout.DELETING)) {
            findings.add(new Finding(
                    Kind.MANIFEST_DAMAGED,
                    prefix + RepositoryLayout.MANIFEST,
                    "the manifest of backup "
                            + target + "/" + id + " is damaged: " + Repository.LOST_MANIFEST
                            + "; put it back from a copy of "
                            + "the repository, or delete the backup's folder by hand",
                    false));
            return;
        }
        if (!objects.containsKey(RepositoryLayout.MANIFEST)) {
            Instant newest = objects.values().stream()
                    .map(ObjectInfo::lastModified)
                    .max(Instant::compareTo)
                    .orElse(Instant.EPOCH);
            if (newest.isAfter(cutoff) || liveLocks.contains(target)) {
                return; // a backup in progress
            }
            // the backup may have finished since the listing: look again right before deleting
            boolean repaired = options.repair()
                    && storage.stat(prefix + RepositoryLayout.MANIFEST).isEmpty()
                    && storage.stat(prefix + RepositoryLayout.MANIFEST + ManifestCodec.CHECKSUM_SUFFIX)
                            .isEmpty()
                    && deleteAll(objects.values());
            findings.add(new Finding(
                    Kind.INCOMPLETE_BACKUP,
                    prefix,
                    "backup " + target + "/" + id + " has " + objects.size()
                            + " object(s) but no manifest: a run that crashed; repair removes them",
                    repaired));
            return;
        }
        backups++;
        String manifestKey = prefix + RepositoryLayout.MANIFEST;
        boolean hasChecksum = objects.containsKey(RepositoryLayout.MANIFEST + ManifestCodec.CHECKSUM_SUFFIX);
        BackupManifest m;
        try {
            m = repo.manifest(target, id); // the checks every reader makes, signature and date included
        } catch (DamagedBackupException e) {
            findings.add(new Finding(Kind.MANIFEST_DAMAGED, manifestKey, e.getMessage(), false));
            return;
        } catch (BackupNotFoundException gone) {
            return; // deleted since the listing (a prune)
        } catch (DrException e) {
            if (e.code() != DrException.ErrorCode.SIGNATURE && e.code() != DrException.ErrorCode.REPOSITORY_FORMAT) {
                throw e;
            }
            findings.add(new Finding(Kind.MANIFEST_DAMAGED, manifestKey, e.getMessage(), false));
            return;
        }
        types.add(m.type());
        Set<String> accounted = new HashSet<>();
        accounted.add(RepositoryLayout.MANIFEST);
        accounted.add(RepositoryLayout.MANIFEST + ManifestCodec.CHECKSUM_SUFFIX);
        if (objects.containsKey(RepositoryLayout.DELETING) && !liveLocks.contains(target)) {
            accounted.add(RepositoryLayout.DELETING);
            // the backup stays whole and listed; without the marker a later lost manifest is
            // told apart from a cut-short delete again
            boolean repaired = options.repair()
                    && storage.stat(prefix + RepositoryLayout.MANIFEST).isPresent()
                    && deleteAll(List.of(objects.get(RepositoryLayout.DELETING)));
            findings.add(new Finding(
                    Kind.INTERRUPTED_DELETE,
                    prefix + RepositoryLayout.DELETING,
                    "a prune was cut "
                            + "short as it began to delete backup " + target + "/" + id
                            + ", which is whole and still listed; "
                            + "the next prune finishes it if it still expires it, repair removes the marker",
                    repaired));
        } else if (objects.containsKey(RepositoryLayout.DELETING)) {
            accounted.add(RepositoryLayout.DELETING); // a prune at work now
        }
        boolean artifactsSound = true;
        for (ArtifactInfo a : m.artifacts()) {
            accounted.add(a.storedName());
            accounted.add(a.storedName() + RepositoryLayout.SHA256_SUFFIX);
            artifactsSound &= checkStored(
                    prefix + a.storedName(),
                    objects.get(a.storedName()),
                    objects.get(a.storedName() + RepositoryLayout.SHA256_SUFFIX),
                    a,
                    Kind.ARTIFACT_MISSING,
                    Kind.ARTIFACT_DAMAGED,
                    "artifact " + a.storedName() + " of backup " + target + "/" + id);
            artifacts++;
        }
        for (ArtifactInfo a : m.artifacts()) {
            if (Repository.isChunked(a) && objects.containsKey(a.storedName())) {
                checkChunks(
                        prefix + a.storedName(), a, "artifact " + a.storedName() + " of backup " + target + "/" + id);
            }
        }
        if (!hasChecksum) {
            // blessing a manifest with a checksum needs its artifacts' bytes proven, not just their sizes
            boolean proven = artifactsSound
                    && options.repair()
                    && m.artifacts().stream().allMatch(a -> {
                        try {
                            return rehash(prefix + a.storedName(), a) == null;
                        } catch (IOException e) {
                            return false;
                        }
                    });
            boolean repaired = proven
                    && storage.createIfAbsent(
                            manifestKey + ManifestCodec.CHECKSUM_SUFFIX,
                            ManifestCodec.checksumFile(read(manifestKey), RepositoryLayout.MANIFEST));
            findings.add(new Finding(
                    Kind.WITHOUT_CHECKSUM,
                    manifestKey,
                    "the manifest of backup " + target
                            + "/" + id + " was written before manifests had checksum files; repair adds one once its "
                            + "artifacts check out",
                    repaired));
        }
        for (var o : objects.entrySet()) {
            String name = o.getKey();
            if (!accounted.contains(name) && !name.startsWith(RepositoryLayout.MANIFEST + ".")) {
                boolean repaired = options.repair() && deleteAll(List.of(o.getValue()));
                findings.add(new Finding(
                        Kind.ORPHAN_OBJECT,
                        o.getValue().key(),
                        "backup " + target + "/" + id + " does not list " + name + "; repair removes it",
                        repaired));
            }
        }
    }

    /**
     * Checks one stored object and its checksum file against what was recorded; rewrites a
     * missing or wrong checksum file on repair once the object's bytes are proven.
     *
     * @return whether the object itself is sound as far as this check looked
     */
    private boolean checkStored(
            String key, ObjectInfo stored, ObjectInfo sidecar, ArtifactInfo a, Kind missing, Kind damaged, String what)
            throws IOException {
        if (stored == null) {
            findings.add(new Finding(
                    missing,
                    key,
                    what + " is missing: the backup cannot be restored; use another "
                            + "backup, or put the object back from a copy of the repository",
                    false));
            return false;
        }
        if (stored.size() != a.storedSize()) {
            findings.add(new Finding(
                    damaged, key, what + " has " + stored.size() + " bytes, the record says " + a.storedSize(), false));
            return false;
        }
        boolean proven = false;
        if (options.readData() && inSubset(key)) {
            String problem = rehash(key, a);
            if (problem != null) {
                findings.add(new Finding(damaged, key, what + ": " + problem, false));
                return false;
            }
            proven = true;
        }
        String expected = Sha256.sidecar(a.sha256(), a.storedName());
        String sidecarKey = key + RepositoryLayout.SHA256_SUFFIX;
        String problem = sidecar == null
                ? "is missing"
                : expected.equals(new String(read(sidecarKey), StandardCharsets.US_ASCII))
                        ? null
                        : "does not match the record (a check with sha256sum would fail)";
        if (problem != null) {
            boolean repaired = false;
            if (options.repair() && (proven || rehash(key, a) == null)) {
                if (sidecar != null) {
                    storage.delete(sidecarKey);
                }
                repaired = storage.createIfAbsent(sidecarKey, expected.getBytes(StandardCharsets.US_ASCII));
            }
            findings.add(new Finding(
                    Kind.CHECKSUM_FILE,
                    sidecarKey,
                    "checksum file of " + what + " " + problem + "; repair rewrites it from the verified data",
                    repaired));
        }
        return true;
    }

    /** Re-reads an object against its recorded size and sha256; null when it matches, else why not. */
    private String rehash(String key, ArtifactInfo a) throws IOException {
        HashingOutputStream.ByteCounter counter = n -> {
            bytesRead += n;
            if (progress != null) {
                progress.add(n);
            }
        };
        try (InputStream in = new CheckedInputStream(storage.open(key, 0), a.storedSize(), a.sha256(), key, counter)) {
            in.transferTo(OutputStream.nullOutputStream());
            return null;
        } catch (DrException e) {
            return e.getMessage();
        } catch (NoSuchFileException e) {
            return "it vanished while being read";
        }
    }

    /**
     * Checks that every chunk a chunked artifact lists is in the chunk index and inside a pack
     * that exists; when the check reads data, that its stored bytes decode to it (each chunk
     * once, however many backups share it).
     */
    private void checkChunks(String key, ArtifactInfo a, String what) throws IOException {
        ChunkedArtifactReader.ChunkList list;
        try {
            list = ChunkedArtifactReader.readList(storage.open(key, 0), a, what);
        } catch (DrException e) {
            return; // the artifact's own check above said it
        } catch (NoSuchFileException e) {
            return; // deleted since the listing (a prune)
        }
        ChunkStore store = repo.chunks();
        List<String> problems = new ArrayList<>(); // the first few, for the message
        int damaged = 0;
        for (int i = 0; i < list.ids().size(); i++) {
            String id = list.ids().get(i);
            int length = list.lengths()[i];
            String known = chunkState.get(id);
            if (known == null) {
                // encrypted chunks are read whole but not opened: a check holds no key; verify opens them
                known = chunkProblem(store, id, length, what, list.keyId() == null ? ChunkCodec.PLAIN : null);
                if (startIndex(store).chunks().containsKey(id)) {
                    // kept only for chunks the index lists, as many as the heap bounds: a forged list may
                    // name millions of others, each found again at the cost of one lookup
                    chunkState.put(id, known);
                }
            }
            if (!known.isEmpty() && ++damaged <= 3) {
                problems.add(known);
            }
        }
        if (damaged > 0) {
            findings.add(new Finding(
                    Kind.CHUNK_DAMAGED,
                    key,
                    what + " cannot be restored: " + damaged + " of its "
                            + list.ids().size()
                            + " chunks are missing or damaged ("
                            + String.join("; ", problems)
                            + (damaged > 3 ? "; ..." : "") + "); use another backup",
                    false));
        }
    }

    /**
     * Which copies of a pack that failed its check are sound: each one its index gives a CRC32C
     * for is read and compared (up to the stored pack's end), the sound ones kept in {@link
     * #soundCopies}; says what was found, for a message.
     */
    private String damagedCopies(ChunkStore.PackIndex p) throws IOException {
        int damaged = 0;
        int unchecked = 0;
        for (ChunkStore.Location loc : p.chunks().values()) {
            if (loc.crc32c() == null) {
                unchecked++;
                continue;
            }
            byte[] stored = repo.chunks().readStoredAt(loc);
            if (stored != null && loc.matches(stored)) {
                soundCopies.add(loc);
            } else {
                damaged++;
            }
        }
        if (unchecked > 0) { // an index of version 1: no CRC32C per chunk
            return "the " + p.chunks().size() + " chunk copies in it are damaged";
        }
        if (damaged == 0) {
            return "each of its " + p.chunks().size() + " chunk copies matches the CRC32C its index gives, so the "
                    + "damage lies in the SHA-256 its index records or between its chunks";
        }
        return damaged + " of the " + p.chunks().size() + " chunk copies in it do not match the CRC32C its index "
                + "gives and are damaged";
    }

    /**
     * Reads every indexed pack whole and compares it with the SHA-256 its index records (no key
     * is needed, so encrypted packs are covered too): a damaged copy is reported even when
     * another copy of each of its chunks is sound and every backup still restores. In a pack
     * that fails, or is not the size its index says, each copy is checked on its own against its
     * CRC32C, as a copy to another repository does.
     */
    private void checkPacks(ChunkStore.Loaded index) throws IOException {
        for (ChunkStore.PackIndex p : index.packs()) {
            Long size = packSizes.get(p.pack());
            if (size == null) {
                continue; // missing: the index problems above say so
            }
            if (size != p.size()) {
                damagedCopies(p); // of another size: the index problems above say so; its sound copies count
                continue;
            }
            ChunkStore.WholePack whole = repo.chunks().readWhole(p);
            if (!whole.sound() && collectedSinceListing(p.pack())) {
                // a prune's collection elsewhere: the chunks of backups that moved are looked up anew
                collectedPacks.add(p.pack());
                continue;
            }
            if (whole.sound()) {
                soundPacks.add(p.pack());
                if (!whole.crcMismatches().isEmpty()) {
                    // the pack is as written, so its index lines for these chunks are not: unproven
                    List<String> ids = whole.crcMismatches();
                    ids.forEach(id -> crcMismatched.add(p.chunks().get(id)));
                    findings.add(new Finding(
                            Kind.CHUNK_DAMAGED,
                            ChunkStore.INDEX + p.pack() + ChunkStore.INDEX_SUFFIX,
                            "the chunk index of pack " + p.pack() + " is damaged: it gives " + ids.size()
                                    + " of the pack's " + p.chunks().size()
                                    + " chunk copies a place or CRC32C their bytes do not match ("
                                    + String.join(", ", ids.subList(0, Math.min(3, ids.size())))
                                    + (ids.size() > 3 ? ", ..." : "")
                                    + "), although the pack hashes to the SHA-256 the index records: the index "
                                    + "line is wrong, so those copies cannot be proven (backups needing them with "
                                    + "no other sound copy are reported too, and a copy to another repository "
                                    + "leaves them out); a restore or verify with the key tells whether the bytes "
                                    + "still decrypt",
                            false));
                }
            } else {
                findings.add(new Finding(
                        Kind.CHUNK_DAMAGED,
                        ChunkStore.PACKS + p.pack() + ChunkStore.PACK_SUFFIX,
                        "pack " + p.pack() + " does not hash to the SHA-256 its index records: "
                                + damagedCopies(p) + " (backups whose chunks have no sound copy elsewhere are "
                                + "reported as damaged); a prune keeps only copies it can prove sound",
                        false));
            }
            bytesRead += p.size();
            if (progress != null) {
                progress.add(p.size());
            }
        }
    }

    /** How many chunks the check keeps what it found for (tests). */
    int chunksRemembered() {
        return chunkState.size();
    }

    /** Whether a pack and its index are both gone: a collection removes them so (index first), damage rarely. */
    private boolean collectedSinceListing(String pack) throws IOException {
        return storage.stat(ChunkStore.PACKS + pack + ChunkStore.PACK_SUFFIX).isEmpty()
                && storage.stat(ChunkStore.INDEX + pack + ChunkStore.INDEX_SUFFIX)
                        .isEmpty();
    }

    /**
     * Whether an encrypted chunk that was in a pack collected since the listing has a copy
     * elsewhere now (the collection repacked it) whose bytes match its index.
     */
    private boolean movedCopySound(ChunkStore store, String id, int length, List<ChunkStore.Location> where)
            throws IOException {
        if (afterCollection == null) {
            afterCollection = store.refresh();
        }
        for (ChunkStore.Location l : afterCollection.chunks().getOrDefault(id, List.of())) {
            if (!where.contains(l)
                    && l.rawLength() == length
                    && store.storedSound(l, store.readStoredAt(l), movedPacks)) {
                return true;
            }
        }
        return false;
    }

    /** The chunk index as the check read it when it began. */
    private ChunkStore.Loaded startIndex(ChunkStore store) throws IOException {
        if (index == null) {
            index = store.index();
        }
        return index;
    }

    /** What is wrong with one chunk, or empty. */
    private String chunkProblem(ChunkStore store, String id, int length, String what, ChunkCodec codec)
            throws IOException {
        // the index the check read when it began: a lookup that read it again for each missing chunk
        // would list every index once per chunk
        List<ChunkStore.Location> where = startIndex(store).chunks().getOrDefault(id, List.of());
        if (where.isEmpty()) {
            return "chunk " + id + " is in no chunk index";
        }
        boolean inPack = where.stream().anyMatch(l -> {
            Long size = packSizes.get(l.pack());
            return size != null && l.offset() + l.length() <= size;
        });
        if (!inPack) {
            return "the pack of chunk " + id + " is missing or shorter than its index says";
        }
        if (options.readData() && codec == null) {
            // encrypted: every pack was read whole above and compared with its index (the copies in a
            // pack that failed, each with its CRC32C); a sound copy is the bytes that were stored (a
            // restore decrypts and checks it)
            boolean sound = where.stream()
                    .anyMatch(l -> l.rawLength() == length
                            && ((soundPacks.contains(l.pack()) && !crcMismatched.contains(l))
                                    || soundCopies.contains(l)));
            if (!sound && where.stream().anyMatch(l -> collectedPacks.contains(l.pack()))) {
                sound = movedCopySound(store, id, length, where);
            }
            if (!sound) {
                return "chunk " + id + " has no copy whose bytes match its index";
            }
        } else if (options.readData()) {
            try {
                ChunkStore.Chunk c = store.read(id, length, what, codec);
                bytesRead += c.frame().length;
                if (progress != null) {
                    progress.add(c.frame().length);
                }
            } catch (ChecksumMismatchException | CorruptDataException e) {
                return "chunk " + id + " does not decode to its bytes in any pack that holds it";
            }
        }
        return "";
    }

    private void checkArea(String area, Map<String, ObjectInfo> objects) throws IOException {
        Set<String> accounted = new HashSet<>();
        Set<String> records = new HashSet<>();
        objects.keySet().stream()
                .filter(n -> n.endsWith(INFO_SUFFIX))
                .forEach(n -> records.add(n.substring(0, n.length() - INFO_SUFFIX.length())));
        for (var e : objects.entrySet()) {
            String name = e.getKey();
            if (!name.endsWith(INFO_SUFFIX)) {
                continue;
            }
            accounted.add(name);
            accounted.add(name + ManifestCodec.CHECKSUM_SUFFIX);
            archiveFiles++;
            String path = name.substring(0, name.length() - INFO_SUFFIX.length());
            String infoKey = area + name;
            boolean hasChecksum = objects.containsKey(name + ManifestCodec.CHECKSUM_SUFFIX);
            ArtifactInfo info = archiveInfo(area, path, hasChecksum);
            if (info == null) {
                continue;
            }
            String dir = path.substring(0, path.lastIndexOf('/') + 1);
            accounted.add(dir + info.storedName());
            accounted.add(dir + info.storedName() + RepositoryLayout.SHA256_SUFFIX);
            boolean sound = checkStored(
                    area + dir + info.storedName(),
                    objects.get(dir + info.storedName()),
                    objects.get(dir + info.storedName() + RepositoryLayout.SHA256_SUFFIX),
                    info,
                    Kind.ARCHIVE_DAMAGED,
                    Kind.ARCHIVE_DAMAGED,
                    "archived file " + area + path + " (recorded in " + infoKey + ")");
            if (!hasChecksum) {
                String file = path.substring(path.lastIndexOf('/') + 1) + INFO_SUFFIX;
                boolean repaired = options.repair()
                        && sound
                        && storage.createIfAbsent(
                                infoKey + ManifestCodec.CHECKSUM_SUFFIX,
                                ManifestCodec.checksumFile(read(infoKey), file));
                findings.add(new Finding(
                        Kind.WITHOUT_CHECKSUM,
                        infoKey,
                        "the record of archived file " + area + path
                                + " was written before records had checksum files; repair adds one once the file checks "
                                + "out",
                        repaired));
            }
        }
        for (var e : objects.entrySet()) {
            // a record, damaged or not, holds every object named after its file
            if (!accounted.contains(e.getKey())
                    && !namedByRecord(e.getKey(), records)
                    && e.getValue().lastModified().isBefore(cutoff)) {
                boolean repaired =
                        options.repair() && !recordedSince(area, e.getKey()) && deleteAll(List.of(e.getValue()));
                findings.add(new Finding(
                        Kind.ARCHIVE_DAMAGED,
                        e.getValue().key(),
                        "no archived file accounts for " + e.getValue().key()
                                + " (left half-written by a crashed run); repair removes it",
                        repaired));
            }
        }
    }

    private static boolean namedByRecord(String name, Set<String> records) {
        for (String r : records) {
            if (name.equals(r) || name.startsWith(r + ".")) {
                return true;
            }
        }
        return false;
    }

    /** Whether a record for the file an object belongs to appeared since the listing (a writer finished). */
    private boolean recordedSince(String area, String name) throws IOException {
        int slash = name.lastIndexOf('/');
        Set<String> records = new HashSet<>();
        for (ObjectInfo o : storage.list(area + name.substring(0, slash + 1))) {
            String k = o.key().substring(area.length());
            if (k.endsWith(INFO_SUFFIX)) {
                records.add(k.substring(0, k.length() - INFO_SUFFIX.length()));
            }
        }
        return namedByRecord(name, records);
    }

    private ArtifactInfo archiveInfo(String area, String path, boolean hasChecksum) throws IOException {
        String key = area + path + INFO_SUFFIX;
        try {
            byte[] json = read(key);
            String name = path.substring(path.lastIndexOf('/') + 1);
            String problem = ManifestCodec.checksumProblem(
                    json, hasChecksum ? read(key + ManifestCodec.CHECKSUM_SUFFIX) : null, name + INFO_SUFFIX);
            ArtifactInfo info = problem != null ? null : Json.read(json, ArtifactInfo.class);
            if (info != null
                    && name.equals(info.name())
                    && BackupIds.isValidArtifactName(info.storedName())
                    && info.storedName().startsWith(name)
                    && info.sha256().matches("[0-9a-f]{64}")) {
                String unsigned = signatureProblem(key, json, area + path);
                if (unsigned == null) {
                    return info;
                }
                findings.add(new Finding(Kind.ARCHIVE_DAMAGED, key, unsigned, false));
                return null;
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof NoSuchFileException) {
                return null; // removed while checking (a prune)
            }
        }
        findings.add(new Finding(
                Kind.ARCHIVE_DAMAGED,
                key,
                "the record of archived file " + area + path
                        + " is damaged, so the file cannot be trusted; put it back from a copy of the repository",
                false));
        return null;
    }

    /** Why a record is not believed with the repository's trusted keys; null when it is, or none are trusted. */
    private String signatureProblem(String key, byte[] json, String what) throws IOException {
        ManifestVerifier trusted = repo.trusted();
        if (trusted == null) {
            return null;
        }
        try {
            trusted.verify(
                    ArchiveArea.signedContent(key, json),
                    repo.readOptional(key + trusted.signatureSuffix()),
                    "the record of archived file " + what);
            return null;
        } catch (DrException e) {
            if (e.code() != DrException.ErrorCode.SIGNATURE) {
                throw e;
            }
            return e.getMessage() + " (a restore refuses the file; one archived before signing was turned on is "
                    + "refused as well)";
        }
    }

    private Set<String> liveLockScopes() throws IOException {
        Set<String> stale = new HashSet<>(RepositoryLock.staleLocks(storage, clock));
        Set<String> live = new HashSet<>();
        for (ObjectInfo o : storage.list(RepositoryLayout.LOCKS)) {
            if (!stale.contains(o.key())) {
                String rest = o.key().substring(RepositoryLayout.LOCKS.length());
                live.add(rest.substring(0, Math.max(0, rest.indexOf('/'))));
            }
        }
        return live;
    }

    private void checkLocksAndUploads() throws IOException {
        for (String key : RepositoryLock.staleLocks(storage, clock)) {
            boolean repaired = false;
            if (options.repair()) {
                storage.delete(key);
                repaired = true;
            }
            findings.add(new Finding(
                    Kind.STALE_LOCK,
                    key,
                    "lock " + key + " belongs to a process that is gone or "
                            + "whose lease has passed; the next writer to take the lock removes it, and so "
                            + "does repair",
                    repaired));
        }
        List<ObjectInfo> uploads = storage.incompleteUploads(UPLOAD_AGE);
        // also clears what the storage keeps beside uploads (empty folders of killed writers)
        boolean repaired = options.repair() && storage.cleanIncompleteUploads(UPLOAD_AGE) >= 0;
        for (ObjectInfo o : uploads) {
            findings.add(new Finding(
                    Kind.INCOMPLETE_UPLOAD,
                    o.key(),
                    "upload " + o.key() + " (" + o.size()
                            + " bytes) was never finished, left by a killed writer; repair removes it",
                    repaired));
        }
    }

    private boolean inSubset(String key) {
        if (options.subsetParts() == 1) {
            return true;
        }
        CRC32 crc = new CRC32();
        crc.update(key.getBytes(StandardCharsets.UTF_8));
        return Math.floorMod(crc.getValue(), options.subsetParts()) == options.subsetPart() - 1;
    }

    private void orphan(String key, String why) {
        findings.add(new Finding(Kind.ORPHAN_OBJECT, key, key + ": " + why + "; it is left as it is", false));
    }

    private boolean deleteAll(Collection<ObjectInfo> objects) throws IOException {
        storage.deleteAll(objects.stream().map(ObjectInfo::key).toList());
        return true;
    }

    private byte[] read(String key) throws IOException {
        return repo.readSmall(key);
    }
}
