package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrKit;
import dev.drkit.spi.FileArchive;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Push stores a big-endian server's segments (its header check reads both byte orders), and
 * fetch served them; the header check fetch gained refused every one for want of a system
 * identifier read in little-endian order. Such segments are fetched again.
 */
class WalFetchBigEndianTest {
    static final long SIZE = WalPrefetchTest.SIZE;
    static final long SYSTEM_ID = WalPrefetchTest.SYSTEM_ID;

    @TempDir
    Path dir;

    Path dataDir;
    DrKit kit;
    FileArchive archive;
    WalArchive wal;

    @BeforeEach
    void setUp() throws IOException {
        // on a big-endian machine pg_control holds the identifier big-endian: drkit reads it
        // little-endian, as the byte-swapped value; consistent for push and fetch
        dataDir = WalFetchHeaderTest.dataDirectory(dir, SYSTEM_ID, ByteOrder.BIG_ENDIAN);
        kit = DrKit.builder().repository(dir.resolve("repo").toString()).build();
        archive = kit.archive(WalArchive.AREA);
        wal = new WalArchive(archive);
    }

    @AfterEach
    void tearDown() {
        kit.close();
    }

    static byte[] bigEndianSegment(long timeline, long number, long systemId) {
        byte[] b = new byte[(int) SIZE];
        for (int i = 64; i < b.length; i++) {
            b[i] = (byte) (i * 31 + number * 7);
        }
        ByteBuffer.wrap(b)
                .order(ByteOrder.BIG_ENDIAN)
                .putShort(0, (short) 0xD110)
                .putShort(2, (short) 0x0006)
                .putInt(4, (int) timeline)
                .putLong(8, number * SIZE)
                .putLong(24, systemId)
                .putInt(32, (int) SIZE)
                .putInt(36, 8192);
        return b;
    }

    @Test
    void aBigEndianSegmentThatPushStoredIsFetched() throws IOException {
        String five = new WalSegment(1, 5, SIZE).name();
        byte[] whole = bigEndianSegment(1, 5, SYSTEM_ID);
        Path f = Files.write(dataDir.resolve("pg_wal").resolve(five), whole);
        wal.push(f, dataDir); // accepted: its header is right in big-endian order
        Path target = dir.resolve("RECOVERYXLOG");
        assertThat(wal.fetch(five, target, dataDir)).isTrue(); // fails: "its header gives no system identifier"
        assertThat(Files.readAllBytes(target)).isEqualTo(whole);
    }
}
