package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ConfigException;
import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.DrKit;
import dev.drkit.ObjectExistsException;
import dev.drkit.spi.FileArchive;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The names {@code wal-stream} and a promoted standby's archiver give the old timeline's last,
 * incomplete segment, in a real repository: both are kept, and a restore finds one.
 */
class WalArchiveTest {
    static final long SIZE = WalPrefetchTest.SIZE;
    static final long SYSTEM_ID = WalPrefetchTest.SYSTEM_ID;

    @TempDir
    Path dir;

    Path dataDir;
    DrKit kit;
    FileArchive archive;
    WalArchive wal;
    String segment;

    @BeforeEach
    void setUp() throws IOException {
        dataDir = Files.createDirectories(dir.resolve("data/global")).getParent();
        Files.write(
                dataDir.resolve("global/pg_control"),
                ByteBuffer.allocate(16)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(SYSTEM_ID)
                        .array());
        kit = DrKit.builder().repository(dir.resolve("repo").toString()).build();
        archive = kit.archive(WalArchive.AREA);
        wal = new WalArchive(archive);
        segment = new WalSegment(1, 3, SIZE).name();
    }

    @AfterEach
    void tearDown() {
        kit.close();
    }

    /** What the standby's archiver hands to archive_command: the whole old segment file. */
    private Path standbysPartial(int seed) throws IOException {
        Path f = Files.createDirectories(dir.resolve("pg_wal-" + seed)).resolve(segment + ".partial");
        Files.write(f, WalPrefetchTest.segmentBytes(1, 3, SYSTEM_ID, seed));
        return f;
    }

    /** The first {@code bytes} bytes of the segment, as a streamer received them. */
    private static byte[] streamed(int bytes) {
        return Arrays.copyOf(WalPrefetchTest.segmentBytes(1, 3, SYSTEM_ID, 0), bytes);
    }

    private void store(String name, byte[] bytes) throws IOException {
        archive.put(WalArchive.path(SYSTEM_ID, name), new ByteArrayInputStream(bytes), stored -> false);
    }

    private byte[] stored(String name) throws IOException {
        try (InputStream in = archive.open(WalArchive.path(SYSTEM_ID, name)).orElseThrow()) {
            return in.readAllBytes();
        }
    }

    private byte[] fetched() throws IOException {
        Path target = dir.resolve("RECOVERYXLOG");
        assertThat(wal.fetch(segment, target, dataDir)).isTrue();
        return Files.readAllBytes(target);
    }

    /** Timeline 2's history file: timeline 1 ended {@code offset} bytes into the segment. */
    private void timeline2BranchedAt(long offset) throws IOException {
        Path f = Files.createDirectories(dir.resolve("history")).resolve("00000002.history");
        Files.writeString(
                f, "1\t0/" + Long.toHexString(3 * SIZE + offset).toUpperCase() + "\tno recovery target specified\n");
        wal.push(f, dataDir);
    }

    @Test
    void aPromotedStandbysPartialIsStoredBesideTheStreamersCopyAndRecoveryReadsWhatTheFollowedTimelineHolds()
            throws IOException {
        store(WalArchive.streamedName(segment), streamed(8192));

        assertThat(wal.push(standbysPartial(0), dataDir)).isEqualTo(FileArchive.PutResult.STORED);
        assertThat(wal.push(standbysPartial(0), dataDir)).isEqualTo(FileArchive.PutResult.ALREADY_STORED);
        assertThat(stored(segment + ".partial")).isEqualTo(WalPrefetchTest.segmentBytes(1, 3, SYSTEM_ID, 0));
        assertThat(stored(WalArchive.streamedName(segment))).isEqualTo(streamed(8192));

        // the standby had less than the streamer when it was promoted: a recovery along timeline 2
        // (the latest, or named) gets timeline 1 only up to where timeline 2 branched off, never
        // what the old primary wrote after it (which the streamer received)
        timeline2BranchedAt(4096);
        for (WalArchive alongTimeline2 : List.of(wal, wal.following(2))) {
            wal = alongTimeline2;
            byte[] served = fetched();
            assertThat(served).hasSize((int) SIZE);
            assertThat(Arrays.copyOf(served, 4096)).isEqualTo(streamed(4096));
            assertThat(Arrays.copyOfRange(served, 4096, served.length)).containsOnly(0);
        }

        // a recovery along timeline 1 gets everything the streamer received of it, padded
        wal = wal.following(1);
        byte[] served = fetched();
        assertThat(Arrays.copyOf(served, 8192)).isEqualTo(streamed(8192));
        assertThat(Arrays.copyOfRange(served, 8192, served.length)).containsOnly(0);
    }

