package dev.drkit.internal.repo;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.storage.FileStorageBackend;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.HexFormat;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Nothing signs the chunk indexes, and every dedup restore, check, backup or prune loads all of
 * them: one forged 63 MiB index (with no pack behind it) kept 174 MiB of heap, and a dozen ran a
 * 2 GiB heap out. The entries kept are bounded by the heap; past the bound the load ends in a
 * clear error that says what to do.
 */
class ForgedIndexMemoryTest {
    @TempDir
    Path dir;

    /** Writes an index of {@code lines} chunks for a pack that does not exist. */
    private void forgeIndex(Random r, int lines) throws IOException {
        byte[] id = new byte[16];
        r.nextBytes(id);
        String pack = HexFormat.of().formatHex(id);
        StringBuilder index =
                new StringBuilder(ChunkStore.INDEX_HEADER + " " + pack + " " + lines + " " + "0".repeat(64) + "\n");
        byte[] chunk = new byte[32];
        for (int i = 0; i < lines; i++) {
            r.nextBytes(chunk);
            index.append(HexFormat.of().formatHex(chunk))
                    .append(' ')
                    .append(pack)
                    .append(' ')
                    .append(i)
                    .append(" 1 1 00000000\n");
        }
        Path dirOf = Files.createDirectories(dir.resolve("repo/chunks/index"));
        Files.writeString(dirOf.resolve(pack + ".idx"), index, StandardCharsets.US_ASCII);
    }

    @Test
    void indexesListingMoreChunksThanTheHeapCanKeepEndInAClearError() throws IOException {
        Repository repo = Repository.open(new FileStorageBackend(dir.resolve("repo")), Instant.now());
        repo.initialise();
        Random r = new Random(1);
        forgeIndex(r, 1000);
        forgeIndex(r, 1000);
        ChunkStore store = repo.chunks();
        store.maxEntries(2500);
        assertThat(store.refresh().chunks()).hasSize(2000); // within the bound: loaded as ever

        forgeIndex(r, 1000);
        forgeIndex(r, 1000);
        assertThatThrownBy(store::refresh)
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("list more than 2500 chunks")
                .hasMessageContaining("give the JVM more heap")
                .hasMessageContaining("chunks/index/");
        // what was loaded before stays usable
        assertThat(store.index().chunks()).hasSize(2000);
    }
}
