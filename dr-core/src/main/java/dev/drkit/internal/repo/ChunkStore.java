package dev.drkit.internal.repo;

import dev.drkit.ChecksumMismatchException;
import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.ObjectExistsException;
import dev.drkit.StorageException;
import dev.drkit.internal.pipeline.ContentDefinedChunker;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.ObjectUpload;
import dev.drkit.spi.support.Sha256;
import dev.drkit.spi.support.StorageFailures;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashMap;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * The repository's deduplicated chunk store: chunks of artifacts, each a standalone zstd frame,
 * appended to pack files of about {@value #PACK_TARGET_MIB} MiB, each pack with a text index.
 *
 * <pre>
 * chunks/packs/PACK.pack          the frames, back to back
 * chunks/packs/PACK.pack.sha256   its checksum file (sha256sum -c)
 * chunks/index/PACK.idx           "drkit-chunk-index 2 PACK SIZE SHA256", then one line per
 *                                 chunk: "ID PACK OFFSET LENGTH RAWLENGTH CRC32C"
 * </pre>
 *
 * CRC32C is that of the chunk's stored bytes (8 hex digits), so that a chunk this process
 * cannot decode (encrypted to keys it does not hold) is checked on its own when it is copied or
 * kept by a collection: a flipped bit elsewhere in its pack does not keep it back. Indexes of
 * version 1 (written before) have no CRC32C: their chunks are checked by their whole pack.
 *
 * A chunk's id is the SHA-256 of its raw bytes, so whatever an index or a pack says is checked
 * against the id when the chunk is read: a forged index or pack can make a restore fail, never
 * return other bytes. Packs and indexes are written once and never changed. Thread-safe.
 */
final class ChunkStore {
    static final String PACKS = "chunks/packs/";
    static final String INDEX = "chunks/index/";
    /** Chunk keys, each encrypted to the recipients of the backups that use it. */
    static final String KEYS = "chunks/keys/";

    static final String PACK_SUFFIX = ".pack";
    static final String INDEX_SUFFIX = ".idx";
    static final String INDEX_HEADER = "drkit-chunk-index 2";
    /** Indexes written before each line had its chunk's CRC32C; still read. */
    static final String INDEX_HEADER_1 = "drkit-chunk-index 1";

    static final int PACK_TARGET_MIB = 32;
    static final long PACK_TARGET = (long) PACK_TARGET_MIB << 20;
    /**
     * The largest raw chunk drkit writes (its chunker's maximum): a forged length above it is
     * refused before anything is allocated for it.
     */
    static final int MAX_RAW = ContentDefinedChunker.Sizes.DEFAULT.max();
    /** A zstd frame of {@link #MAX_RAW} bytes is never larger than this. */
    static final int MAX_STORED = maxStored(MAX_RAW);
    /**
     * The most distinct copies of one chunk that match their index which are moved together: drkit
     * stores a chunk once, a few times when backups race; more were planted, and each is held in
     * memory and goes to a pack of its own.
     */
    static final int MAX_COPIES = 8;
    /** The longest line of an index: 64 + 32 hex digits, three numbers, a CRC32C and five spaces. */
    private static final int LINE_MAX = 64 + 32 + 3 * 19 + 8 + 5;
    /** An index larger than this (about 650,000 chunks) is not one drkit wrote. */
    static final int MAX_INDEX_BYTES = 64 << 20;

    /**
     * What one chunk's entry takes in the heap once the index is loaded (its id, its location,
     * the maps that hold them), as measured: the limit on entries follows from it.
     */
    private static final long HEAP_PER_ENTRY = 320;

    private static final Pattern CHUNK_ID = Pattern.compile("[0-9a-f]{64}");
    private static final Pattern PACK_ID = Pattern.compile("[0-9a-f]{32}");
    private static final Pattern CRC = Pattern.compile("[0-9a-f]{8}");
    private static final SecureRandom RANDOM = new SecureRandom();

    /**
     * Where one copy of a chunk is stored; {@code crc32c} is that of its stored bytes (8 hex
     * digits), null for an index of version 1.
     */
    record Location(String pack, long offset, int length, int rawLength, String crc32c) {
        String packKey() {
            return PACKS + pack + PACK_SUFFIX;
        }

        /** Whether {@code stored} (read from here) are the bytes the index describes, as far as its CRC32C tells. */
        boolean matches(byte[] stored) {
            return crc32c != null && stored.length == length && crc32c.equals(ChunkStore.crc32c(stored));
        }
    }

    static String crc32c(byte[] b) {
        CRC32C crc = new CRC32C();
        crc.update(b);
        return hex(crc);
    }

    /** A CRC32C as index lines give it. */
    private static String hex(CRC32C crc) {
        return String.format("%08x", crc.getValue());
    }

    /** One pack's index as read: its size and hash, and its chunks. */
    record PackIndex(String pack, long size, String sha256, Map<String, Location> chunks) {}

    /** Every readable index, and what was wrong with the others. */
    record Loaded(Map<String, List<Location>> chunks, List<PackIndex> packs, List<String> problems) {}

    private final Repository repo;
    private Loaded loaded; // guarded by this
    /** Indexes read so far, by pack id; guarded by this. */
    private final Map<String, PackIndex> cache = new HashMap<>();
    /** Packs whose index is read but whose stored pack is missing or of another size: not deduplicated against. */
    private volatile Set<String> unusable = Set.of();
    /** Chunks of packs this store committed since it loaded the index. */
    private final Map<String, List<Location>> added = new ConcurrentHashMap<>();

    /** The most index entries kept in memory; see {@link #refresh()}. */
    private long maxEntries = Runtime.getRuntime().maxMemory() / 4 / HEAP_PER_ENTRY;

    ChunkStore(Repository repo) {
        this.repo = repo;
    }

    /** Sets the most index entries kept in memory (tests). */
    synchronized void maxEntries(long max) {
        maxEntries = max;
    }

    static boolean isChunkId(String s) {
        return CHUNK_ID.matcher(s).matches();
    }

    static boolean isPackId(String s) {
        return PACK_ID.matcher(s).matches();
    }

    /** The index, read from the repository on first use; see {@link #refresh()}. */
    synchronized Loaded index() throws IOException {
        if (loaded == null) {
            refresh();
        }
        return loaded;
    }

    /**
     * Reads the index as the storage holds it now: index objects not seen before are read,
     * vanished ones (a prune collected their packs) dropped. Every backup calls this before it
     * deduplicates against the store, so that a long-lived kit never refers to chunks that a
     * prune elsewhere removed.
     */
    synchronized Loaded refresh() throws IOException {
        Map<String, PackIndex> now = new HashMap<>();
        List<String> problems = new ArrayList<>();
        long entries = 0;
        for (ObjectInfo o : repo.storage().list(INDEX)) {
            // nothing signs the indexes: forged ones must end in a clear error, not in the heap running out
            if (entries > maxEntries) {
                throw tooManyEntries(entries);
            }
            String name = o.key().substring(INDEX.length());
            String pack = name.endsWith(INDEX_SUFFIX) ? name.substring(0, name.length() - INDEX_SUFFIX.length()) : "";
            if (!isPackId(pack)) {
                problems.add(o.key() + " is not a chunk index drkit writes");
                continue;
            }
            PackIndex known = cache.get(pack);
            if (known != null) {
                now.put(pack, known); // indexes are written once: what was read still holds
                entries += known.chunks().size();
                continue;
            }
            if (o.size() > MAX_INDEX_BYTES) {
                problems.add(o.key() + " is larger than any chunk index drkit writes");
                continue;
            }
            byte[] content;
            try (InputStream in = repo.storage().open(o.key(), 0)) {
                content = in.readNBytes(MAX_INDEX_BYTES + 1);
            } catch (NoSuchFileException e) {
                continue; // removed by a prune since the listing
            }
            try {
                PackIndex parsed = parseIndex(pack, content);
                now.put(pack, parsed);
                entries += parsed.chunks().size();
            } catch (IllegalArgumentException e) {
                problems.add(o.key() + ": " + e.getMessage());
            }
        }
        if (entries > maxEntries) {
            throw tooManyEntries(entries);
        }
        cache.clear();
        cache.putAll(now);
        unusable = unusable(now, problems);
        Map<String, List<Location>> chunks = new HashMap<>();
        List<PackIndex> packs = new ArrayList<>(now.values());
        packs.sort(Comparator.comparing(PackIndex::pack));
        for (PackIndex p : packs) {
            p.chunks()
                    .forEach((id, loc) ->
                            chunks.computeIfAbsent(id, k -> new ArrayList<>(1)).add(loc));
        }
        loaded = new Loaded(chunks, List.copyOf(packs), List.copyOf(problems));
        added.clear(); // the listing holds what this store committed
        return loaded;
    }

    private ConfigException tooManyEntries(long entries) {
        return new ConfigException(
                "the chunk indexes of " + repo.describe() + " list more than " + maxEntries + " chunks (" + entries
                        + " so far), more than a quarter of this JVM's heap ("
                        + (Runtime.getRuntime().maxMemory() >> 20) + " MiB) can keep; give the JVM more heap, or, "
                        + "if the repository holds much less than that many MiB of deduplicated data, check "
                        + INDEX + " for index files drkit did not write (a repository check lists them)");
    }

    /**
     * The packs, among those indexed, that the storage does not hold at the size their index
     * says (listed after the indexes: a pack is committed before its index). A new backup
     * that referred to their chunks could not be restored, so it stores them again.
     */
    private Set<String> unusable(Map<String, PackIndex> indexed, List<String> problems) throws IOException {
        Map<String, Long> sizes = new HashMap<>();
        for (ObjectInfo o : repo.storage().list(PACKS)) {
            if (o.key().endsWith(PACK_SUFFIX)) {
                sizes.put(o.key().substring(PACKS.length(), o.key().length() - PACK_SUFFIX.length()), o.size());
            }
        }
        Set<String> out = new HashSet<>();
        for (PackIndex p : indexed.values()) {
            Long size = sizes.get(p.pack());
            if (size == null || size != p.size()) {
                out.add(p.pack());
                problems.add(PACKS
                        + p.pack()
                        + PACK_SUFFIX
                        + (size == null
                                ? " is missing"
                                : " has " + size + " bytes, " + (size < p.size() ? "shorter than" : "not") + " the "
                                        + p.size() + " its index says"));
            }
        }
        return Set.copyOf(out);
    }

    /** Whether a pack was there, at the size its index says, when the index was last read. */
    boolean whole(String pack) {
        return !unusable.contains(pack);
    }

    /**
     * Fails when a pack whose chunks a writer refers to without storing them is gone: a chunk
     * garbage collection that did not see the writer's lock (its lease lapsed while storage
     * failed, or clocks disagree) may have removed it. Called just before the writer commits
     * what refers to them, so that nothing is kept pointing at chunks that are not there.
     *
     * @param what names the artifact, {@code writer} the operation ("backup", "copy") and
     *     {@code remedy} what to do, in the message
     */
    void requirePacks(Set<String> packs, String what, String writer, String remedy) throws IOException {
        for (String pack : packs) {
            if (repo.storage().stat(PACKS + pack + PACK_SUFFIX).isEmpty()) {
                throw new StorageException(
                        what + ": pack " + pack + ", which holds chunks this " + writer + " reuses, was removed while "
                                + "the " + writer + " ran (by a chunk garbage collection that did not see its lock: "
                                + "check the storage and the hosts' clocks); " + remedy,
                        null,
                        true);
            }
        }
    }

    /** Whether a chunk is stored (as far as the index says) in a pack that is there whole. */
    boolean has(String id) throws IOException {
        return holder(id) != null;
    }

    /** A pack that holds a chunk (as far as the index says) and is there whole; null when none does. */
    String holder(String id) throws IOException {
        List<Location> mine = added.get(id);
        if (mine != null && !mine.isEmpty()) {
            return mine.get(0).pack();
        }
        List<Location> at = index().chunks().get(id);
        if (at == null) {
            return null;
        }
        return at.stream().map(Location::pack).filter(this::whole).findFirst().orElse(null);
    }

    /**
     * Every place a chunk is stored, newest committed first; empty when it is not. A chunk the
     * index read earlier does not know is looked up again in a fresh index (another process may
     * have stored it since).
     */
    List<Location> locate(String id) throws IOException {
        List<Location> out = new ArrayList<>(added.getOrDefault(id, List.of()));
        out.addAll(index().chunks().getOrDefault(id, List.of()));
        if (out.isEmpty()) {
            out.addAll(refresh().chunks().getOrDefault(id, List.of()));
        }
        return out;
    }

    /** A chunk as stored (its zstd frame) and decoded. */
    record Chunk(byte[] frame, byte[] raw) {}

    /**
     * Reads one chunk from the first stored copy whose bytes match its id and length.
     *
     * @param what names the artifact in error messages
     * @throws CorruptDataException when the index does not know the chunk
     * @throws ChecksumMismatchException when no stored copy decodes to its id
     */
    Chunk read(String id, int length, String what, ChunkCodec codec) throws IOException {
        List<Location> where = locate(id);
        if (where.isEmpty()) {
            throw new CorruptDataException(what + ": chunk " + id + " is not in the repository's chunk index; "
                    + "the backup cannot be restored, use another one");
        }
        List<String> problems = new ArrayList<>();
        List<DrException> keys = new ArrayList<>();
        Chunk chunk = firstOrFresh(id, where, places -> readFirst(id, length, codec, places, problems, keys));
        if (chunk != null) {
            return chunk;
        }
        if (!keys.isEmpty() && keys.size() == problems.size()) {
            // no copy the keys given open, and none damaged: the key is what is wrong (when one is
            // damaged, that is said, not a key error a copy anyone could have planted gives)
            throw keys.get(0);
        }
        throw new ChecksumMismatchException(what + ": chunk " + id + " cannot be read: " + String.join("; ", problems)
                + "; the backup cannot be restored, use another one (a check that reads the data, "
                + "CheckOptions.readData, lists every damaged chunk)");
    }

    /**
     * The chunk from the first of {@code where} whose bytes match its id and length; null, with
     * why, if none. A copy the keys given cannot open does not stop the search (anyone can
     * encrypt a forged copy to a key of their own): its error goes to {@code keys}.
     */
    private Chunk readFirst(
            String id,
            int length,
            ChunkCodec codec,
            List<Location> where,
            List<String> problems,
            List<DrException> keys)
            throws IOException {
        for (Location loc : where) {
            if (loc.rawLength() != length) {
                problems.add("its index entry in pack " + loc.pack() + " gives another length");
                continue;
            }
            byte[] frame;
            try (InputStream in = repo.storage().open(loc.packKey(), loc.offset(), loc.length())) {
                frame = in.readNBytes(loc.length());
            } catch (NoSuchFileException e) {
                problems.add("pack " + loc.pack() + " is missing");
                continue;
            } catch (IOException e) {
                throw StorageFailures.classify(e);
            }
            if (frame.length != loc.length()) {
                problems.add("pack " + loc.pack() + " ends before it");
                continue;
            }
            byte[] raw;
            try {
                raw = codec.decode(id, length, frame);
            } catch (DrException e) {
                if (e.code() != DrException.ErrorCode.DECRYPTION) {
                    throw e;
                }
                keys.add(e);
                problems.add("its frame in pack " + loc.pack() + " is not encrypted to the keys given");
                continue;
            }
            if (raw != null) {
                return new Chunk(frame, raw);
            }
            problems.add("its frame in pack " + loc.pack() + " does not decode to its bytes");
        }
        return null;
    }

    /** The chunk at one place, when its bytes there match its id and length; null otherwise. */
    Chunk readAt(Location at, String id, ChunkCodec codec) throws IOException {
        return readFirst(id, at.rawLength(), codec, List.of(at), new ArrayList<>(), new ArrayList<>());
    }

    /** A chunk's stored bytes at one place as they are, unchecked; null when the pack is missing or ends before them. */
    byte[] readStoredAt(Location at) throws IOException {
        try (InputStream in = repo.storage().open(at.packKey(), at.offset(), at.length())) {
            byte[] frame = in.readNBytes(at.length());
            return frame.length == at.length() ? frame : null;
        } catch (NoSuchFileException e) {
            return null;
        } catch (IOException e) {
            throw StorageFailures.classify(e);
        }
    }

    /**
     * Whether a pack's stored bytes are the ones its index describes: its size and SHA-256 (the
     * check of a pack whose chunks this process cannot decrypt). Reads the whole pack.
     */
    boolean sound(PackIndex p) throws IOException {
        return readWhole(p).sound();
    }

    /**
     * A pack read whole: whether it is sound (its size and SHA-256 as its index records), and the
     * chunk copies whose index line gives a CRC32C their stored bytes do not match (read in the
     * same pass, up to the pack's end; a copy reaching past it counts as not matching).
     */
    record WholePack(boolean sound, List<String> crcMismatches) {}

    /** A chunk copy whose CRC32C {@link #readWhole} is summing. */
    private record Summing(String id, Location at, CRC32C crc) {}

    /** Reads a pack once, for {@link WholePack}. */
    WholePack readWhole(PackIndex p) throws IOException {
        MessageDigest sha = Sha256.newDigest();
        List<Map.Entry<String, Location>> byOffset = p.chunks().entrySet().stream()
                .filter(e -> e.getValue().crc32c() != null)
                .sorted(Comparator.comparingLong(e -> e.getValue().offset()))
                .toList();
        List<Summing> open = new ArrayList<>(); // copies begun, not yet ended
        List<String> mismatches = new ArrayList<>();
        int next = 0;
        long total = 0;
        boolean tooLong = false;
        try (InputStream in = repo.storage().open(PACKS + p.pack() + PACK_SUFFIX, 0)) {
            byte[] buffer = new byte[1 << 20];
            for (int n; (n = in.read(buffer)) > 0; ) {
                sha.update(buffer, 0, n);
                long from = total;
                long to = total + n;
                total = to;
                while (next < byOffset.size() && byOffset.get(next).getValue().offset() < to) {
                    open.add(new Summing(
                            byOffset.get(next).getKey(), byOffset.get(next).getValue(), new CRC32C()));
                    next++;
                }
                byte[] read = buffer;
                open.removeIf(
                        c -> { // one pass, however many copies end here
                            long start = Math.max(c.at().offset(), from);
                            long end = Math.min(c.at().offset() + c.at().length(), to);
                            if (end > start) {
                                c.crc().update(read, (int) (start - from), (int) (end - start));
                            }
                            if (c.at().offset() + c.at().length() > to) {
                                return false;
                            }
                            if (!c.at().crc32c().equals(hex(c.crc()))) {
                                mismatches.add(c.id());
                            }
                            return true;
                        });
                if (total > p.size()) {
                    tooLong = true;
                    break;
                }
            }
        } catch (NoSuchFileException e) {
            return new WholePack(false, List.of());
        } catch (IOException e) {
            throw StorageFailures.classify(e);
        }
        open.forEach(c -> mismatches.add(c.id())); // reaching past the pack's end
        for (int i = next; i < byOffset.size(); i++) {
            mismatches.add(byOffset.get(i).getKey()); // beginning past it
        }
        boolean sound = !tooLong
                && total == p.size()
                && HexFormat.of().formatHex(sha.digest()).equals(p.sha256());
        return new WholePack(sound, mismatches);
    }

    /** One try at reading a chunk from some of its places; null when none served. */
    @FunctionalInterface
    private interface Attempt<T> {
        T from(List<Location> places) throws IOException;
    }

    /**
     * {@code attempt} on {@code where}, then, when that found nothing, on the places a fresh
     * index gives that were not tried: another process's collection may have moved the chunk (a
     * rewrite) since this index was read.
     */
    private <T> T firstOrFresh(String id, List<Location> where, Attempt<T> attempt) throws IOException {
        T found = attempt.from(where);
        if (found == null) {
            List<Location> fresh = new ArrayList<>(refresh().chunks().getOrDefault(id, List.of()));
            fresh.removeAll(where);
            found = attempt.from(fresh);
        }
        return found;
    }

    /**
     * A chunk's stored bytes, for moving chunks this process cannot decrypt: every distinct copy
     * whose stored bytes match the CRC32C its index gives (an index of version 1 gives none: then
     * from a pack whose whole stored bytes match its index, size and SHA-256), so that bit rot or
     * a cut pack is caught where the chunk itself cannot be checked. All of them, since a copy
     * that matches its index is no proof against a forged one that matches its own: a restore
     * of the copy tries each in turn. Null when no copy of the right length passes.
     *
     * @param checked what is known of packs so far (pack id to sound), kept by the caller for
     *     one operation so that each pack is read once
     */
    List<byte[]> readAllStoredSound(String id, int length, Map<String, Boolean> checked) throws IOException {
        return firstOrFresh(id, locate(id), places -> {
            List<byte[]> sound = new ArrayList<>();
            for (Location loc : places) {
                if (loc.rawLength() != length) {
                    continue;
                }
                byte[] frame = readStoredAt(loc);
                if (storedSound(loc, frame, checked) && sound.stream().noneMatch(s -> Arrays.equals(s, frame))) {
                    if (sound.size() == MAX_COPIES) {
                        throw new CorruptDataException("chunk " + id + " has more than " + MAX_COPIES
                                + " stored copies that each match their index (drkit stores a chunk once, a few times "
                                + "when backups race): look in " + INDEX + " for indexes drkit did not write");
                    }
                    sound.add(frame);
                }
            }
            return sound.isEmpty() ? null : sound;
        });
    }

    /**
     * Whether a copy's stored bytes, read from it (null when they could not be), are the ones
     * its index describes, for a chunk this process cannot decode: they match the CRC32C the
     * index gives; an index of version 1 gives none, and then its whole pack must hash as its
     * index says. A CRC32C that does not match is never overruled by a sound pack: the index
     * line may place the chunk wrongly (bit rot or forgery), and a copy or a collection that
     * moved those bytes would vouch for them under a fresh index.
     *
     * @param checked what is known of packs so far (pack id to sound), kept by the caller for
     *     one operation so that each pack is read at most once
     */
    boolean storedSound(Location loc, byte[] stored, Map<String, Boolean> checked) throws IOException {
        if (stored == null || stored.length != loc.length()) {
            return false;
        }
        return loc.crc32c() != null ? loc.matches(stored) : packSound(loc.pack(), checked);
    }

    /** The packs that hold a chunk, for a message. */
    List<String> packsOf(String id) throws IOException {
        return locate(id).stream().map(Location::pack).distinct().toList();
    }

    private boolean packSound(String pack, Map<String, Boolean> checked) throws IOException {
        Boolean known = checked.get(pack);
        if (known == null) {
            PackIndex p;
            synchronized (this) {
                p = cache.get(pack);
                if (p == null) { // a pack this store wrote since it read the index
                    refresh();
                    p = cache.get(pack);
                }
            }
            known = p != null && sound(p);
            checked.put(pack, known);
        }
        return known;
    }

    /** Parses one index strictly: anything drkit would not have written is refused. */
    static PackIndex parseIndex(String pack, byte[] content) {
        if (content.length > MAX_INDEX_BYTES) {
            throw new IllegalArgumentException("larger than any chunk index drkit writes");
        }
        String text = new String(content, StandardCharsets.US_ASCII);
        if (!text.endsWith("\n")) {
            throw new IllegalArgumentException("truncated (no end of line at the end)");
        }
        int eol = text.indexOf('\n');
        if (eol > LINE_MAX) {
            throw new IllegalArgumentException("does not start with '" + INDEX_HEADER + "'");
        }
        String[] head = text.substring(0, eol).split(" ", -1);
        String version = head.length == 5 ? head[0] + " " + head[1] : "";
        if (!version.equals(INDEX_HEADER) && !version.equals(INDEX_HEADER_1)) {
            throw new IllegalArgumentException(
                    "does not start with '" + INDEX_HEADER + "' (or '" + INDEX_HEADER_1 + "')");
        }
        int fields = version.equals(INDEX_HEADER) ? 6 : 5;
        if (!head[2].equals(pack)) {
            throw new IllegalArgumentException("describes pack " + clip(head[2]) + ", not " + pack);
        }
        long size = number(head[3], Long.MAX_VALUE, "pack size");
        if (!isChunkId(head[4])) {
            throw new IllegalArgumentException("the pack's sha256 is malformed");
        }
        Map<String, Location> chunks = new LinkedHashMap<>();
        long covered = 0; // drkit writes each frame once, back to back: the lengths add up to the pack's size
        // line by line: a split of 64 MiB of empty lines would take gigabytes
        for (int i = 1, start = eol + 1; start < text.length(); i++, start = eol + 1) {
            eol = text.indexOf('\n', start);
            String[] f = text.substring(start, Math.min(eol, start + LINE_MAX)).split(" ", -1);
            if (eol - start > LINE_MAX
                    || f.length != fields
                    || !isChunkId(f[0])
                    || !f[1].equals(pack)
                    || (fields == 6 && !CRC.matcher(f[5]).matches())) {
                throw new IllegalArgumentException("line " + (i + 1) + " is malformed");
            }
            long offset;
            int length;
            int raw;
            try {
                offset = number(f[2], size, "offset");
                length = (int) number(f[3], MAX_STORED, "length");
                raw = (int) number(f[4], MAX_RAW, "raw length");
            } catch (IllegalArgumentException e) {
                throw new IllegalArgumentException("line " + (i + 1) + ": " + e.getMessage());
            }
            if (length == 0 || raw == 0 || offset > size - length) { // offset + length could overflow
                throw new IllegalArgumentException("line " + (i + 1) + " points outside the pack");
            }
            if (length > maxStored(raw)) {
                // a reader would fetch that many bytes for the chunk before it could tell
                throw new IllegalArgumentException("line " + (i + 1) + " gives a frame larger than its chunk can take");
            }
            covered += length;
            if (covered > size) {
                // lines that share bytes would make every reader of them (a check, a copy, a restore
                // trying copy after copy) read the same pack bytes once per line
                throw new IllegalArgumentException("line " + (i + 1) + ": its chunks take more than the pack's " + size
                        + " bytes (lines overlap)");
            }
            chunks.put(f[0], new Location(pack, offset, length, raw, fields == 6 ? f[5] : null));
        }
        return new PackIndex(pack, size, head[4], Map.copyOf(chunks));
    }

    /** The largest stored frame of a chunk of {@code raw} bytes (zstd's bound, with room to spare). */
    static int maxStored(int raw) {
        return raw + (raw >> 7) + (64 << 10);
    }

    private static long number(String s, long max, String what) {
        if (s.isEmpty() || s.length() > 19 || !s.chars().allMatch(c -> c >= '0' && c <= '9')) {
            throw new IllegalArgumentException(what + " '" + clip(s) + "' is not a number");
        }
        try {
            long v = Long.parseLong(s);
            if (v <= max) {
                return v;
            }
        } catch (NumberFormatException e) {
            // 19 digits past what a long holds
        }
        throw new IllegalArgumentException(what + " " + s + " is out of range");
    }

    private static String clip(String s) {
        return s.length() > 40 ? s.substring(0, 40) + "..." : s;
    }

    private void published(List<Map.Entry<String, Location>> entries) {
        for (Map.Entry<String, Location> e : entries) {
            added.computeIfAbsent(e.getKey(), k -> new CopyOnWriteArrayList<>()).add(0, e.getValue());
        }
    }

    /** Starts a pack writer; packs are committed as they fill and by {@link PackWriter#finish()}. */
    PackWriter newPackWriter() {
        return new PackWriter();
    }

    /**
     * Appends encoded chunks to packs of about {@link #PACK_TARGET} bytes; commits each full
     * pack, its checksum file and then its index, so that no index ever names a pack that is
     * not complete. Thread-safe: workers add chunks concurrently.
     */
    final class PackWriter {
        private ObjectUpload upload;
        private String pack;
        private MessageDigest sha;
        private long size;
        private final StringBuilder lines = new StringBuilder();
        private final List<Map.Entry<String, Location>> entries = new ArrayList<>();
        private long packsWritten;
        private long bytesWritten;
        private boolean aborted;

        synchronized void add(String id, byte[] frame, int rawLength) throws IOException {
            if (aborted) {
                throw new IOException("the chunk store writer was abandoned");
            }
            if (rawLength <= 0 || rawLength > MAX_RAW || frame.length == 0 || frame.length > maxStored(rawLength)) {
                // a reader refuses such an index line, and with it the whole pack: never write one
                throw new ConfigException(
                        "a chunk of " + rawLength + " bytes is stored in " + frame.length + " bytes, more than the "
                                + "chunk store allows (" + maxStored(Math.max(0, rawLength)) + "); encrypting to "
                                + "very many recipients adds that much: use fewer keys for deduplicated backups");
            }
            if (upload == null) {
                byte[] r = new byte[16];
                RANDOM.nextBytes(r);
                pack = HexFormat.of().formatHex(r);
                upload = repo.storage().create(PACKS + pack + PACK_SUFFIX, repo.retainUntil());
                sha = Sha256.newDigest();
                size = 0;
            }
            upload.stream().write(frame);
            sha.update(frame);
            String crc = crc32c(frame);
            Location loc = new Location(pack, size, frame.length, rawLength, crc);
            entries.add(Map.entry(id, loc));
            lines.append(id)
                    .append(' ')
                    .append(pack)
                    .append(' ')
                    .append(size)
                    .append(' ')
                    .append(frame.length)
                    .append(' ')
                    .append(rawLength)
                    .append(' ')
                    .append(crc)
                    .append('\n');
            size += frame.length;
            if (size >= PACK_TARGET) {
                commit();
            }
        }

        /** Commits the pack being filled, if any. */
        synchronized void finish() throws IOException {
            if (upload != null) {
                commit();
            }
        }

        private void commit() throws IOException {
            Instant retain = repo.retainUntil();
            try {
                upload.commit();
                String hex = Sha256.hex(sha.digest());
                String packKey = PACKS + pack + PACK_SUFFIX;
                String name = pack + PACK_SUFFIX;
                if (!repo.storage()
                        .createIfAbsent(
                                packKey + RepositoryLayout.SHA256_SUFFIX,
                                Sha256.sidecar(hex, name).getBytes(StandardCharsets.US_ASCII),
                                retain)) {
                    throw new ObjectExistsException("checksum file of " + packKey + " already exists");
                }
                String index = INDEX_HEADER + " " + pack + " " + size + " " + hex + "\n" + lines;
                if (!repo.storage()
                        .createIfAbsent(
                                INDEX + pack + INDEX_SUFFIX, index.getBytes(StandardCharsets.US_ASCII), retain)) {
                    throw new ObjectExistsException("chunk index of " + packKey + " already exists");
                }
                published(entries);
                packsWritten++;
                bytesWritten += size;
            } finally {
                upload.close();
                upload = null;
                entries.clear();
                lines.setLength(0);
            }
        }

        /** Abandons the pack being filled; packs already committed stay for the next prune. */
        synchronized void abort() {
            aborted = true;
            if (upload != null) {
                try {
                    upload.close();
                } catch (IOException ignored) {
                    // best effort: an uncommitted upload is never listed
                }
                upload = null;
            }
        }

        synchronized long packsWritten() {
            return packsWritten;
        }

        synchronized long bytesWritten() {
            return bytesWritten;
        }
    }
}