    @Test
    void theFollowedTimelinesHistoryDecidesWhereTheOldTimelineEnds() throws IOException {
        store(WalArchive.streamedName(segment), streamed(16384));
        wal.push(standbysPartial(0), dataDir);
        history("00000002.history", "1\t0/302000\tno recovery target specified\n"); // 8192 into segment 3
        history("00000003.history", "1\t0/302000\tx\n2\t0/304000\ty\n"); // timeline 2 went on to 16384

        byte[] latest = fetched(); // timeline 3 descends from timeline 1 through 2: 8192 bytes of timeline 1
        assertThat(Arrays.copyOf(latest, 8192)).isEqualTo(streamed(8192));
        assertThat(Arrays.copyOfRange(latest, 8192, latest.length)).containsOnly(0);
        wal = wal.following(3);
        assertThat(fetched()).isEqualTo(latest);
    }

    @Test
    void aWholeOldTimelineSegmentIsServedOnlyUpToTheBranchAndLaterOnesNotAtAll() throws IOException {
        // the old primary wrote on after its standby was promoted and archived whole segments
        Path f = Files.createDirectories(dir.resolve("out")).resolve(segment);
        Files.write(f, WalPrefetchTest.segmentBytes(1, 3, SYSTEM_ID, 0));
        wal.push(f, dataDir);
        String next = new WalSegment(1, 4, SIZE).name();
        Path g = dir.resolve("out").resolve(next);
        Files.write(g, WalPrefetchTest.segmentBytes(1, 4, SYSTEM_ID, 0));
        wal.push(g, dataDir);
        timeline2BranchedAt(4096);

        byte[] served = fetched();
        assertThat(served).hasSize((int) SIZE);
        assertThat(Arrays.copyOf(served, 4096)).isEqualTo(streamed(4096));
        assertThat(Arrays.copyOfRange(served, 4096, served.length)).containsOnly(0);
        assertThat(wal.fetch(next, dir.resolve("NEXT"), dataDir)).isFalse();
        // along timeline 1 both are whole
        WalArchive alongOld = new WalArchive(archive).following(1);
        assertThat(alongOld.fetch(next, dir.resolve("NEXT"), dataDir)).isTrue();
        wal = alongOld;
        assertThat(fetched()).isEqualTo(WalPrefetchTest.segmentBytes(1, 3, SYSTEM_ID, 0));
    }

    @Test
    void aBranchAtTheSegmentsStartLeavesNothingOfItToServe() throws IOException {
        store(WalArchive.streamedName(segment), streamed(8192));
        timeline2BranchedAt(0);

        assertThat(wal.fetch(segment, dir.resolve("RECOVERYXLOG"), dataDir)).isFalse();
    }

    @Test
    void aPartialIsCreditedOnlyWithWalUpToWhereItsOwnTimelineEnded() throws IOException {
        // timeline 2 left timeline 1 at 4096 (its standby's .partial), timeline 3 at 8192
        store(WalArchive.streamedName(segment), streamed(16384));
        byte[] standbys = WalPrefetchTest.segmentBytes(1, 3, SYSTEM_ID, 0);
        Arrays.fill(standbys, 4096, standbys.length, (byte) 0);
        Path p = Files.createDirectories(dir.resolve("pg_wal")).resolve(segment + ".partial");
        Files.write(p, standbys);
        wal.push(p, dataDir);
        history("00000002.history", "1\t0/301000\tx\n");
        history("00000003.history", "1\t0/302000\ty\n");

        byte[] served = fetched(); // along timeline 3: timeline 1 up to 8192, from the streamer's copy
        assertThat(Arrays.copyOf(served, 8192)).isEqualTo(streamed(8192));
        assertThat(Arrays.copyOfRange(served, 8192, served.length)).containsOnly(0);
    }

