package dev.drkit.internal.repo;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.drkit.ArtifactInfo;
import dev.drkit.BackupNotFoundException;
import dev.drkit.ChecksumMismatchException;
import dev.drkit.CopyResult;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.ObjectExistsException;
import dev.drkit.StorageException;
import dev.drkit.internal.pipeline.CheckedInputStream;
import dev.drkit.internal.pipeline.ContentHash;
import dev.drkit.internal.repo.PutClaim.Recorded;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.ManifestSigner;
import dev.drkit.spi.ManifestVerifier;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.support.BackupIds;
import dev.drkit.spi.support.Json;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.NoSuchFileException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.NavigableSet;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A place in the repository for files that belong to no single backup, such as PostgreSQL WAL
 * segments ({@code wal/<system-id>/<timeline>/<segment>}). Each file is stored like an
 * artifact (compressed, optionally encrypted, with a {@code .sha256} sidecar) and is complete
 * only once its info document ({@code <path>.info.json}: sizes, checksums, codec chain, when it
 * was stored) is written, last and create-if-absent: a reader never sees half a file, and a file
 * can be stored once only. Storing the same bytes again succeeds; storing other bytes under a stored
 * name fails. Writers racing to store one file take turns through a {@link PutClaim}: one
 * stores it, the others wait for its record and compare, so a record always describes the
 * object beside it, also where encryption makes each writer's stored bytes differ.
 *
 * <p>With a signer, each record's detached signature ({@code <path>.info.json.asc}) is written
 * just before the record; with trusted keys ({@link Repository#trusted()}), a record is believed
 * only with a valid signature by one of them, as a manifest is: an archived WAL segment is data
 * a restore replays, so under trusted keys a forger who can write the repository can no more
 * add to a recovery than to a backup.
 */
public final class ArchiveArea implements FileArchive {
    private static final Logger LOG = LoggerFactory.getLogger(ArchiveArea.class);
    private static final String INFO_SUFFIX = ".info.json";
    /** Marks the stored name of a file stored by a writer that took over an expired claim. */
    private static final String TAKEOVER = ".take";
    /** The field of a record giving when the file was stored, in the first repository that held it. */
    static final String ARCHIVED_AT = "archivedAt";

    private static final Duration DEFAULT_CLAIM_TTL = Duration.ofMinutes(5);

    private final Repository repo;
    private final String area;
    private final StreamCodecs codecs;
    private final Duration claimTtl;
    private final Clock clock;
    private final ManifestSigner signer;

    ArchiveArea(
            Repository repo, String area, StreamCodecs codecs, Duration claimTtl, Clock clock, ManifestSigner signer) {
        this.repo = repo;
        this.area = area.endsWith("/") ? area : area + "/";
        this.codecs = codecs;
        this.claimTtl = claimTtl;
        this.clock = clock;
        this.signer = signer;
    }

    /** Opens an area (e.g. {@code wal}) of a repository, storing new files with the given codecs, unsigned. */
    public static ArchiveArea of(Repository repo, String area, StreamCodecs codecs) {
        return of(repo, area, codecs, DEFAULT_CLAIM_TTL, Clock.systemUTC(), null);
    }

    /**
     * Opens an area whose writers take over another writer's claim on a file once it is older
     * than {@code claimTtl} (the repository lock TTL), judged by {@code clock}, and sign each
     * record with {@code signer} (none when null).
     */
    public static ArchiveArea of(
            Repository repo, String area, StreamCodecs codecs, Duration claimTtl, Clock clock, ManifestSigner signer) {
        return new ArchiveArea(repo, area, codecs, claimTtl, clock, signer);
    }

    /** Where the area lives, for messages. */
    @Override
    public String describe() {
        return repo.describe() + " " + area;
    }

    /**
     * Stores a file under {@code path} ({@code dir/dir/name}). Returns once it is durable.
     *
     * @param raw the file's bytes; read to the end
     * @param same tells whether the stored bytes equal the file's, when {@code path} is taken
     * @throws ObjectExistsException when {@code path} holds other bytes
     */
    @Override
    public PutResult put(String path, InputStream raw, SameContent same) throws IOException {
        repo.initialise();
        String infoKey = area + path + INFO_SUFFIX;
        Recorded recorded = () -> repo.storage().stat(infoKey).isPresent();
        if (recorded.exists()) {
            return alreadyStored(path, same, () -> rawDigest(raw));
        }
        Optional<PutClaim> claim = PutClaim.acquire(repo.storage(), infoKey, claimTtl, clock, recorded, area + path);
        if (claim.isEmpty()) {
            return alreadyStored(path, same, () -> rawDigest(raw)); // another writer stored it meanwhile
        }
        try {
            return putClaimed(path, infoKey, raw, same, claim.get());
        } finally {
            claim.get().release();
        }
    }

    /** Stores the file as the only writer of {@code path}, unless the claim is lost on the way. */
    private PutResult putClaimed(String path, String infoKey, InputStream raw, SameContent same, PutClaim claim)
            throws IOException {
        int slash = path.lastIndexOf('/');
        String prefix = area + path.substring(0, slash + 1);
        String name = BackupIds.checkArtifactName(path.substring(slash + 1));
        // a previous holder that may be alive could still commit the canonical object: keep clear of it
        String storedBase = claim.previousHolderMayWrite() ? name + TAKEOVER + claim.generation() : name;
        String storedKey = prefix + storedBase + codecs.extension();
        removeLeftovers(storedKey);
        for (String sidecar : sidecars(infoKey)) {
            if (repo.storage().stat(sidecar).isPresent()) {
                repo.storage().delete(sidecar); // left by an interrupted put
            }
        }
        ArtifactWriter w = ArtifactWriter.openAt(repo, prefix, name, storedBase, codecs, null);
        boolean keepObject = false;
        // once the record's creation was tried, the object goes only when a record naming another is read
        boolean mayRemove = true;
        try {
            try {
                raw.transferTo(w);
                w.close();
            } catch (IOException | RuntimeException e) {
                w.abort();
                throw e;
            }
            if (!claim.stillHeld()) {
                throw new StorageException(
                        "storing " + path + " in " + describe() + " took longer than the repository lock lease ("
                                + "setting lock-ttl) and another writer took it over; retry, or raise lock-ttl",
                        null,
                        true);
            }
            byte[] info = recordJson(w.info(), clock.instant());
            byte[] checksum = ManifestCodec.checksumFile(info, name + INFO_SUFFIX);
            // the record's checksum first: the record is what makes the file exist
            if (!repo.storage().createIfAbsent(infoKey + ManifestCodec.CHECKSUM_SUFFIX, checksum, repo.retainUntil())
                    && !Arrays.equals(checksum, repo.readOptional(infoKey + ManifestCodec.CHECKSUM_SUFFIX))) {
                throw new ObjectExistsException(path + " is being stored in " + describe() + " by another writer "
                        + "with other content; two clusters may be archiving into one place");
            }
            byte[] signature = signer == null ? null : signer.sign(signedContent(infoKey, info));
            if (signature != null
                    && !repo.storage().createIfAbsent(infoKey + signer.signatureSuffix(), signature, repo.retainUntil())
                    && !Arrays.equals(signature, repo.readOptional(infoKey + signer.signatureSuffix()))) {
                throw new ObjectExistsException(path + " is being stored in " + describe() + " by another writer "
                        + "at the same time (its record's signature appeared meanwhile); retry");
            }
            mayRemove = false;
            if (!repo.storage().createIfAbsent(infoKey, info, repo.retainUntil())) {
                byte[] winner = repo.readOptional(infoKey);
                if (Arrays.equals(winner, info)) {
                    // ours: a create retried after its response was lost (S3) answers "exists"
                    keepObject = true;
                    repairSidecars(infoKey, checksum, signature);
                    return PutResult.STORED;
                }
                // a taken-over holder finished first; its record names an object other than ours, and
                // the checksum file and signature beside it are ours (its own went as leftovers)
                keepObject = winner == null
                        || !record(path, false)
                                .map(r -> !r.info().storedName().equals(w.info().storedName()))
                                .orElse(true);
                mayRemove = true;
                undoOwnSidecars(infoKey, name, checksum, signature);
                return alreadyStored(
                        path,
                        same,
                        () -> new RawDigest(w.info().rawSize(), w.info().rawCrc32c()));
            }
            keepObject = true;
            if (!claim.stillHeld()) {
                // taken over while this writer stored: the taker removed this writer's checksum file
                // and signature as leftovers, and may have written its own beside this record
                repairSidecars(infoKey, checksum, signature);
            }
        } finally {
            if (!keepObject && mayRemove) {
                removeQuietly(storedKey); // unreferenced: only this holder wrote under this name
            }
        }
        // objects of writers that were taken over are referenced by no record
        for (long g = 0; g < claim.generation(); g++) {
            String theirs = prefix + (g == 0 ? name : name + TAKEOVER + g) + codecs.extension();
            if (!theirs.equals(storedKey)) {
                removeQuietly(theirs);
            }
        }
        return PutResult.STORED;
    }

    /**
     * After losing the race for the record to a taken-over holder: the checksum file and
     * signature this writer made describe its own record, not the one that won, and would make
     * that one unreadable for good. The checksum file is made again from the record that won; the
     * signature is removed ({@link #alreadyStored} signs that record once its bytes are compared).
     * Only what this writer wrote is touched.
     */
    private void undoOwnSidecars(String infoKey, String name, byte[] ourChecksum, byte[] ourSignature)
            throws IOException {
        byte[] winner = repo.readOptional(infoKey);
        if (winner == null) {
            return;
        }
        String checksumKey = infoKey + ManifestCodec.CHECKSUM_SUFFIX;
        byte[] right = ManifestCodec.checksumFile(winner, name + INFO_SUFFIX);
        if (!Arrays.equals(right, ourChecksum) && Arrays.equals(ourChecksum, repo.readOptional(checksumKey))) {
            repo.storage().delete(checksumKey);
            repo.storage().createIfAbsent(checksumKey, right, repo.retainUntil());
        }
        if (ourSignature != null) {
            String signatureKey = infoKey + signer.signatureSuffix();
            if (Arrays.equals(ourSignature, repo.readOptional(signatureKey))) {
                repo.storage().delete(signatureKey);
            }
        }
    }

    /**
     * Puts this writer's checksum file and signature beside the record this writer made, where
     * they are missing or another writer's (a taker that removed them as leftovers, and wrote its
     * own for a record that never came).
     */
    private void repairSidecars(String infoKey, byte[] checksum, byte[] signature) throws IOException {
        replaceUnlessEqual(infoKey + ManifestCodec.CHECKSUM_SUFFIX, checksum);
        if (signature != null) {
            replaceUnlessEqual(infoKey + signer.signatureSuffix(), signature);
        }
    }

    private void replaceUnlessEqual(String key, byte[] content) throws IOException {
        byte[] there = repo.readOptional(key);
        if (Arrays.equals(there, content)) {
            return;
        }
        if (there != null) {
            repo.storage().delete(key);
        }
        if (!repo.storage().createIfAbsent(key, content, repo.retainUntil())
                && !Arrays.equals(content, repo.readOptional(key))) {
            LOG.warn(
                    "{} in {} was written by another writer meanwhile; a repository check names it if it does "
                            + "not fit its record",
                    key,
                    repo.describe());
        }
    }

    /**
     * What a record's signature covers: the record's key (so the file's name, cluster and
     * timeline: a signed record moved to another place is not believed there), a line break, then
     * the record's bytes.
     */
    static byte[] signedContent(String infoKey, byte[] json) {
        byte[] head = ("drkit-archived " + infoKey + "\n").getBytes(StandardCharsets.UTF_8);
        byte[] out = Arrays.copyOf(head, head.length + json.length);
        System.arraycopy(json, 0, out, head.length, json.length);
        return out;
    }

    /** The objects a record may have beside it, other than itself: its checksum file and signature. */
    private List<String> sidecars(String infoKey) {
        List<String> keys = new ArrayList<>(List.of(infoKey + ManifestCodec.CHECKSUM_SUFFIX));
        if (signer != null) {
            keys.add(infoKey + signer.signatureSuffix());
        }
        ManifestVerifier trusted = repo.trusted();
        if (trusted != null && !keys.contains(infoKey + trusted.signatureSuffix())) {
            keys.add(infoKey + trusted.signatureSuffix());
        }
        return keys;
    }

    private void removeQuietly(String key) {
        try {
            removeLeftovers(key);
        } catch (IOException | RuntimeException e) {
            LOG.warn(
                    "removing unreferenced {} from {} failed; a repository check names it: {}",
                    key,
                    repo.describe(),
                    e.getMessage());
        }
    }

    /** The size and CRC32C of a file's raw bytes, as an artifact's record has them. */
    private record RawDigest(long size, String crc32c) {}

    private interface RawDigestSource {
        RawDigest get() throws IOException;
    }

    private static RawDigest rawDigest(InputStream raw) throws IOException {
        ContentHash crc = ContentHash.crc32c();
        byte[] buffer = new byte[1 << 16];
        long size = 0;
        for (int n; (n = raw.read(buffer)) != -1; ) {
            crc.update(buffer, 0, n);
            size += n;
        }
        return new RawDigest(size, crc.hex());
    }

    /**
     * Compares the stored bytes with the caller's through {@code same}. A file encrypted to
     * keys this kit holds no secret for (an archiving host that has only the public key, as
     * recommended) cannot be read back: the stored object is checked against its record's size
     * and SHA-256, and the record's raw size and CRC32C are compared with the caller's bytes. A
     * host that holds a key compares the bytes, and fails when they do not decrypt.
     * Without that, every second push of a file (PostgreSQL repeats archive_command after a
     * crash between the store and its own bookkeeping) would fail for good, and archiving would
     * stop there.
     */
    private PutResult alreadyStored(String path, SameContent comparator, RawDigestSource caller) throws IOException {
        Record record = record(path, false).orElseThrow();
        ArtifactInfo stored = record.info();
        boolean same;
        boolean compared = codecs.canDecode(stored.codecs());
        if (compared) {
            // with a key, a file that does not decrypt fails the push: the key may not fit, or
            // the file fails its integrity check, and neither may pass as stored
            try (InputStream in = openRecorded(path, stored)) {
                same = comparator.test(in);
            }
        } else {
            same = sameAsRecorded(path, stored, caller);
        }
        if (same) {
            if (signer != null) {
                signIfUnsigned(path, record, compared);
            }
            if (repo.trusted() != null) {
                // what this kit's own trust refuses is not stored for it: PostgreSQL keeps the file and retries
                record(path, true);
            }
            return PutResult.ALREADY_STORED;
        }
        throw new ObjectExistsException(path + " is already stored in " + describe() + " with other content; "
                + "two clusters may be archiving into one place, or the file changed after it was archived");
    }

    /**
     * Signs the record of a file stored before signing was turned on (a timeline history file is
     * archived once and needed by every later recovery: pushing it again with the key signs it),
     * or whose signature a lost race removed; only once its stored bytes were compared with the
     * caller's byte for byte, since a raw size and CRC32C can be matched by a forger. A record
     * signed already is left as it is.
     */
    private void signIfUnsigned(String path, Record record, boolean compared) throws IOException {
        String infoKey = area + path + INFO_SUFFIX;
        String signatureKey = infoKey + signer.signatureSuffix();
        if (repo.storage().stat(signatureKey).isPresent()) {
            return;
        }
        if (!compared) {
            LOG.warn(
                    "the record of {} in {} is not signed, and this host cannot compare its stored bytes with the "
                            + "file's (they are encrypted to a key it holds no secret for), so it does not sign it; "
                            + "push the file again where the secret key is given (setting secret-key) to sign it",
                    path,
                    describe());
            return;
        }
        if (repo.storage()
                .createIfAbsent(signatureKey, signer.sign(signedContent(infoKey, record.json())), repo.retainUntil())) {
            LOG.info("signed the record of {} in {}, stored unsigned before", path, describe());
        }
    }

    /**
     * Whether the caller's bytes are the ones recorded, read without decoding: the stored object
     * must be whole (its size and SHA-256 as recorded), or a push that finds it would be taken
     * for stored while the repository has lost the file.
     */
    private boolean sameAsRecorded(String path, ArtifactInfo stored, RawDigestSource caller) throws IOException {
        int slash = path.lastIndexOf('/');
        String key = area + path.substring(0, slash + 1) + stored.storedName();
        try (InputStream in =
                new CheckedInputStream(repo.storage().open(key, 0), stored.storedSize(), stored.sha256(), key, null)) {
            in.transferTo(OutputStream.nullOutputStream());
        } catch (NoSuchFileException e) {
            throw new BackupNotFoundException(
                    key + " is recorded but missing from " + repo.describe() + ": the archive is damaged", e);
        } catch (ChecksumMismatchException e) {
            throw new CorruptDataException(
                    key + " in " + repo.describe() + " is damaged (its size or SHA-256 differs from its record); "
                            + "the file it holds cannot be trusted, and a push of it is not taken for stored",
                    e);
        }
        RawDigest theirs = caller.get();
        return stored.rawSize() == theirs.size() && theirs.crc32c().equals(stored.rawCrc32c());
    }

    /** An interrupted put may have left the object or its sidecar without an info document. */
    private void removeLeftovers(String key) throws IOException {
        for (String k : List.of(key + RepositoryLayout.SHA256_SUFFIX, key)) {
            if (repo.storage().stat(k).isPresent()) {
                repo.storage().delete(k);
            }
        }
    }

    /** The decoded bytes stored under {@code path}, checked as they stream; empty when none. */
    @Override
    public Optional<InputStream> open(String path) throws IOException {
        repo.requireExisting();
        Optional<ArtifactInfo> info = info(path);
        if (info.isEmpty()) {
            return Optional.empty();
        }
        return Optional.of(openRecorded(path, info.get()));
    }

    /** The decoded bytes of the object {@code info} (a record read and checked) names, checked as they stream. */
    private InputStream openRecorded(String path, ArtifactInfo info) throws IOException {
        int slash = path.lastIndexOf('/');
        String key = area + path.substring(0, slash + 1) + info.storedName();
        InputStream source;
        try {
            source = repo.storage().open(key, 0);
        } catch (NoSuchFileException e) {
            throw new BackupNotFoundException(
                    key + " is recorded but missing from " + repo.describe() + ": the archive is damaged", e);
        }
        return ArtifactReader.open(source, info, codecs, null, area + path);
    }

    /** What is recorded about {@code path}, if it is stored. */
    @Override
    public Optional<ArtifactInfo> info(String path) throws IOException {
        return record(path, true).map(Record::info);
    }

    /**
     * A file's record as stored (its bytes, read once) and as checked, with the signature it was
     * checked against (null, and its key null, where no keys are trusted).
     */
    private record Record(byte[] json, ArtifactInfo info, String signatureKey, byte[] signature) {}

    /**
     * A file's record, checked against its checksum file and, when {@code signed} and keys are
     * trusted, its signature (a deletion needs no signature: the objects a record names are
     * those of its own file).
     */
    private Optional<Record> record(String path, boolean signed) throws IOException {
        String key = area + path + INFO_SUFFIX;
        byte[] json;
        try (InputStream in = repo.storage().open(key, 0)) {
            json = in.readNBytes(1024 * 1024);
        } catch (NoSuchFileException e) {
            return Optional.empty();
        }
        String name = path.substring(path.lastIndexOf('/') + 1);
        // records written before they had checksum files have none: read as they are
        String problem = ManifestCodec.checksumProblem(
                json, repo.readOptional(key + ManifestCodec.CHECKSUM_SUFFIX), name + INFO_SUFFIX);
        if (problem != null) {
            throw new CorruptDataException(key + " in " + repo.describe() + " is damaged (" + problem
                    + "); the file it describes cannot be trusted");
        }
        ArtifactInfo info;
        try {
            info = Json.read(json, ArtifactInfo.class);
        } catch (IOException | RuntimeException e) {
            throw new CorruptDataException(
                    key + " in " + repo.describe() + " is damaged (not a valid "
                            + "record of an archived file); the file it describes cannot be trusted",
                    e);
        }
        if (info == null
                || !name.equals(info.name())
                || !BackupIds.isValidArtifactName(info.storedName())
                || !info.storedName().startsWith(name)) {
            throw new CorruptDataException(key + " in " + repo.describe() + " is damaged (it names an "
                    + "object that does not belong to " + path + "); the file it describes cannot be trusted");
        }
        ManifestVerifier trusted = repo.trusted();
        String signatureKey = null;
        byte[] signature = null;
        if (trusted != null && signed) {
            // with trusted keys, an unsigned or foreign-signed record is believed nowhere, as a manifest
            signatureKey = key + trusted.signatureSuffix();
            signature = repo.readOptional(signatureKey);
            try {
                trusted.verify(signedContent(key, json), signature, "record of " + area + path);
            } catch (DrException e) {
                if (e.code() != DrException.ErrorCode.SIGNATURE) {
                    throw e;
                }
                throw new CorruptDataException(
                        key + " in " + repo.describe() + " cannot be trusted: "
                                + e.getMessage()
                                + ". Where keys are trusted, files archived before signing was turned on "
                                + "(setting sign-with where they are archived) are refused as well: recover from a "
                                + "base backup taken since",
                        e);
            }
        }
        return Optional.of(new Record(json, info, signatureKey, signature));
    }

    /**
     * When the file was first stored: the time its record gives ({@value #ARCHIVED_AT}, written
     * by the writer that stored it, and kept by {@link #copyTo}, so that in a copy the file's
     * time is still when it reached the first repository, not when the copy ran), but never
     * later than the storage's time of the record here (a writer's clock ahead); the storage's
     * time for a record that gives none (one written before records gave it, or one whose time
     * does not read), and the record's where the storage keeps no times. The record is checked
     * as {@link #info} checks it.
     */
    @Override
    public Optional<Instant> storedAt(String path) throws IOException {
        Optional<Record> record = record(path, true);
        if (record.isEmpty()) {
            return Optional.empty();
        }
        Optional<Instant> here = repo.storage().stat(area + path + INFO_SUFFIX).map(ObjectInfo::lastModified);
        return Stream.concat(here.stream(), archivedAt(record.get().json()).stream())
                .min(Comparator.naturalOrder());
    }

    /** The record of a file: what {@code info} says, and when it was stored ({@value #ARCHIVED_AT}). */
    static byte[] recordJson(ArtifactInfo info, Instant archivedAt) {
        ObjectNode node = Json.mapper().valueToTree(info);
        node.put(ARCHIVED_AT, archivedAt.toString());
        return Json.write(node);
    }

    /** The time a record gives, if it gives a readable one. */
    static Optional<Instant> archivedAt(byte[] json) throws IOException {
        JsonNode time = Json.mapper().readTree(json).path(ARCHIVED_AT);
        if (!time.isTextual()) {
            return Optional.empty();
        }
        try {
            return Optional.of(Instant.parse(time.asText()));
        } catch (DateTimeParseException e) {
            return Optional.empty();
        }
    }

    /** Paths of the complete files under {@code prefix} (relative to the area), sorted. */
    @Override
    public List<String> list(String prefix) throws IOException {
        repo.requireExisting();
        List<String> out = new ArrayList<>();
        for (ObjectInfo o : repo.storage().list(area + prefix)) {
            String k = o.key();
            if (k.endsWith(INFO_SUFFIX)) {
                out.add(k.substring(area.length(), k.length() - INFO_SUFFIX.length()));
            }
        }
        out.sort(null);
        return out;
    }

    /**
     * Copies the complete files of this area that {@code destination}'s same area lacks: each
     * stored object checked against its recorded size and sha256 as it streams, then its
     * checksum file, then its info document last, so an interrupted copy is resumed by running
     * it again and never leaves a file that looks complete.
     *
     * @return how many files were copied and their stored bytes
     */
    public Copied copyTo(Repository destination) throws IOException {
        Set<String> there = new HashSet<>();
        for (ObjectInfo o : destination.storage().list(area)) {
            there.add(o.key());
        }
        NavigableSet<String> here = new TreeSet<>();
        for (ObjectInfo o : repo.storage().list(area)) {
            here.add(o.key());
        }
        long files = 0;
        long bytes = 0;
        List<CopyResult.NotCopied> damaged = new ArrayList<>();
        for (String infoKey : here) {
            if (!infoKey.endsWith(INFO_SUFFIX) || there.contains(infoKey)) {
                continue;
            }
            String path = infoKey.substring(area.length(), infoKey.length() - INFO_SUFFIX.length());
            try {
                Optional<Record> record = record(path, true);
                if (record.isEmpty()) {
                    continue; // removed since it was listed (pruned)
                }
                bytes += copyFile(destination, path, record.get(), besideRecord(here, infoKey));
                files++;
            } catch (CorruptDataException | ChecksumMismatchException | ObjectExistsException e) {
                // one damaged file (or one the destination holds otherwise) must not keep the later
                // ones, which newer backups need, from the copy
                if (repo.storage().stat(area + path + INFO_SUFFIX).isPresent()) { // else pruned meanwhile
                    damaged.add(new CopyResult.NotCopied(area + path, e.getMessage()));
                }
            }
        }
        return new Copied(files, bytes, damaged);
    }

    /** The keys in {@code keys} that start with {@code infoKey + "."}: the record's checksum file and signatures. */
    private static List<String> besideRecord(NavigableSet<String> keys, String infoKey) {
        return keys.subSet(infoKey + ".", infoKey + "/").stream() // '/' follows '.'
                .filter(k -> !PutClaim.isClaim(infoKey, k)) // a writer's, never copied or removed
                .toList();
    }

    /**
     * Copies one file: the stored object checked against the record, its signatures, then the
     * record itself as it was read and checked (never read again: a source giving other bytes the
     * second time would put a record nothing checked into the destination), with a checksum file
     * made from it.
     */
    private long copyFile(Repository destination, String path, Record record, List<String> beside) throws IOException {
        ArtifactInfo info = record.info();
        int slash = path.lastIndexOf('/');
        String key = area + path.substring(0, slash + 1) + info.storedName();
        long bytes = destination.copyObject(repo, key, info.storedSize(), info.sha256());
        if (repo.storage().stat(key + RepositoryLayout.SHA256_SUFFIX).isPresent()) {
            bytes += destination.copyObject(repo, key + RepositoryLayout.SHA256_SUFFIX, -1, null);
        }
        String name = path.substring(slash + 1);
        String infoKey = area + path + INFO_SUFFIX;
        Instant until = destination.retainUntil();
        for (String signature : beside) {
            if (signature.equals(infoKey + ManifestCodec.CHECKSUM_SUFFIX)) {
                continue; // made from the record below
            }
            byte[] content =
                    signature.equals(record.signatureKey()) ? record.signature() : repo.readOptional(signature);
            if (content != null) {
                bytes += destination.writeOnce(signature, content, until);
            }
        }
        bytes += destination.writeChecksumOnce(
                infoKey + ManifestCodec.CHECKSUM_SUFFIX, record.json(), name + INFO_SUFFIX, until);
        return bytes + destination.writeOnce(infoKey, record.json(), until);
    }

    /** What {@link #copyTo} transferred, and the files it left out because they are damaged or missing. */
    public record Copied(long files, long bytes, List<CopyResult.NotCopied> damaged) {}

    /**
     * Removes stored files in two batches: every info document first (so no file is listed
     * once its bytes start to go), then their checksum files and signatures (whatever key
     * they were signed with) and stored objects, named by the info documents (the codec
     * extensions they were stored with may differ from today's).
     */
    @Override
    public void deleteAll(List<String> paths) throws IOException {
        NavigableSet<String> listed = new TreeSet<>();
        Set<String> dirs = new HashSet<>();
        for (String path : paths) {
            String dir = area + path.substring(0, path.lastIndexOf('/') + 1);
            if (dirs.add(dir)) {
                repo.storage().list(dir).forEach(o -> listed.add(o.key()));
            }
        }
        List<String> infos = new ArrayList<>();
        Set<String> rest = new LinkedHashSet<>();
        for (String path : paths) {
            Optional<ArtifactInfo> info = infoOrDamaged(path);
            if (info == null) {
                continue;
            }
            String infoKey = area + path + INFO_SUFFIX;
            infos.add(infoKey);
            rest.add(infoKey + ManifestCodec.CHECKSUM_SUFFIX);
            rest.addAll(besideRecord(listed, infoKey));
            if (info.isPresent()) {
                String stored = area
                        + path.substring(0, path.lastIndexOf('/') + 1)
                        + info.get().storedName();
                rest.add(stored);
                rest.add(stored + RepositoryLayout.SHA256_SUFFIX);
            }
        }
        repo.storage().deleteAll(infos);
        repo.storage().deleteAll(new ArrayList<>(rest));
    }

    /** Removes a stored file, info document first. */
    @Override
    public void delete(String path) throws IOException {
        Optional<ArtifactInfo> info = infoOrDamaged(path);
        String infoKey = area + path + INFO_SUFFIX;
        repo.storage().delete(infoKey);
        repo.storage().delete(infoKey + ManifestCodec.CHECKSUM_SUFFIX);
        for (ObjectInfo o : repo.storage().list(infoKey + ".")) {
            if (!PutClaim.isClaim(infoKey, o.key())) {
                repo.storage().delete(o.key()); // signatures
            }
        }
        if (info != null && info.isPresent()) {
            int slash = path.lastIndexOf('/');
            removeLeftovers(area + path.substring(0, slash + 1) + info.get().storedName());
        }
    }

    /**
     * The record of a file being deleted: null when there is none, empty when it is damaged
     * (its stored object is then left for a repository check to name, rather than guessed at).
     */
    private Optional<ArtifactInfo> infoOrDamaged(String path) throws IOException {
        try {
            Optional<ArtifactInfo> info = record(path, false).map(Record::info);
            return info.isEmpty() ? null : info;
        } catch (CorruptDataException e) {
            return Optional.empty();
        }
    }
}
