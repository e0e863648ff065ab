package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrKit;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.support.PrivateScratch;
import dev.drkit.spi.support.SideFiles;
import java.io.ByteArrayInputStream;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * wal-fetch writes a segment beside its target in pg_wal and renames it; one killed midway
 * (recovery stopped with kill -9, a host crash) left a 16 MiB file there that PostgreSQL never
 * removes, one more with every kill. The next fetch into the directory removes it.
 */
class WalFetchLeftoverTest {
    @TempDir
    Path dir;

    @Test
    void aFetchRemovesWhatAKilledFetchLeftInPgWalAndKeepsARunningOnes() throws Exception {
        Path dataDir = WalFetchHeaderTest.dataDirectory(dir, WalPrefetchTest.SYSTEM_ID, ByteOrder.LITTLE_ENDIAN);
        Path pgWal = dataDir.resolve("pg_wal");
        Path target = pgWal.resolve("RECOVERYXLOG");
        // a fetch of this boot whose process is gone (no process has a pid above 2^22) ...
        Path killed = Files.write(
                pgWal.resolve(
                        "RECOVERYXLOG.drkit-" + ((1L << 22) + 7) + "-" + PrivateScratch.processStart() + "-0badc0de"),
                new byte[4096]);
        // ... and one still running (this process)
        Path running = Files.write(SideFiles.beside(target), new byte[4096]);

        String five = new WalSegment(1, 5, WalPrefetchTest.SIZE).name();
        byte[] whole = WalPrefetchTest.segmentBytes(1, 5, WalPrefetchTest.SYSTEM_ID, 0);
        try (DrKit kit =
                DrKit.builder().repository(dir.resolve("repo").toString()).build()) {
            FileArchive archive = kit.archive(WalArchive.AREA);
            archive.put(
                    WalArchive.path(WalPrefetchTest.SYSTEM_ID, five), new ByteArrayInputStream(whole), stored -> false);
            assertThat(new WalArchive(archive).fetch(five, target, dataDir)).isTrue();
        }

        assertThat(target).hasBinaryContent(whole);
        try (Stream<Path> s = Files.list(pgWal)) {
            assertThat(s.map(p -> p.getFileName().toString()))
                    .containsExactlyInAnyOrder(
                            "RECOVERYXLOG", running.getFileName().toString());
        }
        assertThat(killed).doesNotExist();
    }
}
