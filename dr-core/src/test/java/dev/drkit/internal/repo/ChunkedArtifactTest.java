package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.ChecksumMismatchException;
import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.spi.ObjectInfo;
import dev.drkit.spi.support.BackupIds;
import dev.drkit.storage.FileStorageBackend;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Artifacts stored in the chunk store: round trips, deduplication, and what a forged or damaged store does. */
class ChunkedArtifactTest {
    private static final StreamCodecs ZSTD = new StreamCodecs(Compression.ZSTD, 3, 2);

    @TempDir
    Path dir;

    private Repository repo;
    private Instant clock = Instant.parse("2026-12-01T00:00:00Z");

    @BeforeEach
    void setUp() throws IOException {
        repo = Repository.open(new FileStorageBackend(dir), Instant.now());
        repo.initialise();
    }

    /** Compressible but not trivially: words drawn from a seeded generator. */
    static byte[] data(long seed, int size) {
        Random r = new Random(seed);
        ByteArrayOutputStream out = new ByteArrayOutputStream(size + 64);
        while (out.size() < size) {
            out.writeBytes(("row " + r.nextInt(1_000_000) + " value " + Long.toHexString(r.nextLong()) + "\n")
                    .getBytes(StandardCharsets.US_ASCII));
        }
        return Arrays.copyOf(out.toByteArray(), size);
    }

    record Stored(BackupManifest manifest, ArtifactInfo artifact, ChunkedArtifactWriter writer) {}

    private Stored store(byte[] content) throws IOException {
        clock = clock.plusSeconds(60);
        return store(repo, clock, ZSTD, content);
    }

    /** Writes {@code content} as artifact dump.bin of a new backup of target db, in pieces of 100 kB. */
    static Stored store(Repository repo, Instant clock, StreamCodecs codecs, byte[] content) throws IOException {
        String id = BackupIds.next(clock);
        ChunkedArtifactWriter w = (ChunkedArtifactWriter) repo.newArtifact("db", id, "dump.bin", codecs, true, null);
        for (int off = 0; off < content.length; off += 100_000) {
            w.write(content, off, Math.min(100_000, content.length - off));
        }
        w.close();
        return new Stored(manifest(id, clock, w.info()), w.info(), w);
    }

    /** The manifest of a full backup {@code id} of target db taken at {@code at}, holding {@code artifact}. */
    static BackupManifest manifest(String id, Instant at, ArtifactInfo artifact) {
        return new BackupManifest(
                BackupManifest.FORMAT,
                id,
                "db",
                "files",
                "full",
                null,
                List.of(),
                at,
                at,
                "test",
                "host",
                List.of(artifact),
                Map.of(),
                null);
    }

    private byte[] read(Stored s) throws IOException {
        try (InputStream in = repo.openDecoded(s.manifest(), s.artifact(), ZSTD, null)) {
            return in.readAllBytes();
        }
    }

    private List<Path> packs() throws IOException {
        try (Stream<Path> files = Files.list(dir.resolve("chunks/packs"))) {
            return files.filter(p -> p.toString().endsWith(".pack")).sorted().toList();
        }
    }

    @Test
    void anArtifactComesBackByteForByteAndIsListedAsChunks() throws IOException {
        byte[] content = data(1, 12 << 20);
        Stored s = store(content);
        assertThat(read(s)).isEqualTo(content);
        assertThat(s.artifact().storedName()).isEqualTo("dump.bin.chunks");
        assertThat(s.artifact().codecs()).containsExactly("chunks", "zstd");
        assertThat(s.artifact().rawSize()).isEqualTo(content.length);
        assertThat(s.writer().chunks()).isBetween(4L, 40L);
        assertThat(s.writer().newChunks()).isEqualTo(s.writer().chunks());
        assertThat(Files.readString(dir.resolve("backups/db/" + s.manifest().id() + "/dump.bin.chunks")))
                .startsWith("drkit-chunks 1 sha256\n");
        assertThat(dir.resolve("backups/db/" + s.manifest().id() + "/dump.bin.chunks.sha256"))
                .exists();
        assertThat(packs()).isNotEmpty();
    }

    @Test
    void anEmptyArtifactAndATinyOneRoundTrip() throws IOException {
        Stored empty = store(new byte[0]);
        assertThat(read(empty)).isEmpty();
        Stored tiny = store("x".getBytes(StandardCharsets.US_ASCII));
        assertThat(read(tiny)).containsExactly('x');
    }