    @Test
    void aPartialWithoutAHeaderDoesNotTurnTheCapOffAndCopiesThatDisagreeAreDamage() throws IOException {
        store(WalArchive.streamedName(segment), streamed(16384));
        store(segment + ".partial", streamed(32)); // an early streamer's, too short for a page header
        timeline2BranchedAt(4096);

        byte[] served = fetched();
        assertThat(Arrays.copyOf(served, 4096)).isEqualTo(streamed(4096));
        assertThat(Arrays.copyOfRange(served, 4096, served.length)).containsOnly(0);

        byte[] otherSize = streamed(64);
        ByteBuffer.wrap(otherSize).order(ByteOrder.LITTLE_ENDIAN).putInt(32, (int) (SIZE * 2)); // xlp_seg_size
        archive.delete(WalArchive.path(SYSTEM_ID, segment + ".partial"));
        store(segment + ".partial", otherSize);
        assertThatThrownBy(() -> wal.fetch(segment, dir.resolve("RECOVERYXLOG"), dataDir))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("one is damaged");
    }

    @Test
    void aTimelineOutsideTheRangeIsRefused() {
        assertThatThrownBy(() -> wal.following(-1)).isInstanceOf(ConfigException.class);
        assertThatThrownBy(() -> WalArchive.timelineToFollow("newest", 1)).hasMessageContaining("latest, current");
        assertThatThrownBy(() -> WalArchive.timelineToFollow("010", 1)).hasMessageContaining("latest, current");
        assertThatThrownBy(() -> WalArchive.timelineToFollow("current", null))
                .hasMessageContaining("records no timeline");
        assertThat(WalArchive.timelineToFollow("current", 4)).isEqualTo(4);
        assertThat(WalArchive.timelineToFollow("latest", 4)).isEqualTo(WalArchive.LATEST);
        assertThat(WalArchive.timelineToFollow("7", 4)).isEqualTo(7);
    }

    private void history(String name, String text) throws IOException {
        Path f = Files.createDirectories(dir.resolve("history")).resolve(name);
        Files.writeString(f, text);
        wal.push(f, dataDir);
    }

    @Test
    void theSwitchPointComesFromWhicheverLaterTimelineBranchedOffInThisSegment() throws IOException {
        store(WalArchive.streamedName(segment), streamed(8192));
        wal.push(standbysPartial(0), dataDir);
        history("00000002.history", "1\t0/180000\tbefore transaction 740\n"); // in segment 1
        history("00000003.history", "1\t0/301000\tno recovery target specified\n"); // 4096 into segment 3

        assertThat(Arrays.copyOfRange(fetched(), 4096, (int) SIZE)).containsOnly(0);
    }

    @Test
    void malformedHistoryLinesAreSkipped() throws IOException {
        store(WalArchive.streamedName(segment), streamed(8192));
        wal.push(standbysPartial(0), dataDir);
        history(
                "00000002.history",
                "# comment\n1\n1\tFFFFFFFFFFFFFFFFF/0\tx\n\u0000\u0000\nx\t0/301000\n1\t0/301000\tno target\n");

        assertThat(Arrays.copyOfRange(fetched(), 8192, (int) SIZE)).containsOnly(0);
    }

    @Test
    void aHistoryFileThatSaysNothingUsableLeavesTheWholePartial() throws IOException {
        store(WalArchive.streamedName(segment), streamed(8192));
        wal.push(standbysPartial(0), dataDir);
        history("00000002.history", "# comment\n1\n1\tFFFFFFFFFFFFFFFFF/0\tx\nx\t0/301000\n");

        assertThat(fetched()).isEqualTo(WalPrefetchTest.segmentBytes(1, 3, SYSTEM_ID, 0));
    }

    @Test
    void aStandbyPromotedAfterTheStreamerStoppedHasTheLongerCopy() throws IOException {
        store(WalArchive.streamedName(segment), streamed(8192)); // stored when the streamer last stopped
        wal.push(standbysPartial(0), dataDir);
        timeline2BranchedAt(65536);

        byte[] served = fetched(); // the standby's copy, up to where timeline 2 began
        assertThat(Arrays.copyOf(served, 65536))
                .isEqualTo(Arrays.copyOf(WalPrefetchTest.segmentBytes(1, 3, SYSTEM_ID, 0), 65536));
        assertThat(Arrays.copyOfRange(served, 65536, served.length)).containsOnly(0);
    }

