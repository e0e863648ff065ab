package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.CorruptDataException;
import dev.drkit.DrKit;
import dev.drkit.spi.FileArchive;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * wal-fetch serves under a segment's name only bytes whose page header fits it, as push and the
 * prefetch check them: PostgreSQL takes a header that does not fit for the end of WAL, so
 * another segment's bytes (planted under the name), another cluster's, or a copy cut short would
 * end recovery early without an error.
 */
class WalFetchHeaderTest {
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
        dataDir = dataDirectory(dir, SYSTEM_ID, ByteOrder.LITTLE_ENDIAN);
        kit = DrKit.builder().repository(dir.resolve("repo").toString()).build();
        archive = kit.archive(WalArchive.AREA);
        wal = new WalArchive(archive);
    }

    @AfterEach
    void tearDown() {
        kit.close();
    }

    /**
     * A data directory for fetches: {@code global/pg_control} beginning with {@code systemId} in
     * {@code order} (a big-endian server writes it so), and an empty {@code pg_wal}.
     */
    static Path dataDirectory(Path dir, long systemId, ByteOrder order) throws IOException {
        Path data = Files.createDirectories(dir.resolve("data/global")).getParent();
        Files.write(
                data.resolve("global/pg_control"),
                ByteBuffer.allocate(16).order(order).putLong(systemId).array());
        Files.createDirectories(data.resolve("pg_wal"));
        return data;
    }

    private void store(String name, byte[] bytes) throws IOException {
        archive.put(WalArchive.path(SYSTEM_ID, name), new ByteArrayInputStream(bytes), stored -> false);
    }

    @Test
    void theSegmentItselfIsServed() throws IOException {
        String five = new WalSegment(1, 5, SIZE).name();
        byte[] whole = WalPrefetchTest.segmentBytes(1, 5, SYSTEM_ID, 0);
        store(five, whole);
        Path target = dataDir.resolve("pg_wal/RECOVERYXLOG");
        assertThat(wal.fetch(five, target, dataDir)).isTrue();
        assertThat(Files.readAllBytes(target)).isEqualTo(whole);
    }

    @Test
    void aSegmentWithBytesAfterItsSizeIsRefused() throws IOException {
        String five = new WalSegment(1, 5, SIZE).name();
        byte[] whole = WalPrefetchTest.segmentBytes(1, 5, SYSTEM_ID, 0);
        store(five, Arrays.copyOf(whole, whole.length + 8192));
        Path target = dataDir.resolve("pg_wal/RECOVERYXLOG");
        assertThatThrownBy(() -> wal.fetch(five, target, dataDir)).isInstanceOf(CorruptDataException.class);
        assertThat(Files.list(target.getParent())).as("nothing left in pg_wal").isEmpty();
    }

    @Test
    void aLaterTimelinesSegmentUnderAnEarlierTimelinesNameIsRefused() throws IOException {
        // PostgreSQL following timeline 1 takes a page of timeline 2 for the end of WAL
        String five = new WalSegment(1, 5, SIZE).name();
        store(five, WalPrefetchTest.segmentBytes(2, 5, SYSTEM_ID, 0));
        Path target = dataDir.resolve("pg_wal/RECOVERYXLOG");
        assertThatThrownBy(() -> wal.fetch(five, target, dataDir))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("timeline 2");
    }

    @Test
    void anEarlierTimelinesPagesStartANewTimelinesSegment() throws IOException {
        // the first segment of timeline 2 begins with the pages timeline 1 wrote before the switch
        String five = new WalSegment(2, 5, SIZE).name();
        byte[] whole = WalPrefetchTest.segmentBytes(1, 5, SYSTEM_ID, 0);
        store(five, whole);
        Path target = dataDir.resolve("pg_wal/RECOVERYXLOG");
        assertThat(wal.fetch(five, target, dataDir)).isTrue();
        assertThat(Files.readAllBytes(target)).isEqualTo(whole);
    }

    @Test
    void anotherSegmentsBytesUnderThisNameAreRefused() throws IOException {
        String five = new WalSegment(1, 5, SIZE).name();
        // segment 6's genuine bytes, stored under segment 5's name
        store(five, WalPrefetchTest.segmentBytes(1, 6, SYSTEM_ID, 0));
        Path target = dataDir.resolve("pg_wal/RECOVERYXLOG");
        // wal-push refuses exactly these bytes under this name ("not where the segment of that name starts");
        // wal-fetch serves them, and PostgreSQL ends recovery at segment 5 ("unexpected pageaddr")
        assertThatThrownBy(() -> wal.fetch(five, target, dataDir)).isInstanceOf(CorruptDataException.class);
        assertThat(Files.list(target.getParent())).as("nothing left in pg_wal").isEmpty();
    }

    @Test
    void anotherClustersSegmentWithoutItsLongHeaderIsRefused() throws IOException {
        String five = new WalSegment(1, 5, SIZE).name();
        byte[] other = WalPrefetchTest.segmentBytes(1, 5, 42L, 0); // another cluster's segment ...
        other[2] &= ~0x02; // ... with the long-header flag cleared: the system-id check is skipped
        store(five, other);
        Path target = dataDir.resolve("pg_wal/RECOVERYXLOG");
        assertThatThrownBy(() -> wal.fetch(five, target, dataDir)).isInstanceOf(CorruptDataException.class);
        assertThat(Files.list(target.getParent())).as("nothing left in pg_wal").isEmpty();
    }

    @Test
    void aSegmentCutShortIsRefused() throws IOException {
        String five = new WalSegment(1, 5, SIZE).name();
        byte[] whole = WalPrefetchTest.segmentBytes(1, 5, SYSTEM_ID, 0);
        store(five, Arrays.copyOf(whole, (int) SIZE / 2)); // half a segment, checksums consistent
        Path target = dataDir.resolve("pg_wal/RECOVERYXLOG");
        assertThatThrownBy(() -> wal.fetch(five, target, dataDir)).isInstanceOf(CorruptDataException.class);
        assertThat(Files.list(target.getParent())).as("nothing left in pg_wal").isEmpty();
    }
}