    @Test
    void aSecondArtifactWithASmallEditStoresOnlyTheChunksAroundIt() throws IOException {
        byte[] first = data(2, 16 << 20);
        Stored a = store(first);
        byte[] second = first.clone();
        // an edit in place and an insertion: content-defined cuts realign after both
        System.arraycopy("EDITED".getBytes(StandardCharsets.US_ASCII), 0, second, 5 << 20, 6);
        byte[] inserted = new byte[second.length + 1000];
        System.arraycopy(second, 0, inserted, 0, 11 << 20);
        System.arraycopy(second, 11 << 20, inserted, (11 << 20) + 1000, second.length - (11 << 20));
        reopen();
        Stored b = store(inserted);
        assertThat(read(b)).isEqualTo(inserted);
        assertThat(read(a)).isEqualTo(first);
        assertThat(b.writer().newChunks()).isBetween(1L, 4L);
        assertThat(b.writer().newBytes()).isLessThan(a.writer().newBytes() / 3);
        // the same bytes a third time store nothing
        reopen();
        Stored c = store(inserted);
        assertThat(c.writer().newChunks()).isZero();
        assertThat(read(c)).isEqualTo(inserted);
    }

    /** A new repository object over the same storage: what the next backup, in a new process, sees. */
    private void reopen() throws IOException {
        repo = Repository.open(new FileStorageBackend(dir), Instant.now());
    }

    @Test
    void aFlippedByteInAPackFailsTheRestoreNamingTheChunkAndNeverReturnsOtherBytes() throws IOException {
        byte[] content = data(3, 6 << 20);
        Stored s = store(content);
        Path pack = packs().get(0);
        byte[] bytes = Files.readAllBytes(pack);
        bytes[bytes.length / 2] ^= 0x40;
        Files.write(pack, bytes);
        reopen();
        assertThatThrownBy(() -> read(s))
                .isInstanceOf(ChecksumMismatchException.class)
                .hasMessageContaining("chunk ")
                .hasMessageContaining("does not decode to its bytes")
                .hasMessageContaining("use another one");
    }

    @Test
    void aMissingPackIsSaidAsSuch() throws IOException {
        Stored s = store(data(4, 3 << 20));
        Files.delete(packs().get(0));
        reopen();
        assertThatThrownBy(() -> read(s))
                .isInstanceOf(ChecksumMismatchException.class)
                .hasMessageContaining("is missing");
    }

    @Test
    void aForgedIndexThatPointsAChunkAtAnotherChunksBytesIsCaught() throws IOException {
        Stored s = store(data(5, 6 << 20));
        Path idx;
        try (Stream<Path> files = Files.list(dir.resolve("chunks/index"))) {
            idx = files.findFirst().orElseThrow();
        }
        List<String> lines = new ArrayList<>(Files.readAllLines(idx));
        assertThat(lines.size()).isGreaterThan(2);
        String[] first = lines.get(1).split(" ");
        String[] second = lines.get(2).split(" ");
        // chunk 1 now claims chunk 2's place in the pack (its own raw length kept, chunk 2's CRC32C)
        lines.set(1, String.join(" ", first[0], first[1], second[2], second[3], first[4], second[5]));
        Files.write(idx, (String.join("\n", lines) + "\n").getBytes(StandardCharsets.US_ASCII));
        reopen();
        // caught at the chunk (its bytes do not decode to it) or, when the two lines now take more
        // bytes than the pack holds, at the index (refused whole: the chunk is then in no index)
        assertThatThrownBy(() -> read(s)).isInstanceOfAny(ChecksumMismatchException.class, CorruptDataException.class);
    }

    @Test
    void aMalformedIndexIsNotTrustedForDeduplication() throws IOException {
        byte[] content = data(6, 3 << 20);
        store(content);
        Path idx;
        try (Stream<Path> files = Files.list(dir.resolve("chunks/index"))) {
            idx = files.findFirst().orElseThrow();
        }
        Files.writeString(idx, Files.readString(idx).replace(ChunkStore.INDEX_HEADER, "drkit-chunk-index 9"));
        reopen();
        assertThat(repo.chunks().index().problems()).singleElement().asString().contains("does not start with");
        Stored again = store(content);
        assertThat(again.writer().newChunks()).isEqualTo(again.writer().chunks()); // stored afresh
        assertThat(read(again)).isEqualTo(content);
    }

