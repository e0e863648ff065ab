package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.CheckOptions;
import dev.drkit.CheckReport;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.storage.FileStorageBackend;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A check that reads the data runs for as long as it takes to read every pack; a prune on
 * another host may repack meanwhile (the chunks go into a new pack, the old index and pack are
 * removed). A pack that went between the check's listing and its reading is no damage, and the
 * backups whose chunks moved with it still restore: neither may be reported.
 */
class CheckDuringRepackTest {
    @TempDir
    Path dir;

    /** What a collection's rewrite leaves: the same chunks in a new pack, indexed, and the old pack gone. */
    private static void repack(Path root, String packKey) throws IOException {
        String old = packKey.substring(ChunkStore.PACKS.length(), packKey.length() - ChunkStore.PACK_SUFFIX.length());
        String fresh = "f".repeat(32);
        Path packs = root.resolve(ChunkStore.PACKS);
        Path index = root.resolve(ChunkStore.INDEX);
        Files.copy(packs.resolve(old + ".pack"), packs.resolve(fresh + ".pack"));
        Files.writeString(
                packs.resolve(fresh + ".pack.sha256"),
                Files.readString(packs.resolve(old + ".pack.sha256")).replace(old, fresh));
        Files.writeString(
                index.resolve(fresh + ".idx"),
                Files.readString(index.resolve(old + ".idx"), StandardCharsets.US_ASCII)
                        .replace(old, fresh),
                StandardCharsets.US_ASCII);
        Files.delete(index.resolve(old + ".idx"));
        Files.delete(packs.resolve(old + ".pack"));
        Files.delete(packs.resolve(old + ".pack.sha256"));
    }

    private List<CheckReport.Finding> checkWhileRepacking(StreamCodecs codecs) throws IOException {
        Path root = dir.resolve("repo");
        Repository repo = Repository.open(new FileStorageBackend(root), Instant.now());
        repo.initialise();
        Path keyFile = dir.resolve("chunk.key");
        Files.writeString(keyFile, "0123456789abcdef".repeat(4) + "\n");
        Files.setPosixFilePermissions(keyFile, PosixFilePermissions.fromString("rw-------"));
        repo.chunkKeyFile(keyFile);
        ChunkedArtifactTest.Stored s = ChunkedArtifactTest.store(
                repo, Instant.parse("2026-12-01T00:00:00Z"), codecs, ChunkedArtifactTest.data(31, 3 << 20));
        repo.writeManifest(s.manifest(), null);
        return new RepositoryCheck(
                        Repository.open(
                                RacingStorage.beforeFirstPackRead(
                                        new FileStorageBackend(root), packKey -> repack(root, packKey)),
                                Instant.now()),
                        Clock.systemUTC(),
                        Duration.ofMinutes(5),
                        null,
                        found -> Set.of())
                .run(CheckOptions.readAllData())
                .findings();
    }

    @Test
    void aPackRepackedWhileAnEncryptedStoreIsCheckedIsNotReportedNorAreItsBackups() throws IOException {
        StreamCodecs toy = new StreamCodecs(Compression.ZSTD, 3, 2, EncryptedChunksTest.toy("alice"), null);
        assertThat(checkWhileRepacking(toy)).isEmpty();
    }

    @Test
    void aPackRepackedWhileAPlainStoreIsCheckedIsNotReported() throws IOException {
        assertThat(checkWhileRepacking(new StreamCodecs(Compression.ZSTD, 3, 2)))
                .isEmpty();
    }
}
