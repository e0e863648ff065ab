package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.ArtifactInfo;
import dev.drkit.CheckOptions;
import dev.drkit.CheckReport;
import dev.drkit.internal.pipeline.Compression;
import dev.drkit.spi.support.BackupIds;
import dev.drkit.spi.support.Sha256;
import dev.drkit.storage.FileStorageBackend;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nothing but the manifest's checksum vouches for a chunk list, and anyone who can write the
 * repository can write both: a check, the tool for a repository one suspects, must not keep
 * what it found for each of the millions of chunk ids such lists can name (one list of
 * MAX_LIST bytes names some 3.5 million, about a gigabyte kept), only for chunks the index
 * knows, whose number the heap already bounds.
 */
class ForgedChunkListCheckTest {
    @TempDir
    Path dir;

    @Test
    void aCheckKeepsNothingPerChunkIdThatNoIndexLists() throws IOException {
        Repository repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());
        repo.initialise();
        Instant at = Instant.parse("2026-12-01T00:00:00Z");
        ChunkedArtifactTest.Stored real = ChunkedArtifactTest.store(
                repo, at, new StreamCodecs(Compression.ZSTD, 3, 2), ChunkedArtifactTest.data(41, 2 << 20));
        repo.writeManifest(real.manifest(), null);

        int forged = 20_000;
        StringBuilder list = new StringBuilder(ChunkedArtifactWriter.LIST_HEADER + " " + ChunkCodec.SHA256 + "\n");
        Random r = new Random(41);
        byte[] id = new byte[32];
        for (int i = 0; i < forged; i++) {
            r.nextBytes(id);
            list.append(HexFormat.of().formatHex(id)).append(" 1\n");
        }
        byte[] bytes = list.toString().getBytes(StandardCharsets.US_ASCII);
        String backup = BackupIds.next(at.plusSeconds(60));
        Path folder = Files.createDirectories(dir.resolve("repo/backups/db/" + backup));
        Files.write(folder.resolve("dump.bin.chunks"), bytes);
        String sha = Sha256.hex(bytes, 0, bytes.length);
        Files.writeString(folder.resolve("dump.bin.chunks.sha256"), Sha256.sidecar(sha, "dump.bin.chunks"));
        ArtifactInfo a = new ArtifactInfo(
                "dump.bin",
                "dump.bin.chunks",
                forged,
                bytes.length,
                sha,
                "00000000",
                ChunkedArtifactWriter.CHAIN,
                List.of());
        repo.writeManifest(ChunkedArtifactTest.manifest(backup, at.plusSeconds(60), a), null);

        RepositoryCheck check =
                new RepositoryCheck(repo, Clock.systemUTC(), Duration.ofMinutes(5), null, found -> Set.of());
        List<CheckReport.Finding> findings =
                check.run(CheckOptions.catalogOnly()).findings();

        assertThat(findings)
                .singleElement()
                .satisfies(f -> assertThat(f.message())
                        .contains(backup)
                        .contains(forged + " of its " + forged + " chunks are missing or damaged")
                        .contains("is in no chunk index"));
        assertThat(check.chunksRemembered())
                .as("only the real backup's chunks, which the index lists")
                .isEqualTo(real.writer().chunks());
    }
}
