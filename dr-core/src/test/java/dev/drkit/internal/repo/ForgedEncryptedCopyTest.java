package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.Zstd;
import dev.drkit.ChecksumMismatchException;
import dev.drkit.ChunkCollection;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.spi.support.Sha256;
import dev.drkit.storage.FileStorageBackend;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * An attacker who can only ADD objects to the repository (no key, no delete) plants a
 * second "copy" of an encrypted chunk: a new pack of random bytes with a self-consistent index
 * (its CRC32C and the pack's SHA-256 computed over the random bytes), named to sort first. CRC32C
 * is no proof against forgery, so a prune (without the key) kept the forged copy and deleted the
 * good one, and a copy to another repository moved the forged one: the backup was lost, or its
 * offsite copy useless. A prune now keeps, and a copy moves, every copy that matches its index;
 * a restore tries each in turn.
 */
class ForgedEncryptedCopyTest {
    @TempDir
    Path dir;

    private Repository repo;
    private Path keyFile;

    private void setUp() throws IOException {
        keyFile = dir.resolve("chunk.key");
        Files.writeString(keyFile, "00112233445566778899aabbccddeeff".repeat(2) + "\n");
        Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));
        repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());
        repo.initialise();
        repo.chunkKeyFile(keyFile);
    }

    /** The artifact read with the secret key of {@code who} only. */
    private static byte[] read(Repository r, ChunkedArtifactTest.Stored s, String who) throws IOException {
        try (InputStream in = r.openDecoded(
                s.manifest(),
                s.artifact(),
                new StreamCodecs(Compression.ZSTD, 3, 2, null, EncryptedChunksTest.toyOpen(who)),
                null)) {
            return in.readAllBytes();
        }
    }

    /** A chunk of {@code raw} zero bytes as a copy encrypted to {@code who} would be stored (anyone can make one). */
    private static byte[] encryptedTo(String who, int raw) throws IOException {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try (OutputStream enc = EncryptedChunksTest.toy(who).encrypt(out, "forged")) {
            enc.write(Zstd.compress(new byte[raw]));
        }
        return out.toByteArray();
    }

    /** The repository opened again, as a later process would, with the chunk key file. */
    private Repository reopened() throws IOException {
        Repository r = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());
        r.chunkKeyFile(keyFile);
        return r;
    }

    private byte[] read(Repository r, ChunkedArtifactTest.Stored s) throws IOException {
        try (InputStream in = r.openDecoded(
                s.manifest(),
                s.artifact(),
                new StreamCodecs(Compression.ZSTD, 3, 2, null, EncryptedChunksTest.TOY_OPEN),
                null)) {
            return in.readAllBytes();
        }
    }

    /** Adds pack 000...0 holding random bytes, indexed as a copy of every chunk of the artifact. */
    private void plantForgedCopies(ChunkedArtifactTest.Stored s) throws IOException {
        plantForgedCopies(s, 0);
    }

    /** Adds pack {@code n} (as 32 hex digits) holding random bytes, indexed as a copy of every chunk of the artifact. */
    private void plantForgedCopies(ChunkedArtifactTest.Stored s, int n) throws IOException {
        Path list = dir.resolve("repo/backups/db/" + s.manifest().id() + "/dump.bin.chunks");
        List<String> lines = Files.readAllLines(list).stream().skip(1).toList();
        String pack = String.format("%032x", n);
        StringBuilder index = new StringBuilder();
        ByteArrayOutputStream packBytes = new ByteArrayOutputStream();
        Random r = new Random(1 + n);
        for (String line : lines) {
            String id = line.split(" ")[0];
            int raw = Integer.parseInt(line.split(" ")[1]);
            ChunkStore.Location real = repo.chunks().locate(id).get(0);
            byte[] garbage = new byte[real.length()];
            r.nextBytes(garbage);
            index.append(indexLine(id, pack, packBytes.size(), garbage, raw));
            packBytes.writeBytes(garbage);
        }
        plantPack(pack, packBytes.toByteArray(), index.toString());
    }

    private ChunkedArtifactTest.Stored storeOne() throws IOException {
        byte[] content = ChunkedArtifactTest.data(5, 2 << 20);
        ChunkedArtifactTest.Stored a = ChunkedArtifactTest.store(
                repo,
                Instant.parse("2026-12-01T00:00:00Z"),
                new StreamCodecs(Compression.ZSTD, 3, 2, EncryptedChunksTest.toy("alice"), null),
                content);
        repo.writeManifest(a.manifest(), null);
        assertThat(read(repo, a)).isEqualTo(content);
        return a;
    }

    @Test
    void aPruneNeverDeletesTheOnlyGoodCopyOfAnEncryptedChunkForAForgedOne() throws IOException {
        setUp();
        ChunkedArtifactTest.Stored a = storeOne();
        byte[] content = read(repo, a);
        List<Path> good;
        try (Stream<Path> s = Files.list(dir.resolve("repo/chunks/packs"))) {
            good = s.filter(f -> f.toString().endsWith(".pack")).toList();
        }
        plantForgedCopies(a);
        repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());

        // a prune's collection, run without the key as prunes are
        new ChunkGc(repo, Clock.systemUTC(), Duration.ofMinutes(1), Duration.ofSeconds(1)).collect(false);

        assertThat(good)
                .as("the packs holding the only good copies are still there")
                .allMatch(Files::exists);
        Repository fresh = reopened();
        assertThat(read(fresh, a)).isEqualTo(content);
    }

    @Test
    void aCopyToAnotherRepositoryMovesTheGoodCopyAlongWithAForgedOne() throws IOException {
        setUp();
        ChunkedArtifactTest.Stored a = storeOne();
        byte[] content = read(repo, a);
        plantForgedCopies(a);
        repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());

        Repository dest = Repository.open(new FileStorageBackend(dir.resolve("dest")), Instant.now());
        dest.initialise();
        dest.copyFrom(repo, a.manifest());
        dest = Repository.open(new FileStorageBackend(dir.resolve("dest")), Instant.now());
        dest.chunkKeyFile(keyFile);
        assertThat(read(dest, a)).as("the copy restores").isEqualTo(content);

        // and a prune there, without the key, keeps both
        new ChunkGc(dest, Clock.systemUTC(), Duration.ofMinutes(1), Duration.ofSeconds(1)).collect(false);
        dest = Repository.open(new FileStorageBackend(dir.resolve("dest")), Instant.now());
        dest.chunkKeyFile(keyFile);
        assertThat(read(dest, a)).isEqualTo(content);
    }

    /**
     * Each copy that matches its index is held while a copy moves a chunk, and goes to a pack of
     * its own: forged ones by the hundred (a pack and an index each, anyone who can write the
     * repository can plant them) must end the copy with a clear error, not run the heap out.
     */
    @Test
    void aCopyRefusesAChunkStoredInMoreCopiesThanDrkitEverMakes() throws IOException {
        setUp();
        ChunkedArtifactTest.Stored a = storeOne();
        for (int n = 0; n < ChunkStore.MAX_COPIES; n++) {
            plantForgedCopies(a, n);
        }
        repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());
        Repository dest = Repository.open(new FileStorageBackend(dir.resolve("dest")), Instant.now());
        dest.initialise();

        assertThatThrownBy(() -> dest.copyFrom(repo, a.manifest()))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("more than " + ChunkStore.MAX_COPIES + " stored copies")
                .hasMessageContaining("chunks/index/");
        assertThat(dest.hasManifest(a.manifest().target(), a.manifest().id())).isFalse();
    }

    private static String indexLine(String id, String pack, long offset, byte[] stored, int raw) {
        return id + " " + pack + " " + offset + " " + stored.length + " " + raw + " " + ChunkStore.crc32c(stored)
                + "\n";
    }

    private void plantPack(String pack, byte[] bytes, String lines) throws IOException {
        Files.write(dir.resolve("repo/chunks/packs/" + pack + ".pack"), bytes);
        Files.writeString(
                dir.resolve("repo/chunks/index/" + pack + ".idx"),
                ChunkStore.INDEX_HEADER + " " + pack + " " + bytes.length + " " + Sha256.hex(bytes, 0, bytes.length)
                        + "\n" + lines,
                StandardCharsets.US_ASCII);
    }

    private List<String> chunkIds(ChunkedArtifactTest.Stored s) throws IOException {
        return Files.readAllLines(dir.resolve("repo/backups/db/" + s.manifest().id() + "/dump.bin.chunks")).stream()
                .skip(1)
                .map(l -> l.split(" ")[0])
                .toList();
    }

    /**
     * The genuine pack and a planted one that both hold a needed chunk (each copy matching its own
     * index) are mostly garbage, so a prune rewrites both. One new pack used to take both copies:
     * its index listed the chunk twice, a reader kept the last line (the forged copy), and the
     * backup was lost. Each copy now goes to a pack of its own.
     */
    @Test
    void aRewriteOfTwoCopiesThatBothMatchTheirIndexKeepsEachInAPackOfItsOwn() throws IOException {
        Shared two = twoBackupsSharingAChunk();
        String x = two.chunk();
        // sorts last: the rewrite reaches it after the genuine pack
        plantMostlyGarbageCopy(x, two.real(), "f".repeat(32), new Random(1));
        repo.deleteBackup("db", two.whole().manifest().id());
        repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());

        ChunkCollection gc =
                new ChunkGc(repo, Clock.systemUTC(), Duration.ofMinutes(1), Duration.ofSeconds(1)).collect(false);
        assertThat(gc.skipped()).isNull();
        assertThat(gc.packsRewritten()).as("both packs rewritten").isEqualTo(2);

        Repository fresh = reopened();
        assertThat(fresh.chunks().locate(x))
                .as("both copies indexed, each in a pack of its own")
                .hasSize(2)
                .extracting(ChunkStore.Location::pack)
                .doesNotHaveDuplicates();
        assertThat(read(fresh, two.first())).isEqualTo(two.head());
    }

    /**
     * Twenty planted packs each hold a copy of a needed chunk (matching its own index) and are
     * mostly garbage. The rewrite gave every copy a pack writer of its own, all open until the
     * end (an upload and its buffers each): a few hundred planted packs exhausted the host. At
     * most {@link ChunkStore#MAX_COPIES} copies are rewritten now; the packs past that stay as
     * they are, and nothing is lost.
     */
    @Test
    void aRewriteMakesAtMostMaxCopiesPacksForAChunkAndLeavesThePlantedPacksPastThat() throws IOException {
        Shared two = twoBackupsSharingAChunk();
        String x = two.chunk();
        int planted = 20;
        Random r = new Random(2);
        for (int n = 0; n < planted; n++) {
            plantMostlyGarbageCopy(x, two.real(), String.format("e%031x", n), r);
        }
        repo.deleteBackup("db", two.whole().manifest().id());
        repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());
        Set<String> before = packNames();

        ChunkCollection gc =
                new ChunkGc(repo, Clock.systemUTC(), Duration.ofMinutes(1), Duration.ofSeconds(1)).collect(false);

        Set<String> made = new HashSet<>(packNames());
        made.removeAll(before);
        assertThat(gc.packsRewritten()).as("packs rewritten").isEqualTo(ChunkStore.MAX_COPIES);
        assertThat(made).as("new packs").hasSize(ChunkStore.MAX_COPIES);
        Repository fresh = reopened();
        assertThat(fresh.chunks().locate(x))
                .as("every copy still indexed: the rewritten ones anew, the rest where they were")
                .hasSize(planted + 1);
        assertThat(read(fresh, two.first())).isEqualTo(two.head());
    }

    /**
     * Adds {@code pack}: random bytes indexed as a copy of chunk {@code id} (as long as the real
     * one), then three times as much junk indexed as a chunk no backup needs, so that the pack is
     * mostly garbage and a prune rewrites it.
     */
    private void plantMostlyGarbageCopy(String id, ChunkStore.Location real, String pack, Random r) throws IOException {
        byte[] forged = new byte[real.length()];
        r.nextBytes(forged);
        byte[] junk = new byte[real.length() * 3];
        r.nextBytes(junk);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        bytes.writeBytes(forged);
        bytes.writeBytes(junk);
        plantPack(
                pack,
                bytes.toByteArray(),
                indexLine(id, pack, 0, forged, real.rawLength())
                        + indexLine(Sha256.hex(junk, 0, junk.length), pack, forged.length, junk, junk.length));
    }

    /** Two encrypted backups, {@code first} holding the head of {@code whole}, and a chunk both need. */
    private record Shared(
            ChunkedArtifactTest.Stored whole,
            ChunkedArtifactTest.Stored first,
            byte[] head,
            String chunk,
            ChunkStore.Location real) {}

    private Shared twoBackupsSharingAChunk() throws IOException {
        setUp();
        Instant at = Instant.parse("2026-12-01T00:00:00Z");
        StreamCodecs alice = new StreamCodecs(Compression.ZSTD, 3, 2, EncryptedChunksTest.toy("alice"), null);
        byte[] content = ChunkedArtifactTest.data(8, 12 << 20);
        ChunkedArtifactTest.Stored whole = ChunkedArtifactTest.store(repo, at, alice, content);
        repo.writeManifest(whole.manifest(), null);
        byte[] head = Arrays.copyOf(content, 2 << 20);
        ChunkedArtifactTest.Stored first = ChunkedArtifactTest.store(repo, at.plusSeconds(60), alice, head);
        repo.writeManifest(first.manifest(), null);
        List<String> shared = new ArrayList<>(chunkIds(first));
        shared.retainAll(chunkIds(whole));
        assertThat(shared).isNotEmpty();
        return new Shared(
                whole,
                first,
                head,
                shared.get(0),
                repo.chunks().locate(shared.get(0)).get(0));
    }

    private Set<String> packNames() throws IOException {
        try (Stream<Path> s = Files.list(dir.resolve("repo/chunks/packs"))) {
            return s.map(f -> f.getFileName().toString())
                    .filter(name -> name.endsWith(".pack"))
                    .collect(Collectors.toSet());
        }
    }

    /**
     * A planted copy encrypted to someone else's key (anyone can make one) sorts before the
     * genuine one: a restore passes over it to the copy its keys open, instead of failing with
     * the planted copy's key error.
     */
    @Test
    void aCopyEncryptedToAnotherKeyIsPassedOverForTheOneTheKeysOpen() throws IOException {
        setUp();
        ChunkedArtifactTest.Stored a = storeOne();
        byte[] content = read(repo, a);
        String x = chunkIds(a).get(0);
        ChunkStore.Location real = repo.chunks().locate(x).get(0);
        byte[] forged = encryptedTo("mallory", real.rawLength());
        String pack = "0".repeat(32); // tried first
        plantPack(pack, forged, indexLine(x, pack, 0, forged, real.rawLength()));

        Repository fresh = reopened();
        assertThat(fresh.chunks().locate(x).get(0).pack()).isEqualTo(pack);
        assertThat(read(fresh, a, "alice")).isEqualTo(content);
    }

    /** With no copy the keys open, the key error still says so: the right key is what is missing. */
    @Test
    void withNoCopyTheKeysOpenTheKeyErrorIsWhatARestoreSays() throws IOException {
        setUp();
        ChunkedArtifactTest.Stored a = storeOne();
        Repository fresh = reopened();
        assertThatThrownBy(() -> read(fresh, a, "carol"))
                .isInstanceOfSatisfying(
                        DrException.class, e -> assertThat(e.code()).isEqualTo(DrException.ErrorCode.DECRYPTION))
                .isNotInstanceOf(ChecksumMismatchException.class);
    }

    /**
     * The real copy damaged and a planted one encrypted to another key: the damage is what a
     * restore says (with both copies' problems), not the planted copy's key error, which would
     * send the operator looking for another key.
     */
    @Test
    void aDamagedCopyIsSaidAsDamageEvenBesideOneEncryptedToAnotherKey() throws IOException {
        setUp();
        ChunkedArtifactTest.Stored a = storeOne();
        String x = chunkIds(a).get(0);
        ChunkStore.Location real = repo.chunks().locate(x).get(0);
        Path genuine = dir.resolve("repo/chunks/packs/" + real.pack() + ".pack");
        byte[] bytes = Files.readAllBytes(genuine);
        bytes[(int) real.offset() + real.length() / 2] ^= 0x40;
        Files.write(genuine, bytes);
        byte[] forged = encryptedTo("mallory", real.rawLength());
        String pack = "0".repeat(32);
        plantPack(pack, forged, indexLine(x, pack, 0, forged, real.rawLength()));

        Repository fresh = reopened();
        assertThatThrownBy(() -> read(fresh, a, "alice"))
                .isInstanceOf(ChecksumMismatchException.class)
                .hasMessageContaining("is not encrypted to the keys given")
                .hasMessageContaining("does not decode to its bytes");
    }
}
