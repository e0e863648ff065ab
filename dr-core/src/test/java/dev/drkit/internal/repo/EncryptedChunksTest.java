package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.Zstd;
import dev.drkit.CheckOptions;
import dev.drkit.CheckReport;
import dev.drkit.ChecksumMismatchException;
import dev.drkit.ChunkCollection;
import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.spi.DecryptionStage;
import dev.drkit.spi.EncryptionStage;
import dev.drkit.spi.support.FileTrees;
import dev.drkit.spi.support.Sha256;
import dev.drkit.storage.FileStorageBackend;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.FilterInputStream;
import java.io.FilterOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Deduplicated encrypted artifacts, with a toy cipher standing in for OpenPGP (a header naming
 * the recipient, then the bytes XORed): keyed ids, the chunk key kept in the repository, and
 * chunks forged by someone who can encrypt to the recipient (OpenPGP public keys are public).
 */
class EncryptedChunksTest {
    @TempDir
    Path dir;

    private Repository repo;
    private Instant clock = Instant.parse("2026-12-01T00:00:00Z");
    private Path keyFile;

    /** Encrypts to {@code recipient}: "TOY:recipient\n" then each byte XOR 0x5a. */
    static EncryptionStage toy(String recipient) {
        return new EncryptionStage() {
            @Override
            public String codecName() {
                return "toy";
            }

            @Override
            public String extension() {
                return ".toy";
            }

            @Override
            public List<String> recipients() {
                return List.of(recipient);
            }

            @Override
            public OutputStream encrypt(OutputStream stored, String name) throws IOException {
                stored.write(("TOY:" + recipient + "\n").getBytes(StandardCharsets.US_ASCII));
                return new FilterOutputStream(stored) {
                    @Override
                    public void write(int b) throws IOException {
                        out.write(b ^ 0x5a);
                    }
                };
            }
        };
    }

    static final DecryptionStage TOY_OPEN = new DecryptionStage() {
        @Override
        public String codecName() {
            return "toy";
        }

        @Override
        public InputStream decrypt(InputStream stored, String what) throws IOException {
            int b;
            while ((b = stored.read()) != '\n') {
                if (b < 0) {
                    throw new IOException("not a toy message");
                }
            }
            return new FilterInputStream(stored) {
                @Override
                public int read() throws IOException {
                    int v = in.read();
                    return v < 0 ? v : (v ^ 0x5a);
                }

                @Override
                public int read(byte[] buf, int off, int len) throws IOException {
                    int n = in.read(buf, off, len);
                    for (int i = 0; i < n; i++) {
                        buf[off + i] ^= 0x5a;
                    }
                    return n;
                }
            };
        }
    };

