package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.internal.pipeline.Compression;
import dev.drkit.spi.support.Sha256;
import dev.drkit.storage.FileStorageBackend;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Random;
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
        Path list = dir.resolve("repo/backups/db/" + s.manifest().id() + "/dump.bin.chunks");
        List<String> lines = Files.readAllLines(list).stream().skip(1).toList();
        String pack = "0".repeat(32);
        StringBuilder index = new StringBuilder();
        ByteArrayOutputStream packBytes = new ByteArrayOutputStream();
        Random r = new Random(1);
        for (String line : lines) {
            String id = line.split(" ")[0];
            int raw = Integer.parseInt(line.split(" ")[1]);
            ChunkStore.Location real = repo.chunks().locate(id).get(0);
            byte[] garbage = new byte[real.length()];
            r.nextBytes(garbage);
            index.append(id)
                    .append(' ')
                    .append(pack)
                    .append(' ')
                    .append(packBytes.size())
                    .append(' ')
                    .append(garbage.length)
                    .append(' ')
                    .append(raw)
                    .append(' ')
                    .append(ChunkStore.crc32c(garbage))
                    .append('\n');
            packBytes.writeBytes(garbage);
        }
        byte[] p = packBytes.toByteArray();
        Files.write(dir.resolve("repo/chunks/packs/" + pack + ".pack"), p);
        Files.writeString(
                dir.resolve("repo/chunks/index/" + pack + ".idx"),
                ChunkStore.INDEX_HEADER + " " + pack + " " + p.length + " " + Sha256.hex(p, 0, p.length) + "\n" + index,
                StandardCharsets.US_ASCII);
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
        Repository fresh = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());
        fresh.chunkKeyFile(keyFile);
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
}