    @Test
    void withoutTheStreamersCopyRecoveryReadsTheStandbysPartial() throws IOException {
        wal.push(standbysPartial(0), dataDir);

        assertThat(fetched()).isEqualTo(WalPrefetchTest.segmentBytes(1, 3, SYSTEM_ID, 0));
        assertThat(wal.containsIncomplete(SYSTEM_ID, segment)).isTrue();
        assertThat(wal.containsIncomplete(SYSTEM_ID, new WalSegment(1, 4, SIZE).name()))
                .isFalse();
    }

    @Test
    void anEarlierStreamersPartialIsSetAsideSoThePromotedStandbysIsStored() throws IOException {
        store(segment + ".partial", streamed(8192)); // what wal-stream stored before it had a name of its own

        assertThat(wal.push(standbysPartial(0), dataDir)).isEqualTo(FileArchive.PutResult.STORED);

        assertThat(stored(segment + ".partial")).isEqualTo(WalPrefetchTest.segmentBytes(1, 3, SYSTEM_ID, 0));
        assertThat(stored(WalArchive.streamedName(segment))).isEqualTo(streamed(8192));
        assertThat(Arrays.copyOf(fetched(), 8192)).isEqualTo(streamed(8192));
        // another standby's partial of the same segment, other bytes: refused, the stored one kept
        assertThatThrownBy(() -> wal.push(standbysPartial(1), dataDir)).isInstanceOf(ObjectExistsException.class);
        assertThat(stored(segment + ".partial")).isEqualTo(WalPrefetchTest.segmentBytes(1, 3, SYSTEM_ID, 0));
    }

    @Test
    void settingAsideKeepsTheLongerOfTwoStreamedCopies() throws IOException {
        store(WalArchive.streamedName(segment), streamed(4096));
        store(segment + ".partial", streamed(8192));
        wal.push(standbysPartial(0), dataDir);
        assertThat(stored(WalArchive.streamedName(segment))).isEqualTo(streamed(8192));

        segment = new WalSegment(1, 4, SIZE).name();
        byte[] longer = Arrays.copyOf(WalPrefetchTest.segmentBytes(1, 4, SYSTEM_ID, 0), 16384);
        byte[] shorter = Arrays.copyOf(longer, 8192);
        store(WalArchive.streamedName(segment), longer);
        store(segment + ".partial", shorter);
        Path f = Files.createDirectories(dir.resolve("pg_wal-4")).resolve(segment + ".partial");
        Files.write(f, WalPrefetchTest.segmentBytes(1, 4, SYSTEM_ID, 0));
        assertThat(wal.push(f, dataDir)).isEqualTo(FileArchive.PutResult.STORED);
        assertThat(stored(WalArchive.streamedName(segment))).isEqualTo(longer);
    }

    @Test
    void anEarlierStreamersEncryptedPartialThatCannotBeReadIsNotDeletedAndTheMessageSaysWhy() throws IOException {
        store(segment + ".partial", streamed(8192));
        FileArchive withoutKey = new ForwardingFileArchive(archive) {
            @Override
            public Optional<InputStream> open(String path) {
                throw new DrException(DrException.ErrorCode.DECRYPTION, path + " is encrypted and no key was given");
            }
        };

        assertThatThrownBy(() -> new WalArchive(withoutKey).push(standbysPartial(0), dataDir))
                .isInstanceOf(DrException.class)
                .hasMessageContaining(segment + ".partial is not archived")
                .hasMessageContaining("needs the secret key")
                .hasMessageContaining("'secret-key'");
        assertThat(stored(segment + ".partial")).isEqualTo(streamed(8192));
    }

    @Test
    void aStoredPartialAsLongAsThePushedOneIsNeverSetAside() throws IOException {
        wal.push(standbysPartial(0), dataDir);

        assertThatThrownBy(() -> wal.push(standbysPartial(1), dataDir)).isInstanceOf(ObjectExistsException.class);

        assertThat(stored(segment + ".partial")).isEqualTo(WalPrefetchTest.segmentBytes(1, 3, SYSTEM_ID, 0));
        assertThat(archive.info(WalArchive.path(SYSTEM_ID, WalArchive.streamedName(segment))))
                .isEmpty();
    }

    @Test
    void aStreamersCopyIsNotAFileArchiveCommandTakes() {
        Path f = dir.resolve(WalArchive.streamedName(segment));
        assertThat(WalArchive.isWalFileName(f.getFileName().toString())).isFalse();
        assertThatThrownBy(() -> wal.push(f, dataDir)).hasMessageContaining("is not a WAL file name");
    }
}