    @BeforeEach
    void setUp() throws IOException {
        keyFile = dir.resolve("chunk.key");
        Files.writeString(keyFile, "00112233445566778899aabbccddeeff".repeat(2) + "\n");
        Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));
        repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());
        repo.initialise();
        repo.chunkKeyFile(keyFile);
    }

    private ChunkedArtifactTest.Stored store(byte[] content, String recipient) throws IOException {
        clock = clock.plusSeconds(60);
        return ChunkedArtifactTest.store(
                repo, clock, new StreamCodecs(Compression.ZSTD, 3, 2, toy(recipient), null), content);
    }

    private byte[] read(ChunkedArtifactTest.Stored s) throws IOException {
        try (InputStream in = repo.openDecoded(
                s.manifest(), s.artifact(), new StreamCodecs(Compression.ZSTD, 3, 2, null, TOY_OPEN), null)) {
            return in.readAllBytes();
        }
    }

    private Path list(ChunkedArtifactTest.Stored s) {
        return dir.resolve("repo/backups/db/" + s.manifest().id() + "/dump.bin.chunks");
    }

    @Test
    void chunksAreNamedByAKeyedHashStoredEncryptedAndDeduplicatedPerRecipient() throws IOException {
        byte[] content = ChunkedArtifactTest.data(1, 5 << 20);
        ChunkedArtifactTest.Stored a = store(content, "alice");
        assertThat(read(a)).isEqualTo(content);
        assertThat(a.artifact().codecs()).containsExactly("chunks", "zstd", "toy");
        assertThat(a.artifact().recipients()).containsExactly("alice");
        List<String> lines = Files.readAllLines(list(a));
        assertThat(lines.get(0)).matches("drkit-chunks 1 hmac-sha256 [0-9a-f]{16}");
        // no id is the plain SHA-256 of its chunk: the first chunk's bytes are the first LEN bytes
        String[] first = lines.get(1).split(" ");
        int len = Integer.parseInt(first[1]);
        assertThat(first[0]).isNotEqualTo(Sha256.hex(content, 0, len));
        try (Stream<Path> packs = Files.list(dir.resolve("repo/chunks/packs"))) {
            for (Path p : packs.filter(f -> f.toString().endsWith(".pack")).toList()) {
                assertThat(new String(Files.readAllBytes(p), StandardCharsets.ISO_8859_1))
                        .startsWith("TOY:alice\n");
            }
        }

        ChunkedArtifactTest.Stored again = store(content, "alice");
        assertThat(again.writer().newChunks()).isZero();
        ChunkedArtifactTest.Stored bob = store(content, "bob");
        assertThat(bob.writer().newChunks()).isEqualTo(bob.writer().chunks()); // never shares alice's
        assertThat(read(bob)).isEqualTo(content);
    }

    @Test
    void aCopyWithoutTheKeyMovesEncryptedChunksOnlyFromPacksThatMatchTheirIndex() throws IOException {
        byte[] content = ChunkedArtifactTest.data(4, 5 << 20);
        ChunkedArtifactTest.Stored a = store(content, "alice");
        repo.writeManifest(a.manifest(), null);
        Repository first = Repository.open(new FileStorageBackend(dir.resolve("first")), Instant.now());
        first.initialise();
        first.copyFrom(repo, a.manifest());
        assertThat(first.hasManifest(a.manifest().target(), a.manifest().id())).isTrue();
        List<Path> packs;
        try (Stream<Path> s = Files.list(dir.resolve("repo/chunks/packs"))) {
            packs = s.filter(f -> f.toString().endsWith(".pack")).sorted().toList();
        }
        // one flipped bit in the middle of a pack: no key is needed to see that its bytes are not the indexed ones
        Path pack = packs.get(0);
        byte[] bytes = Files.readAllBytes(pack);
        bytes[bytes.length / 2] ^= 0x10;
        Files.write(pack, bytes);

        Repository dest = Repository.open(new FileStorageBackend(dir.resolve("dest")), Instant.now());
        dest.initialise();
        assertThatThrownBy(() -> dest.copyFrom(repo, a.manifest()))
                .hasMessageContaining("every copy of it is damaged")
                .hasMessageContaining(pack.getFileName().toString().replace(".pack", ""))
                .hasMessageContaining("the backup cannot be copied");
        assertThat(dest.hasManifest(a.manifest().target(), a.manifest().id())).isFalse();

        bytes[bytes.length / 2] ^= 0x10; // repaired: the copy goes through and restores with the key
        Files.write(pack, bytes);
        Repository again = Repository.open(new FileStorageBackend(dir.resolve("dest")), Instant.now());
        again.copyFrom(repo, a.manifest());
        assertThat(again.hasManifest(a.manifest().target(), a.manifest().id())).isTrue();
        again.chunkKeyFile(keyFile);
        try (InputStream in = again.openDecoded(
                a.manifest(), a.artifact(), new StreamCodecs(Compression.ZSTD, 3, 2, null, TOY_OPEN), null)) {
            assertThat(in.readAllBytes()).isEqualTo(content);
        }
    }

    @Test
    void aCheckThatReadsTheDataReportsABackupWhoseEncryptedChunksLieOnlyInADamagedPack() throws IOException {
        byte[] content = ChunkedArtifactTest.data(5, 3 << 20);
        ChunkedArtifactTest.Stored a = store(content, "alice");
        repo.writeManifest(a.manifest(), null);
        RepositoryCheck check =
                new RepositoryCheck(repo, Clock.systemUTC(), Duration.ofMinutes(5), null, found -> Set.of());
        assertThat(check.run(CheckOptions.readAllData()).findings()).isEmpty();

        Path pack;
        try (Stream<Path> s = Files.list(dir.resolve("repo/chunks/packs"))) {
            pack = s.filter(f -> f.toString().endsWith(".pack")).findFirst().orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(pack);
        bytes[bytes.length / 3] ^= 0x04; // no key needed to see it: the pack no longer hashes as indexed
        Files.write(pack, bytes);
        List<CheckReport.Finding> findings = new RepositoryCheck(
                        repo, Clock.systemUTC(), Duration.ofMinutes(5), null, found -> Set.of())
                .run(CheckOptions.readAllData())
                .findings();
        assertThat(findings)
                .anySatisfy(f -> assertThat(f.message()).contains("does not hash to the SHA-256 its index records"))
                .anySatisfy(f -> assertThat(f.message())
                        .contains("cannot be restored")
                        .contains("has no copy whose bytes match its index"));
    }

    @Test
    void aFlippedBitInOneEncryptedChunkKeepsBackOnlyTheBackupsThatNeedThatChunk() throws IOException {
        byte[] content = ChunkedArtifactTest.data(6, 6 << 20);
        ChunkedArtifactTest.Stored whole = store(content, "alice");
        repo.writeManifest(whole.manifest(), null);
        // the first half: its chunks are the whole's first ones, in the same pack, but for its last
        ChunkedArtifactTest.Stored half = store(Arrays.copyOf(content, 3 << 20), "alice");
        repo.writeManifest(half.manifest(), null);
        List<String> wholeIds = Files.readAllLines(list(whole)).stream()
                .skip(1)
                .map(l -> l.split(" ")[0])
                .toList();
        List<String> halfIds = Files.readAllLines(list(half)).stream()
                .skip(1)
                .map(l -> l.split(" ")[0])
                .toList();
        String last = wholeIds.get(wholeIds.size() - 1);
        assertThat(halfIds).doesNotContain(last).containsAnyElementsOf(wholeIds);
        ChunkStore.Location at = repo.chunks().locate(last).get(0);
        Path pack = dir.resolve("repo/" + at.packKey());
        byte[] bytes = Files.readAllBytes(pack);
        bytes[(int) at.offset() + at.length() / 2] ^= 0x08;
        Files.write(pack, bytes);

        Repository dest = Repository.open(new FileStorageBackend(dir.resolve("dest")), Instant.now());
        dest.initialise();
        dest.copyFrom(repo, half.manifest()); // its chunks in the damaged pack are checked one by one
        assertThat(dest.hasManifest(half.manifest().target(), half.manifest().id()))
                .isTrue();
        assertThatThrownBy(() -> dest.copyFrom(repo, whole.manifest()))
                .hasMessageContaining("chunk " + last)
                .hasMessageContaining("damaged");
        assertThat(dest.hasManifest(whole.manifest().target(), whole.manifest().id()))
                .isFalse();
        dest.chunkKeyFile(keyFile);
        try (InputStream in = dest.openDecoded(
                half.manifest(), half.artifact(), new StreamCodecs(Compression.ZSTD, 3, 2, null, TOY_OPEN), null)) {
            assertThat(in.readAllBytes()).isEqualTo(Arrays.copyOf(content, 3 << 20));
        }

        // a check names the one damaged copy, and only the backup that needs it
        List<CheckReport.Finding> findings = new RepositoryCheck(
                        repo, Clock.systemUTC(), Duration.ofMinutes(5), null, found -> Set.of())
                .run(CheckOptions.readAllData())
                .findings();
        assertThat(findings)
                .anySatisfy(f -> assertThat(f.message())
                        .contains(": 1 of the "
                                + repo.chunks().index().packs().stream()
                                        .filter(p -> p.pack().equals(at.pack()))
                                        .findFirst()
                                        .orElseThrow()
                                        .chunks()
                                        .size()
                                + " chunk copies"));
        assertThat(findings.stream().map(CheckReport.Finding::message).filter(m -> m.contains("cannot be restored")))
                .singleElement()
                .asString()
                .contains(whole.manifest().id());
    }

    /** Rewrites every chunk index as drkit wrote them before version 2: no CRC32C per chunk. */
    private void toVersion1() throws IOException {
        try (Stream<Path> s = Files.list(dir.resolve("repo/chunks/index"))) {
            for (Path idx : s.toList()) {
                List<String> lines = new ArrayList<>();
                for (String line : Files.readAllLines(idx)) {
                    lines.add(
                            line.startsWith(ChunkStore.INDEX_HEADER)
                                    ? line.replace(ChunkStore.INDEX_HEADER, ChunkStore.INDEX_HEADER_1)
                                    : line.substring(0, line.lastIndexOf(' ')));
                }
                Files.write(idx, (String.join("\n", lines) + "\n").getBytes(StandardCharsets.US_ASCII));
            }
        }
        repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());
        repo.chunkKeyFile(keyFile);
    }

    private Path flipInChunk(String id) throws IOException {
        ChunkStore.Location at = repo.chunks().locate(id).get(0);
        Path pack = dir.resolve("repo/" + at.packKey());
        byte[] bytes = Files.readAllBytes(pack);
        bytes[(int) at.offset() + at.length() / 2] ^= 0x08;
        Files.write(pack, bytes);
        return pack;
    }

    private List<String> ids(ChunkedArtifactTest.Stored s) throws IOException {
        return Files.readAllLines(list(s)).stream()
                .skip(1)
                .map(l -> l.split(" ")[0])
                .toList();
    }

    @Test
    void anIndexOfVersion1ChecksEncryptedChunksByTheirWholePackAsBefore() throws IOException {
        byte[] content = ChunkedArtifactTest.data(6, 6 << 20);
        ChunkedArtifactTest.Stored whole = store(content, "alice");
        repo.writeManifest(whole.manifest(), null);
        ChunkedArtifactTest.Stored half = store(Arrays.copyOf(content, 3 << 20), "alice");
        repo.writeManifest(half.manifest(), null);
        toVersion1();
        List<String> wholeIds = ids(whole);
        flipInChunk(wholeIds.get(wholeIds.size() - 1));

        Repository dest = Repository.open(new FileStorageBackend(dir.resolve("dest")), Instant.now());
        dest.initialise();
        assertThatThrownBy(() -> dest.copyFrom(repo, half.manifest())) // no CRC32C: the whole pack decides
                .hasMessageContaining("every copy of it is damaged");
        assertThat(new RepositoryCheck(repo, Clock.systemUTC(), Duration.ofMinutes(5), null, found -> Set.of())
                        .run(CheckOptions.readAllData())
                        .findings())
                .anySatisfy(
                        f -> assertThat(f.message()).contains(": the ").contains(" chunk copies in it are damaged"));
    }

    @Test
    void anIndexLineThatDoesNotFitItsIntactPackIsNeitherCopiedNorPassedByTheCheck() throws IOException {
        // the CRC32C field damaged (the bytes are right), or the chunk's offset moved by one (forged or
        // rotted: the bytes are wrong): the pack hashes as its index says either way, and without the key
        // nothing tells the two apart, so neither is vouched for under a fresh index elsewhere
        for (String damage : List.of("crc", "offset")) {
            FileTrees.delete(dir.resolve("repo"));
            FileTrees.delete(dir.resolve("dest"));
            setUp();
            byte[] content = ChunkedArtifactTest.data(7, 3 << 20);
            ChunkedArtifactTest.Stored a = store(content, "alice");
            repo.writeManifest(a.manifest(), null);
            Path idx;
            try (Stream<Path> s = Files.list(dir.resolve("repo/chunks/index"))) {
                idx = s.findFirst().orElseThrow();
            }
            List<String> lines = new ArrayList<>(Files.readAllLines(idx));
            String[] f = lines.get(1).split(" ");
            if (damage.equals("crc")) {
                f[5] = (f[5].charAt(0) == '0' ? "1" : "0") + f[5].substring(1);
            } else {
                long offset = Long.parseLong(f[2]);
                f[2] = Long.toString(offset > 0 ? offset - 1 : offset + 1);
            }
            lines.set(1, String.join(" ", f));
            Files.write(idx, (String.join("\n", lines) + "\n").getBytes(StandardCharsets.US_ASCII));
            repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());
            repo.chunkKeyFile(keyFile);

            Repository dest = Repository.open(new FileStorageBackend(dir.resolve("dest")), Instant.now());
            dest.initialise();
            assertThatThrownBy(() -> dest.copyFrom(repo, a.manifest()))
                    .as(damage)
                    .isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining(f[0]);
            String pack = idx.getFileName().toString().replace(ChunkStore.INDEX_SUFFIX, "");
            List<CheckReport.Finding> findings = new RepositoryCheck(
                            repo, Clock.systemUTC(), Duration.ofMinutes(5), null, found -> Set.of())
                    .run(CheckOptions.readAllData())
                    .findings();
            assertThat(findings)
                    .as(damage)
                    .anySatisfy(x -> {
                        assertThat(x.object()).isEqualTo("chunks/index/" + pack + ChunkStore.INDEX_SUFFIX);
                        assertThat(x.message())
                                .contains("the chunk index of pack " + pack + " is damaged")
                                .contains("1 of the pack's")
                                .contains(f[0]);
                    })
                    .anySatisfy(x -> assertThat(x.message())
                            .contains("cannot be restored")
                            .contains(a.manifest().id()))
                    .hasSize(2);
        }
    }

    @Test
    void aCollectionNeverRewritesEncryptedBytesItCannotProveSoundUnderAFreshIndex() throws IOException {
        for (boolean version1 : new boolean[] {true, false}) {
            Path run = dir.resolve("repo");
            FileTrees.delete(run);
            setUp();
            byte[] content = ChunkedArtifactTest.data(8, 6 << 20);
            ChunkedArtifactTest.Stored whole = store(content, "alice");
            repo.writeManifest(whole.manifest(), null);
            ChunkedArtifactTest.Stored head = store(Arrays.copyOf(content, 3 << 20), "alice");
            repo.writeManifest(head.manifest(), null);
            List<String> shared = new ArrayList<>(ids(head));
            shared.retainAll(ids(whole));
            assertThat(shared).isNotEmpty();
            if (version1) {
                toVersion1();
            }
            Path pack = flipInChunk(shared.get(0)); // a chunk the remaining backup needs
            repo.deleteBackup("db", whole.manifest().id()); // the pack is now mostly garbage

            ChunkCollection gc =
                    new ChunkGc(repo, Clock.systemUTC(), Duration.ofMinutes(1), Duration.ofSeconds(1)).collect(false);
            assertThat(gc.packsRewritten()).as("version 1: %s", version1).isZero();
            assertThat(pack).as("the pack that holds the damaged chunk stays").exists();
            repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());
            assertThat(repo.chunks().locate(shared.get(0)))
                    .as("no fresh index vouches for the damaged bytes")
                    .extracting(ChunkStore.Location::pack)
                    .containsOnly(pack.getFileName().toString().replace(ChunkStore.PACK_SUFFIX, ""));
        }
    }

    @Test
    void withoutTheKeyFileTheKeyComesFromTheRepositoryOpenedWithTheSecretKey() throws IOException {
        byte[] content = ChunkedArtifactTest.data(2, 3 << 20);
        ChunkedArtifactTest.Stored a = store(content, "alice");
        try (Stream<Path> keys = Files.list(dir.resolve("repo/chunks/keys"))) {
            assertThat(keys.map(p -> p.getFileName().toString()).toList())
                    .singleElement()
                    .asString()
                    .matches("[0-9a-f]{16}\\.key\\.[0-9a-f]{16}\\.toy");
        }
        repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now()); // no key file
        assertThat(read(a)).isEqualTo(content);

        Path other = dir.resolve("other.key");
        Files.writeString(other, "ff".repeat(32));
        Files.setPosixFilePermissions(other, PosixFilePermissions.fromString("rw-------"));
        repo.chunkKeyFile(other); // another key: the repository's copy of the right one is used
        assertThat(read(a)).isEqualTo(content);

        repo.chunkKeyFile(null);
        assertThatThrownBy(() ->
                        repo.openDecoded(a.manifest(), a.artifact(), new StreamCodecs(Compression.ZSTD, 3, 2), null))
                .isInstanceOf(DrException.class)
                .hasMessageContaining("setting 'secret-key'")
                .hasMessageContaining("setting 'dedup-key-file'");
    }

    @Test
    void aPlantedCopyOfTheChunkKeyThatOpensToAnotherKeyDoesNotHideTheRealOne() throws IOException {
        ChunkedArtifactTest.Stored a = store(ChunkedArtifactTest.data(7, 2 << 20), "alice");
        Path real;
        try (Stream<Path> keys = Files.list(dir.resolve("repo/chunks/keys"))) {
            real = keys.findFirst().orElseThrow();
        }
        // anyone can encrypt to alice's public key: a copy named to be listed first, holding another key
        String name = real.getFileName().toString();
        Path planted = real.resolveSibling(name.substring(0, name.indexOf(".key.") + 5) + "0".repeat(16) + ".toy");
        ByteArrayOutputStream forged = new ByteArrayOutputStream();
        try (OutputStream out = toy("alice").encrypt(forged, "chunk key")) {
            out.write(("ee".repeat(32) + "\n").getBytes(StandardCharsets.US_ASCII));
        }
        Files.write(planted, forged.toByteArray());

        repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now()); // no key file
        assertThat(read(a)).isEqualTo(ChunkedArtifactTest.data(7, 2 << 20));

        Files.delete(real); // with only the planted copy left: said as such
        assertThatThrownBy(() -> read(a))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("is not key")
                .hasMessageContaining("setting 'dedup-key-file'");
    }

    /** Opens only what is encrypted to {@code who}, as a secret key does. */
    static DecryptionStage toyOpen(String who) {
        return new DecryptionStage() {
            @Override
            public String codecName() {
                return "toy";
            }

            @Override
            public InputStream decrypt(InputStream stored, String what) throws IOException {
                byte[] head = ("TOY:" + who + "\n").getBytes(StandardCharsets.US_ASCII);
                if (!Arrays.equals(stored.readNBytes(head.length), head)) {
                    throw new DrException(DrException.ErrorCode.DECRYPTION, what + " is not encrypted to " + who);
                }
                return TOY_OPEN.decrypt(new SequenceInputStream(new ByteArrayInputStream(head), stored), what);
            }
        };
    }

    @Test
    void targetsEncryptedToDifferentRecipientsEachFindTheirOwnCopyOfTheChunkKey() throws IOException {
        byte[] content = ChunkedArtifactTest.data(4, 2 << 20);
        ChunkedArtifactTest.Stored alice = store(content, "alice");
        ChunkedArtifactTest.Stored bob = store(content, "bob"); // the same key file, other recipients
        try (Stream<Path> keys = Files.list(dir.resolve("repo/chunks/keys"))) {
            assertThat(keys.toList()).hasSize(2);
        }
        repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now()); // no key file
        for (var s : List.of(alice, bob)) {
            String who = s == alice ? "alice" : "bob";
            try (InputStream in = repo.openDecoded(
                    s.manifest(), s.artifact(), new StreamCodecs(Compression.ZSTD, 3, 2, null, toyOpen(who)), null)) {
                assertThat(in.readAllBytes()).as(who).isEqualTo(content);
            }
        }
        // a secret key of neither: said as such, naming the settings that help
        assertThatThrownBy(() -> repo.openDecoded(
                                bob.manifest(),
                                bob.artifact(),
                                new StreamCodecs(Compression.ZSTD, 3, 2, null, toyOpen("carol")),
                                null)
                        .readAllBytes())
                .isInstanceOf(DrException.class)
                .hasMessageContaining("none of the 2 stored copies of chunk key")
                .hasMessageContaining("setting 'dedup-key-file'");
    }

    @Test
    void aChunkForgedWithThePublicKeyIsRejected() throws IOException {
        byte[] content = ChunkedArtifactTest.data(3, 2 << 20);
        ChunkedArtifactTest.Stored a = store(content, "alice");
        Path pack;
        try (Stream<Path> packs = Files.list(dir.resolve("repo/chunks/packs"))) {
            pack = packs.filter(f -> f.toString().endsWith(".pack")).findFirst().orElseThrow();
        }
        // the attacker encrypts a well-formed frame of other bytes of the same length to alice,
        // appends it to the pack and points the chunk's index entry at it
        Path idx =
                dir.resolve("repo/chunks/index/" + pack.getFileName().toString().replace(".pack", ".idx"));
        List<String> lines = new ArrayList<>(Files.readAllLines(idx));
        String[] head = lines.get(0).split(" ");
        String[] entry = lines.get(1).split(" ");
        int rawLength = Integer.parseInt(entry[4]);
        byte[] other = new byte[rawLength];
        Arrays.fill(other, (byte) 'x');
        ByteArrayOutputStream forged = new ByteArrayOutputStream();
        try (OutputStream enc = toy("alice").encrypt(forged, "forged")) {
            enc.write(Zstd.compress(other));
        }
        long offset = Files.size(pack);
        Files.write(pack, forged.toByteArray(), StandardOpenOption.APPEND);
        head[3] = Long.toString(offset + forged.size());
        lines.set(0, String.join(" ", head));
        lines.set(
                1,
                String.join(
                        " ",
                        entry[0],
                        entry[1],
                        Long.toString(offset),
                        Integer.toString(forged.size()),
                        entry[4],
                        ChunkStore.crc32c(forged.toByteArray())));
        Files.write(idx, (String.join("\n", lines) + "\n").getBytes(StandardCharsets.US_ASCII));
        repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());
        repo.chunkKeyFile(keyFile);
        assertThatThrownBy(() -> read(a))
                .isInstanceOf(ChecksumMismatchException.class)
                .hasMessageContaining("does not decode to its bytes");
    }

    @Test
    void aMissingOrOpenKeyFileIsAClearConfigurationError() throws IOException {
        repo.chunkKeyFile(null);
        assertThatThrownBy(() -> store(new byte[] {1, 2, 3}, "alice"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("'dedup-key-file'");
        Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-r--r--"));
        repo.chunkKeyFile(keyFile);
        assertThatThrownBy(() -> store(new byte[] {1, 2, 3}, "alice")).isInstanceOf(ConfigException.class);
        Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));
        Files.writeString(keyFile, "not hex");
        assertThatThrownBy(() -> store(new byte[] {1, 2, 3}, "alice"))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("64 hex digits");
    }
}