    @Test
    void indexesOutsideWhatDrkitWritesAreRefused() {
        String pack = "0123456789abcdef0123456789abcdef";
        String id = "a".repeat(64);
        String head = "drkit-chunk-index 1 " + pack + " 100 " + "b".repeat(64) + "\n";
        assertThat(ChunkStore.parseIndex(pack, (head + id + " " + pack + " 0 100 5\n").getBytes())
                        .chunks())
                .containsKey(id);
        for (String bad : List.of(
                id + " " + pack + " 50 51 5\n", // past the pack's end
                id + " " + pack + " 0 0 5\n", // empty frame
                id + " " + pack + " 0 10 0\n", // empty chunk
                id + " " + pack + " 0 10 99999999999\n", // larger than any chunk
                id.toUpperCase() + " " + pack + " 0 10 5\n",
                id + " ffffffffffffffffffffffffffffffff 0 10 5\n", // another pack's entry
                id + " " + pack + " -1 10 5\n",
                id + " " + pack + " 0 10\n")) {
            assertThatThrownBy(() -> ChunkStore.parseIndex(pack, (head + bad).getBytes()))
                    .as(bad)
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(() -> ChunkStore.parseIndex(
                        pack, head.replace(pack, "f".repeat(32)).getBytes()))
                .hasMessageContaining("describes pack");
        assertThatThrownBy(() -> ChunkStore.parseIndex(pack, (head + id).getBytes()))
                .hasMessageContaining("truncated");
        // 19 digits, as many as a long has, but more than it holds: said as such, not as a parse error
        assertThatThrownBy(() -> ChunkStore.parseIndex(
                        pack, head.replace(" 100 ", " 9999999999999999999 ").getBytes()))
                .hasMessage("pack size 9999999999999999999 is out of range");
        assertThatThrownBy(() -> ChunkStore.parseIndex(
                        pack, (head + id + " " + pack + " 9999999999999999999 10 5\n").getBytes()))
                .hasMessage("line 2: offset 9999999999999999999 is out of range");

        // version 2: each line ends with the CRC32C of the chunk's stored bytes
        String head2 = ChunkStore.INDEX_HEADER + " " + pack + " 100 " + "b".repeat(64) + "\n";
        assertThat(ChunkStore.parseIndex(pack, (head2 + id + " " + pack + " 0 100 5 0a1b2c3d\n").getBytes())
                        .chunks()
                        .get(id)
                        .crc32c())
                .isEqualTo("0a1b2c3d");
        assertThat(ChunkStore.parseIndex(pack, (head + id + " " + pack + " 0 100 5\n").getBytes())
                        .chunks()
                        .get(id)
                        .crc32c())
                .as("version 1 has none")
                .isNull();
        for (String bad : List.of(
                id + " " + pack + " 0 100 5\n", // no CRC32C
                id + " " + pack + " 0 100 5 0A1B2C3D\n",
                id + " " + pack + " 0 100 5 0a1b2c3\n",
                id + " " + pack + " 0 100 5 0a1b2c3d0\n",
                id + " " + pack + " 0 100 5 0a1b2c3d \n")) {
            assertThatThrownBy(() -> ChunkStore.parseIndex(pack, (head2 + bad).getBytes()))
                    .as(bad)
                    .isInstanceOf(IllegalArgumentException.class);
        }
        assertThatThrownBy(
                        () -> ChunkStore.parseIndex(pack, (head + id + " " + pack + " 0 100 5 0a1b2c3d\n").getBytes()))
                .as("version 1 has no CRC32C")
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void aTamperedChunkListFailsBeforeAnyByteIsReturned() throws IOException {
        Stored s = store(data(7, 3 << 20));
        Path list = dir.resolve("backups/db/" + s.manifest().id() + "/dump.bin.chunks");
        String text = Files.readString(list);
        String[] lines = text.split("\n");
        // swap the first two chunks: same ids, same total, other bytes
        String swapped = lines[0] + "\n" + lines[2] + "\n" + lines[1] + "\n"
                + String.join("\n", Arrays.copyOfRange(lines, 3, lines.length)) + (lines.length > 3 ? "\n" : "");
        Files.writeString(list, swapped);
        assertThatThrownBy(() -> repo.openDecoded(s.manifest(), s.artifact(), ZSTD, null))
                .isInstanceOf(ChecksumMismatchException.class);
    }

    @Test
    void chunkListsOutsideWhatDrkitWritesAreRefused() {
        String id = "c".repeat(64);
        String[] scheme = new String[1];
        assertThat(ChunkedArtifactReader.parseList(
                        ("drkit-chunks 1 sha256\n" + id + " 7\n").getBytes(), 7, new ArrayList<>(), scheme, "a"))
                .containsExactly(7);
        assertThat(scheme[0]).isEqualTo("sha256");
        assertThat(ChunkedArtifactReader.parseList(
                        ("drkit-chunks 1 hmac-sha256 0123456789abcdef\n" + id + " 7\n").getBytes(),
                        7,
                        new ArrayList<>(),
                        scheme,
                        "a"))
                .containsExactly(7);
        assertThat(scheme[0]).isEqualTo("hmac-sha256 0123456789abcdef");
        for (String bad : List.of(
                "drkit-chunks 2 sha256\n" + id + " 7\n",
                "drkit-chunks 1 md5\n" + id + " 7\n",
                "drkit-chunks 1 hmac-sha256\n" + id + " 7\n",
                "drkit-chunks 1 hmac-sha256 0123456789ABCDEF\n" + id + " 7\n",
                "drkit-chunks 1 sha256\n" + id + " 0\n",
                "drkit-chunks 1 sha256\n" + id + " 999999999\n",
                "drkit-chunks 1 sha256\n" + id + "  7\n",
                "drkit-chunks 1 sha256\n" + id + " 7",
                "drkit-chunks 1 sha256\n" + id + " 6\n")) {
            assertThatThrownBy(() ->
                            ChunkedArtifactReader.parseList(bad.getBytes(), 7, new ArrayList<>(), new String[1], "a"))
                    .as(bad)
                    .isInstanceOf(CorruptDataException.class);
        }
    }

    @Test
    void anAbortedArtifactLeavesNoChunkListAndNoHalfPack() throws IOException {
        String id = BackupIds.next(clock);
        ArtifactOutput w = repo.newArtifact("db", id, "dump.bin", ZSTD, true, null);
        w.write(data(8, 5 << 20));
        w.abort();
        assertThat(repo.storage().list("backups/")).isEmpty();
        for (ObjectInfo o : repo.storage().list("chunks/packs/")) {
            // every pack that exists was committed whole, with its checksum file and index
            String pack = o.key().substring("chunks/packs/".length()).replaceAll("\\.pack(\\.sha256)?$", "");
            assertThat(repo.storage().stat("chunks/index/" + pack + ".idx")).isPresent();
        }
    }

    @Test
    void dedupIsRefusedWithCodecsItCannotUseYet() {
        String id = BackupIds.next(clock);
        assertThatThrownBy(() ->
                        repo.newArtifact("db", id, "dump.bin", new StreamCodecs(Compression.GZIP, -1, 0), true, null))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("'dedup'")
                .hasMessageContaining("zstd");
    }

    @Test
    void theBreakGlassShellLinesRebuildTheArtifactWithStandardToolsOnly() throws Exception {
        byte[] content = data(9, 7 << 20);
        Stored s = store(content);
        store(data(10, 2 << 20)); // a second pack, so the lookup has to pick the right one
        Path out = dir.resolve("restored.bin");
        Path list = dir.resolve("backups/db/" + s.manifest().id() + "/dump.bin.chunks");
        Process p = new ProcessBuilder("bash", "-c", BREAK_GLASS, "break-glass", dir.toString(), list.toString())
                .redirectOutput(out.toFile())
                .redirectError(ProcessBuilder.Redirect.INHERIT)
                .start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).isZero();
        assertThat(Files.readAllBytes(out)).isEqualTo(content);
    }

    /** The README's break-glass lines (kept identical): REPO and the artifact's chunk list as $1 and $2. */
    static final String BREAK_GLASS = String.join(
            "\n",
            "set -euo pipefail",
            "REPO=$1; LIST=$2",
            "cat \"$REPO\"/chunks/index/*.idx | grep -v '^drkit-chunk-index' | sort -u -k1,1 > /tmp/drkit-chunk-index.$$",
            "tail -n +2 \"$LIST\" | while read -r id len; do",
            "  read -r _ pack off size _ < <(grep -m1 \"^$id \" /tmp/drkit-chunk-index.$$)",
            "  dd if=\"$REPO/chunks/packs/$pack.pack\" bs=1M iflag=skip_bytes,count_bytes skip=\"$off\" count=\"$size\" status=none",
            "done | zstd -dc",
            "rm -f /tmp/drkit-chunk-index.$$");

    @Test
    void aDamagedStoreNeverTurnsIntoAnUncheckedRuntimeFailure() throws IOException {
        Stored s = store(data(11, 2 << 20));
        for (Path p : packs()) {
            Files.write(p, new byte[0]);
        }
        reopen();
        assertThatThrownBy(() -> read(s)).isInstanceOf(DrException.class);
    }
}
