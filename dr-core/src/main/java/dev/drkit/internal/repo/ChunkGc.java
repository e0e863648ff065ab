package dev.drkit.internal.repo;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.ChunkCollection;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.RepositoryLockedException;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.StorageBackend;
import dev.drkit.spi.support.Json;
import dev.drkit.spi.support.RepositoryLock;
import java.io.IOException;
import java.nio.file.NoSuchFileException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Garbage collection of the chunk store, run by prune after it deleted backups: packs none of
 * whose chunks a listed backup needs are removed, packs mostly garbage are rewritten.
 *
 * <p>Safe against backups and copies running at the same time, in two phases:
 *
 * <ol>
 *   <li>The collection takes its own lock ({@value #SCOPE}). A writer that finds that lock live
 *       after taking its target's lock refers to no chunk stored before it (it stores its chunks
 *       anew), so nothing it needs can be collected.
 *   <li>The collection lists the packs, then waits until every backup, copy and prune whose
 *       lock was live when it began has released it (writers that began before it and may refer
 *       to older chunks finish and write their manifests; a holder renews its lock under a new
 *       key, so holders are told apart by owner), then reads what every listed backup needs. Only packs of its
 *       first listing are candidates: a pack written since is never touched.
 * </ol>
 *
 * A backup whose manifest or chunk list cannot be read stops the collection (it cannot say what
 * it needs). An index is removed before its pack, so no index names a pack that is gone; new
 * packs of a rewrite are indexed before the old ones are removed.
 */
public final class ChunkGc {
    /** The lock scope of a running collection. */
    public static final String SCOPE = "chunk-gc";

    /** A pack is rewritten when at least this share of its bytes is garbage. */
    static final double REWRITE_SHARE = 0.5;

    /**
     * The operations whose locks a collection waits for (those of BackupOperation, CopyOperation
     * and PruneOperation): others never refer to stored chunks themselves.
     */
    private static final Set<String> WRITERS = Set.of("backup", "copy", "prune");

    private static final Logger LOG = LoggerFactory.getLogger(ChunkGc.class);

    private final Repository repo;
    private final StorageBackend storage;
    private final Clock clock;
    private final Duration lockTtl;
    private final Duration waitForWriters;
    private Map<String, List<String>> expiring = Map.of();
    /** Needed chunks of unencrypted artifacts: a rewrite checks them against their ids. */
    private final Set<String> plain = new HashSet<>();
    /** The raw length the backups' chunk lists give each needed chunk. */
    private final Map<String, Integer> neededLength = new HashMap<>();
    /** The chunk index the collection works from (read again when backups add to it, see {@link #needed}). */
    private ChunkStore.Loaded index;

    /**
     * @param lockTtl the lease of the collection's lock; also the age a pack without an index
     *     must reach before it counts as left by a crash
     * @param waitForWriters how long to wait for writers that were running when it began
     */
    public ChunkGc(Repository repo, Clock clock, Duration lockTtl, Duration waitForWriters) {
        this.repo = repo;
        this.storage = repo.storage();
        this.clock = clock;
        this.lockTtl = lockTtl;
        this.waitForWriters = waitForWriters;
    }

    /** Whether the repository has a chunk store at all. */
    public boolean present() throws IOException {
        return !storage.list(ChunkStore.PACKS).isEmpty()
                || !storage.list(ChunkStore.INDEX).isEmpty();
    }

    /** Collects (or, in a dry run, says what it would collect, without waiting or deleting). */
    public ChunkCollection collect(boolean dryRun) throws IOException {
        return collect(dryRun, Map.of());
    }

    /**
     * As {@link #collect(boolean)}, with the backups a dry run of a prune would delete counted as
     * gone (a real run ignores {@code expiring}: it sees what the prune deleted as gone).
     *
     * @param expiring backup ids per target that need nothing
     */
    public ChunkCollection collect(boolean dryRun, Map<String, List<String>> expiring) throws IOException {
        // a real run reads the catalog after the deletes: an id deleted then copied back is needed again
        this.expiring = dryRun ? expiring : Map.of();
        if (dryRun) {
            return collectLocked(null);
        }
        RepositoryLock lock;
        try {
            lock = RepositoryLock.acquire(
                    storage,
                    SCOPE,
                    "chunk garbage collection",
                    lockTtl,
                    Duration.ZERO,
                    clock,
                    holder -> LOG.warn("took over the stale lock of a chunk garbage collection: {}", holder));
        } catch (RepositoryLockedException e) {
            return ChunkCollection.skipped("another chunk garbage collection is running: " + e.getMessage());
        }
        try (lock) {
            return collectLocked(lock);
        } finally {
            repo.chunks().refresh();
        }
    }

    /**
     * The collection, under {@code lock} (nothing is removed once it lapsed: a writer may have
     * begun); a dry run, with no lock, only counts.
     */
    private ChunkCollection collectLocked(RepositoryLock lock) throws IOException {
        boolean dryRun = lock == null;
        Instant began = clock.instant();
        Map<String, ObjectInfo> packs = new TreeMap<>();
        Set<String> sidecars = new HashSet<>();
        for (ObjectInfo o : storage.list(ChunkStore.PACKS)) {
            String name = o.key().substring(ChunkStore.PACKS.length());
            if (name.endsWith(ChunkStore.PACK_SUFFIX)) {
                packs.put(name.substring(0, name.length() - ChunkStore.PACK_SUFFIX.length()), o);
            } else if (name.endsWith(ChunkStore.PACK_SUFFIX + RepositoryLayout.SHA256_SUFFIX)) {
                sidecars.add(name.substring(
                        0, name.length() - ChunkStore.PACK_SUFFIX.length() - RepositoryLayout.SHA256_SUFFIX.length()));
            }
        }
        if (!dryRun) {
            String busy = waitForWriters();
            if (busy != null) {
                return ChunkCollection.skipped(busy);
            }
        }
        ChunkStore store = repo.chunks();
        index = store.refresh();
        Map<String, String> needed = new HashMap<>();
        String unreadable = needed(store, needed);
        if (unreadable != null) {
            return ChunkCollection.skipped(unreadable);
        }
        ChunkStore.Loaded index = this.index;
        // one copy of each needed chunk is kept: the first pack (by id) of the first listing that holds
        // it, among whole packs first (a pack not the size its index says may have lost it). When there
        // are several copies, the one kept must be proven sound first (its bytes decode to its id, or,
        // encrypted, they match their CRC32C or their pack hashes as its index says): a damaged or
        // forged copy must not make the good one look like garbage. When none can be proven, every copy
        // stays.
        Map<String, List<ChunkStore.Location>> copies = new HashMap<>();
        List<ChunkStore.PackIndex> wholeFirst = new ArrayList<>(index.packs());
        wholeFirst.sort(Comparator.comparing(p -> !store.whole(p.pack())));
        for (ChunkStore.PackIndex p : wholeFirst) {
            if (packs.containsKey(p.pack())) {
                for (var e : p.chunks().entrySet()) {
                    if (needed.containsKey(e.getKey())) {
                        copies.computeIfAbsent(e.getKey(), k -> new ArrayList<>())
                                .add(e.getValue());
                    }
                }
            }
        }
        Map<String, ChunkStore.PackIndex> byPack = new HashMap<>();
        index.packs().forEach(p -> byPack.put(p.pack(), p));
        Map<String, Boolean> soundPacks = new HashMap<>();
        Map<String, Set<String>> keeper = new HashMap<>();
        for (var e : copies.entrySet()) {
            List<ChunkStore.Location> at = e.getValue();
            String kept = null;
            Set<String> matching = new HashSet<>();
            if (at.size() == 1) {
                kept = at.get(0).pack();
            } else if (plain.contains(e.getKey())) {
                for (ChunkStore.Location loc : at) {
                    if (sound(store, e.getKey(), loc, byPack.get(loc.pack()), soundPacks)) {
                        kept = loc.pack();
                        break;
                    }
                }
            } else {
                // encrypted, opened by no key here: a CRC32C (or a pack's SHA-256 its own index records)
                // tells bit rot, not forgery, so that one copy matches its index never makes another
                // one garbage; every copy that matches stays
                for (ChunkStore.Location loc : at) {
                    if (sound(store, e.getKey(), loc, byPack.get(loc.pack()), soundPacks)) {
                        matching.add(loc.pack());
                    }
                }
            }
            if (!matching.isEmpty()) {
                keeper.put(e.getKey(), Set.copyOf(matching));
            } else if (kept != null) {
                keeper.put(e.getKey(), Set.of(kept));
            } else {
                Set<String> all = new HashSet<>();
                at.forEach(l -> all.add(l.pack()));
                keeper.put(e.getKey(), all);
                LOG.warn(
                        "chunk garbage collection: no copy of chunk {} could be proven sound; all {} copies stay "
                                + "(a check that reads the data says which are damaged)",
                        e.getKey(),
                        all.size());
            }
        }
        Set<String> indexed = new HashSet<>();
        index.packs().forEach(p -> indexed.add(p.pack()));
        int deleted = 0;
        int rewritten = 0;
        int orphans = 0;
        long chunksRemoved = 0;
        long freed = 0;
        Instant now = clock.instant();
        Duration immutable = storage.immutableFor().orElse(Duration.ZERO);
        List<ChunkStore.PackIndex> toRewrite = new ArrayList<>();
        Map<String, long[]> garbage = new HashMap<>(); // pack to {chunks, bytes} a rewrite frees
        for (ChunkStore.PackIndex p : index.packs()) {
            ObjectInfo stored = packs.get(p.pack());
            if (stored == null || locked(stored, immutable, now)) {
                continue; // written since the collection began, or still under retention
            }
            long live = 0;
            int liveChunks = 0;
            for (var e : p.chunks().entrySet()) {
                if (keeper.getOrDefault(e.getKey(), Set.of()).contains(p.pack())) {
                    live += e.getValue().length();
                    liveChunks++;
                }
            }
            if (liveChunks == 0) {
                chunksRemoved += p.chunks().size();
                freed += stored.size();
                deleted++;
                if (!dryRun) {
                    removePack(lock, p.pack(), true, sidecars.contains(p.pack()));
                }
            } else if (p.size() - live >= p.size() * REWRITE_SHARE) {
                toRewrite.add(p);
                garbage.put(p.pack(), new long[] {p.chunks().size() - liveChunks, p.size() - live});
            }
        }
        // a pack left as it is (a chunk in it could not be proven sound) frees nothing
        Set<String> rewrote = toRewrite.isEmpty()
                ? Set.of()
                : dryRun
                        ? toRewrite.stream().map(ChunkStore.PackIndex::pack).collect(Collectors.toSet())
                        : rewrite(lock, store, toRewrite, keeper, sidecars);
        for (String pack : rewrote) {
            chunksRemoved += garbage.get(pack)[0];
            freed += garbage.get(pack)[1];
            rewritten++;
        }
        for (var e : packs.entrySet()) {
            ObjectInfo o = e.getValue();
            boolean old = o.lastModified() != null
                    && o.lastModified().isBefore(began.minus(lockTtl))
                    && !locked(o, immutable, now);
            if (!indexed.contains(e.getKey()) && old && !indexProblem(index, e.getKey())) {
                orphans++;
                freed += o.size();
                if (!dryRun) {
                    removePack(lock, e.getKey(), false, sidecars.contains(e.getKey()));
                }
            }
        }
        if (!dryRun && (deleted + rewritten + orphans) > 0) {
            LOG.info(
                    "chunk garbage collection in {}: {} pack(s) removed, {} rewritten, {} without an index removed, "
                            + "{} chunk(s) and {} byte(s) freed",
                    repo.describe(),
                    deleted,
                    rewritten,
                    orphans,
                    chunksRemoved,
                    freed);
        }
        return new ChunkCollection(null, deleted, rewritten, chunksRemoved, freed, orphans);
    }

    /**
     * Whether one copy of a chunk is proven sound: its index line gives the raw length the backups
     * need, and an unencrypted chunk's bytes decode to its id; an encrypted one's stored bytes
     * match the CRC32C its index gives, or its pack (read once, remembered in {@code soundPacks})
     * hashes as its index says.
     */
    private boolean sound(
            ChunkStore store,
            String id,
            ChunkStore.Location at,
            ChunkStore.PackIndex pack,
            Map<String, Boolean> soundPacks)
            throws IOException {
        if (!store.whole(at.pack()) || pack == null) {
            return false;
        }
        Integer length = neededLength.get(id);
        if (length == null || at.rawLength() != length) {
            return false; // neither the CRC32C nor the pack's SHA-256 covers an index line's raw length
        }
        if (plain.contains(id)) {
            return store.readAt(at, id, ChunkCodec.PLAIN) != null;
        }
        return store.storedSound(at, store.readStoredAt(at), soundPacks);
    }

    private static boolean locked(ObjectInfo o, Duration immutable, Instant now) {
        return !immutable.isZero()
                && (o.lastModified() == null || o.lastModified().plus(immutable).isAfter(now));
    }

    /** A pack whose index exists but cannot be read is left for a check to report, never removed. */
    private static boolean indexProblem(ChunkStore.Loaded index, String pack) {
        return index.problems().stream().anyMatch(p -> p.contains(pack));
    }

    /**
     * Waits for the writers that held locks when the collection began; null when they are done.
     * A holder counts as gone when its lock objects are, or when they look stale (lease passed by
     * this host's clock, or holder process gone) and have not been renewed for a whole lease as
     * this process's monotonic clock measures it: another host's clock, or a process start time a
     * step of the clock moved, never alone makes a live backup's lock look stale.
     */
    private String waitForWriters() throws IOException {
        long deadline = System.nanoTime() + waitForWriters.toNanos();
        Set<String> waiting = null;
        Map<String, Set<String>> seenKeys = new HashMap<>();
        Map<String, Long> unchangedSince = new HashMap<>();
        while (true) {
            Map<String, Set<String>> still = liveWriterLocks();
            long now = System.nanoTime();
            if (still != null && waiting == null) {
                waiting = new HashSet<>(still.keySet());
            }
            if (still != null) {
                still.keySet().retainAll(waiting);
                Set<String> stale = new HashSet<>(RepositoryLock.staleLocks(storage, clock));
                // a holder provably gone (this host and boot, its process no longer runs) needs no clock
                Set<String> gone = new HashSet<>(RepositoryLock.goneHolders(storage));
                for (var e : Map.copyOf(still).entrySet()) {
                    if (gone.containsAll(e.getValue())) {
                        still.remove(e.getKey());
                        continue;
                    }
                    if (!e.getValue().equals(seenKeys.get(e.getKey()))) {
                        seenKeys.put(e.getKey(), e.getValue()); // renewed (or first seen)
                        unchangedSince.put(e.getKey(), now);
                    }
                    boolean unrenewed = now - unchangedSince.get(e.getKey()) >= lockTtl.toNanos();
                    if (unrenewed && stale.containsAll(e.getValue())) {
                        still.remove(e.getKey());
                    }
                }
                if (still.isEmpty()) {
                    return null;
                }
            }
            if (System.nanoTime() > deadline) {
                if (still == null) {
                    return "the locks of backups, copies or prunes changed under the collection for longer than "
                            + waitForWriters.toSeconds() + " s; nothing was collected, the next prune tries again";
                }
                return "a backup, copy or prune held the lock "
                        + still.keySet().iterator().next() + " for longer than "
                        + waitForWriters.toSeconds() + " s after the collection began; nothing was collected, the "
                        + "next prune tries again";
            }
            try {
                Thread.sleep(250);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new DrException(DrException.ErrorCode.INTERRUPTED, "interrupted while waiting for writers");
            }
        }
    }

    /**
     * The holders of writer locks, as {@code locks/SCOPE/OWNER}, each with the keys of its lock
     * objects: a holder renews its lease by writing a new lock object, so the object's key does
     * not say who holds it. Null when a lock object went between the listing and its reading (a
     * renewal or a release): ask again.
     */
    private Map<String, Set<String>> liveWriterLocks() throws IOException {
        Map<String, Set<String>> live = new HashMap<>();
        for (ObjectInfo o : storage.list(RepositoryLayout.LOCKS)) {
            String key = o.key();
            if (key.startsWith(RepositoryLayout.LOCKS + SCOPE + "/")) {
                continue;
            }
            byte[] content;
            try {
                content = RepositoryLock.readLockObject(storage, key);
            } catch (NoSuchFileException e) {
                return null;
            }
            RepositoryLock.LockInfo info;
            try {
                info = Json.read(content, RepositoryLock.LockInfo.class);
            } catch (IOException | RuntimeException e) {
                info = null;
            }
            if (info != null && !info.complete()) {
                info = null; // JSON but no lock (a forged {}): counted as a torn one is, by its key
            }
            if (info != null && !WRITERS.contains(info.operation())) {
                continue; // e.g. a scheduler's job lock, held around the very prune that runs this collection
            }
            String holder = info == null ? null : info.owner();
            live.computeIfAbsent(
                            holder == null ? key : key.substring(0, key.lastIndexOf('/') + 1) + holder,
                            k -> new HashSet<>())
                    .add(key);
        }
        return live;
    }

    /**
     * Adds every chunk a listed backup needs; says why when some backup cannot say, or needs a
     * chunk no index lists. Each id is looked up as its list is read, so that what is kept in
     * memory never exceeds the index (whose size is bounded): forged lists of millions of ids
     * stop at the first that no index lists.
     */
    private String needed(ChunkStore store, Map<String, String> needed) throws IOException {
        for (String target : repo.targets()) {
            Repository.Catalog catalog = repo.catalog(target);
            if (!catalog.damaged().isEmpty()) {
                return "backup " + target + "/" + catalog.damaged().get(0).id()
                        + " has a manifest that cannot be read, and it may need chunks; nothing was collected "
                        + "(a repository check says what is wrong with it)";
            }
            for (BackupManifest m : catalog.backups()) {
                if (expiring.getOrDefault(target, List.of()).contains(m.id())) {
                    continue;
                }
                for (String dep : m.recordedDependencies()) {
                    if (catalog.incomplete().containsKey(dep)) {
                        // its manifest was lost, not never written: its chunks are what m needs
                        return "backup " + target + "/" + m.id() + " depends on " + target + "/" + dep
                                + ", whose manifest is missing, and its chunks are unknown; nothing was collected "
                                + "(a repository check says what is wrong with it)";
                    }
                }
                for (ArtifactInfo a : m.artifacts()) {
                    if (!Repository.isChunked(a)) {
                        continue;
                    }
                    String what = "artifact " + target + "/" + m.id() + "/" + a.storedName();
                    try {
                        ChunkedArtifactReader.ChunkList list =
                                ChunkedArtifactReader.readList(repo.openStored(m, a), a, what);
                        for (int i = 0; i < list.ids().size(); i++) {
                            String id = list.ids().get(i);
                            while (!index.chunks().containsKey(id)) {
                                // perhaps committed since the index was read, by a backup that finished
                                // meanwhile: read again while that finds more indexes (only a collection
                                // removes any, and this one holds the lock)
                                ChunkStore.Loaded again = store.refresh();
                                if (again.packs().size() <= index.packs().size()) {
                                    // its pack may still be there, unindexed: it must not go as an orphan
                                    return what + " needs chunk " + id + ", which no chunk index lists (an index "
                                            + "was lost or cannot be read); nothing was collected, so that the pack "
                                            + "holding it stays (a repository check says what is wrong)";
                                }
                                index = again;
                            }
                            needed.putIfAbsent(id, what);
                            neededLength.putIfAbsent(id, list.lengths()[i]);
                        }
                        if (list.keyId() == null) {
                            plain.addAll(list.ids());
                        }
                    } catch (DrException e) {
                        if (!repo.hasManifest(target, m.id())) {
                            continue; // deleted since the listing: it needs nothing now
                        }
                        return "the chunk list of " + what + " cannot be read (" + e.getMessage()
                                + "), so what it needs is unknown; nothing was collected";
                    }
                }
            }
        }
        return null;
    }

    /**
     * Copies the needed chunks of mostly-garbage packs into new packs, then removes the old ones.
     *
     * @return the packs rewritten (a pack whose chunks cannot all be proven sound stays as it is)
     * @throws IOException when a new pack cannot be written: then no old pack is removed
     */
    private Set<String> rewrite(
            RepositoryLock lock,
            ChunkStore store,
            List<ChunkStore.PackIndex> packs,
            Map<String, Set<String>> keeper,
            Set<String> sidecars)
            throws IOException {
        // the k-th copy of a chunk goes to the k-th writer: a pack holds a chunk once (an index that
        // listed it twice would name one copy only, and of two encrypted copies that both match their
        // index, only a key tells which is the real one)
        List<ChunkStore.PackWriter> writers = new ArrayList<>();
        Map<String, Integer> copiesWritten = new HashMap<>();
        List<String> done = new ArrayList<>();
        boolean ok = false;
        try {
            Map<String, Boolean> soundPacks = new HashMap<>();
            for (ChunkStore.PackIndex p : packs) {
                List<Map.Entry<String, byte[]>> moved;
                try {
                    moved = kept(store, p, keeper, soundPacks);
                } catch (DrException e) {
                    // a damaged chunk stays where it is, for a check to report
                    LOG.warn("chunk garbage collection leaves pack {} as it is: {}", p.pack(), e.getMessage());
                    continue;
                }
                // a writer per copy: more copies than drkit ever makes were planted (a pack each), and
                // each would hold a writer (an upload, its buffers) open until the end; such a pack stays
                String over = moved.stream()
                        .map(Map.Entry::getKey)
                        .filter(id -> copiesWritten.getOrDefault(id, 0) >= ChunkStore.MAX_COPIES)
                        .findFirst()
                        .orElse(null);
                if (over != null) {
                    LOG.warn(
                            "chunk garbage collection leaves pack {} as it is: chunk {} has more than {} stored copies "
                                    + "(drkit stores a chunk once, a few times when backups race): look in {} for "
                                    + "indexes drkit did not write",
                            p.pack(),
                            over,
                            ChunkStore.MAX_COPIES,
                            ChunkStore.INDEX);
                    continue;
                }
                // not caught: a writer that fails (a pack it commits on the way) may have dropped the
                // chunks of packs counted as done before; the whole rewrite then stops, and nothing goes
                for (Map.Entry<String, byte[]> m : moved) {
                    int k = copiesWritten.merge(m.getKey(), 1, Integer::sum) - 1;
                    if (writers.size() <= k) {
                        writers.add(store.newPackWriter());
                    }
                    writers.get(k)
                            .add(
                                    m.getKey(),
                                    m.getValue(),
                                    p.chunks().get(m.getKey()).rawLength());
                }
                done.add(p.pack());
            }
            for (ChunkStore.PackWriter w : writers) {
                w.finish(); // the new packs are indexed before any old one goes
            }
            ok = true;
        } finally {
            if (!ok) {
                writers.forEach(ChunkStore.PackWriter::abort);
            }
        }
        for (String pack : done) {
            removePack(lock, pack, true, sidecars.contains(pack));
        }
        return Set.copyOf(done);
    }

    /**
     * The kept chunks of one pack, read and checked before any is written: a pack that stays must
     * not leave copies of its chunks behind at each prune.
     *
     * @throws DrException when one cannot be read or does not match its index (the pack then stays)
     */
    private List<Map.Entry<String, byte[]>> kept(
            ChunkStore store, ChunkStore.PackIndex p, Map<String, Set<String>> keeper, Map<String, Boolean> soundPacks)
            throws IOException {
        List<Map.Entry<String, byte[]>> moved = new ArrayList<>();
        for (var e : p.chunks().entrySet()) {
            if (!keeper.getOrDefault(e.getKey(), Set.of()).contains(p.pack())) {
                continue;
            }
            // the copy in this pack, not another one: it is the one proven sound
            byte[] stored;
            if (plain.contains(e.getKey())) {
                ChunkStore.Chunk chunk = store.readAt(e.getValue(), e.getKey(), ChunkCodec.PLAIN);
                stored = chunk == null ? null : chunk.frame();
            } else {
                // encrypted: moved as stored (a prune may hold no key); a restore checks it.
                // A new index must never vouch for damaged bytes: checked as a copy does
                stored = store.readStoredAt(e.getValue());
                if (!store.storedSound(e.getValue(), stored, soundPacks)) {
                    stored = null;
                }
            }
            if (stored == null) {
                throw new CorruptDataException("chunk " + e.getKey() + " in pack " + p.pack()
                        + " cannot be read, or its bytes do not match its index");
            }
            moved.add(Map.entry(e.getKey(), stored));
        }
        return moved;
    }

    private void removePack(RepositoryLock lock, String pack, boolean indexed, boolean sidecar) throws IOException {
        lock.ensureHeld("removing pack " + pack);
        if (indexed) {
            deleteQuietly(ChunkStore.INDEX + pack + ChunkStore.INDEX_SUFFIX);
        }
        deleteQuietly(ChunkStore.PACKS + pack + ChunkStore.PACK_SUFFIX);
        if (sidecar) {
            deleteQuietly(ChunkStore.PACKS + pack + ChunkStore.PACK_SUFFIX + RepositoryLayout.SHA256_SUFFIX);
        }
    }

    private void deleteQuietly(String key) throws IOException {
        try {
            storage.delete(key);
        } catch (NoSuchFileException ignored) {
            // gone already
        }
    }
}
