package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.drkit.ArtifactInfo;
import dev.drkit.BackupManifest;
import dev.drkit.DrKit;
import dev.drkit.Settings;
import dev.drkit.VerificationResult;
import dev.drkit.spi.FileArchive;
import dev.drkit.spi.VerificationContext;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The WAL a restore of a base backup replays, checked by name in a real repository's archive. */
class WalContinuityTest {
    private static final long SYSTEM_ID = 7_000_000_000_000_000_123L;
    private static final long SIZE = 16L << 20;

    @TempDir
    Path dir;

    DrKit kit;
    FileArchive archive;

    @BeforeEach
    void setUp() {
        kit = DrKit.builder().repository(dir.resolve("repo").toString()).build();
        archive = kit.archive(WalArchive.AREA);
    }

    @AfterEach
    void tearDown() {
        kit.close();
    }

    private static String name(long timeline, long segment) {
        return new WalSegment(timeline, segment, SIZE).name();
    }

    private void store(String name) throws IOException {
        store(name, "segment " + name);
    }

    private void store(String name, String content) throws IOException {
        archive.put(
                WalArchive.path(SYSTEM_ID, name),
                new ByteArrayInputStream(content.getBytes(StandardCharsets.UTF_8)),
                stored -> false);
    }

    /** Segments {@code first} to {@code last} of {@code timeline}, but those in {@code except}. */
    private void storeRange(long timeline, long first, long last, long... except) throws IOException {
        outer:
        for (long n = first; n <= last; n++) {
            for (long e : except) {
                if (e == n) {
                    continue outer;
                }
            }
            store(name(timeline, n));
        }
    }

    /** Files a signer stores ({@code signed}), then a forger without the key; this test's kit trusts the signer's key. */
    private void signedThenForged(Stores signed, Stores forged) throws IOException {
        kit.close();
        String repo = dir.resolve("repo").toString();
        try (DrKit signing = DrKit.builder()
                .repository(repo)
                .signer(SignedHistoryOfAnotherClusterTest.SIGNER)
                .build()) {
            archive = signing.archive(WalArchive.AREA);
            signed.run();
        }
        try (DrKit forger = DrKit.builder().repository(repo).build()) {
            archive = forger.archive(WalArchive.AREA);
            forged.run();
        }
        kit = DrKit.builder()
                .repository(repo)
                .trustedSignatures(SignedHistoryOfAnotherClusterTest.TRUSTED)
                .build();
        archive = kit.archive(WalArchive.AREA);
    }

    private interface Stores {
        void run() throws IOException;
    }

    /** Flips a bit in the middle of the record of segment {@code name}. */
    private void damageRecord(String name) throws IOException {
        Path record;
        try (Stream<Path> files = Files.walk(dir.resolve("repo"))) {
            record = files.filter(f -> f.getFileName().toString().equals(name + ".info.json"))
                    .findFirst()
                    .orElseThrow();
        }
        byte[] bytes = Files.readAllBytes(record);
        bytes[bytes.length / 2] ^= 1;
        Files.write(record, bytes);
    }

    private VerificationResult verify(long timeline, long start, long stop) throws IOException {
        return verify(timeline, start, stop, stop * SIZE + 0x100, Settings.empty());
    }

    /** A backup that started just inside segment {@code start} and stopped at {@code stopLsn}. */
    private VerificationResult verify(long timeline, long start, long stop, long stopLsn, Settings options)
            throws IOException {
        return new WalContinuity(options).verify(contextWith(meta(SYSTEM_ID, timeline, start, stop, stopLsn)));
    }

    /** The same, with {@code others} the other backups of the target. */
    private VerificationResult verifyAmong(long timeline, long start, long stop, BackupManifest... others)
            throws IOException {
        return new WalContinuity(Settings.empty())
                .verify(contextWith(manifest(ID, meta(SYSTEM_ID, timeline, start, stop, stop * SIZE + 0x100)), others));
    }

    private static Map<String, Object> meta(long system, long timeline, long start, long stop, long stopLsn) {
        Map<String, Object> meta = new HashMap<>();
        meta.put("systemIdentifier", Long.toUnsignedString(system));
        meta.put("walStart", name(timeline, start));
        meta.put("walStop", name(timeline, stop));
        meta.put("walSegmentSize", SIZE);
        meta.put("timeline", timeline);
        meta.put("startLsn", PageVerification.lsn(start * SIZE + 0x28));
        meta.put("stopLsn", PageVerification.lsn(stopLsn));
        return meta;
    }

    /** Another base backup of the target, of {@code system}, that started in segment {@code start}. */
    private static BackupManifest later(String id, long system, long timeline, long start) {
        return manifest(id, meta(system, timeline, start, start + 1, (start + 1) * SIZE + 0x100));
    }

    @Test
    void everySegmentFromTheStartToTheNewestPasses() throws IOException {
        storeRange(1, 0x3FE, 0x480); // across a log boundary (0xFF to 0x100)
        store(name(1, 0x3FD)); // before the backup: not its business
        VerificationResult r = verify(1, 0x400, 0x402);
        assertThat(r.passed()).as(r.problems().toString()).isTrue();
        assertThat(r.details())
                .containsEntry("walFirst", "000000010000000400000000")
                .containsEntry("walNewest", "000000010000000400000080")
                .containsEntry("segmentsMissing", 0L);
    }

    @Test
    void aGapInTheBackupsOwnWalSaysItCannotBeRestored() throws IOException {
        storeRange(1, 0x400, 0x410, 0x401);
        VerificationResult r = verify(1, 0x400, 0x402);
        assertThat(r.status()).isEqualTo(VerificationResult.Status.FAILED);
        assertThat(r.problems())
                .singleElement()
                .asString()
                .contains("segment 000000010000000400000001 is missing")
                .contains("cannot be restored");
    }

    /**
     * Under trusted keys a record nobody signed was counted by its name: anyone who can write the
     * repository could fill a gap in a backup's own WAL with a record of their own, the check
     * passed, and the restore then refused the segment. The records from the start to the stop
     * are read now.
     */
    @Test
    void aRecordOfTheBackupsOwnWalThatNoTrustedKeySignedFailsIt() throws IOException {
        signedThenForged(() -> storeRange(1, 0x400, 0x410, 0x401, 0x408), () -> {
            store(name(1, 0x401), "not the WAL");
            store(name(1, 0x408), "not the WAL either");
        });

        VerificationResult r = verify(1, 0x400, 0x402);
        assertThat(r.status()).isEqualTo(VerificationResult.Status.FAILED);
        assertThat(r.problems())
                .as("only the unsigned record among the backup's own WAL")
                .singleElement()
                .asString()
                .contains("record of WAL segment 000000010000000400000001 cannot be trusted")
                .contains("not signed by a trusted key")
                .contains("cannot be restored");
        assertThat(r.details()).containsEntry("walRecordsRead", 3);
        VerificationResult later = verify(1, 0x403, 0x404);
        assertThat(later.problems())
                .as("a later backup's own WAL is signed; the unsigned record after its stop ends its recovery")
                .singleElement()
                .asString()
                .contains("segment 000000010000000400000008 cannot be used")
                .contains("point-in-time recovery from this backup ends at 4/8000000");
    }

    /**
     * After the stop only names counted: someone who can write the repository could delete
     * segments a point-in-time recovery replays and put records of their own under those names,
     * and the check, and status with it, stayed green while a restore to a time past them failed.
     * The records up to where the next base backup starts are read now; an unsigned one there
     * ends recovery as a gap does.
     */
    @Test
    void aRecordAfterTheStopThatNoTrustedKeySignedEndsPointInTimeRecoveryThere() throws IOException {
        signedThenForged(() -> storeRange(1, 0x400, 0x400 + 200, 0x420), () -> store(name(1, 0x420), "not the WAL"));

        VerificationResult r = verify(1, 0x400, 0x402);
        assertThat(r.status()).isEqualTo(VerificationResult.Status.FAILED);
        assertThat(r.problems())
                .singleElement()
                .asString()
                .contains("segment 000000010000000400000020 cannot be used")
                .contains("record of WAL segment 000000010000000400000020 cannot be trusted")
                .contains("not signed by a trusted key")
                .contains("point-in-time recovery from this backup ends at 4/20000000");
        assertThat(r.details()).containsEntry("walRecordsAfterStopRead", 198).containsEntry("segmentsMissing", 1L);

        // a later base backup starting past it covers the time after: the older one passes, and
        // reads the records only up to that backup's start, whose own check reads on from there
        VerificationResult covered = verifyAmong(1, 0x400, 0x402, later("20260101T000000Z-later", SYSTEM_ID, 1, 0x430));
        assertThat(covered.passed()).as(covered.problems().toString()).isTrue();
        assertThat(covered.details().get("pointInTimeRecoveryEndsAt").toString())
                .contains("4/20000000")
                .contains("missing or not to be used")
                .contains("backup 20260101T000000Z-later covers the time after it");
        assertThat(covered.details()).containsEntry("walRecordsAfterStopRead", 0x430 - 0x403);
    }

    /** The newest segments archived unsigned (an archiver that lost its key): recovery ends before them. */
    @Test
    void theNewestSegmentsWithoutTrustedRecordsEndPointInTimeRecoveryBeforeThem() throws IOException {
        signedThenForged(() -> storeRange(1, 0x400, 0x410), () -> storeRange(1, 0x411, 0x440));
        VerificationResult r = verify(1, 0x400, 0x402);
        assertThat(r.status()).isEqualTo(VerificationResult.Status.FAILED);
        assertThat(r.problems())
                .singleElement()
                .asString()
                .contains("segments 000000010000000400000011 to 000000010000000400000040 (48) cannot be used")
                .contains("not signed by a trusted key")
                .contains("point-in-time recovery from this backup ends at 4/11000000")
                .doesNotContain("missing from the archive");
        assertThat(r.details()).containsEntry("walNewest", name(1, 0x410));
    }

    /** A record that is there is not on its way: among the newest segments, it is not taken to be in flight. */
    @Test
    void anUntrustedRecordAmongTheNewestSegmentsIsNotTakenToBeOnItsWay() throws IOException {
        signedThenForged(() -> storeRange(1, 0x400, 0x440, 0x41C), () -> store(name(1, 0x41C), "not the WAL"));
        VerificationResult r = verify(1, 0x400, 0x402);
        assertThat(r.status()).isEqualTo(VerificationResult.Status.FAILED);
        assertThat(r.problems())
                .singleElement()
                .asString()
                .contains("segment 00000001000000040000001C cannot be used")
                .contains("ends at 4/1C000000");
        assertThat(r.details()).doesNotContainKey("notYetArchived");
    }

    /**
     * Only a later backup whose own WAL is archived reads on from its start: one missing some of
     * it has no check of its records, so an older backup reads on past it to the next.
     */
    @Test
    void aLaterBackupThatCannotBeRestoredDoesNotEndTheRecordsAnOlderOneReads() throws IOException {
        signedThenForged(
                () -> storeRange(1, 0x400, 0x400 + 200, 0x410, 0x411), () -> store(name(1, 0x410), "not the WAL"));
        VerificationResult r = verifyAmong(
                1,
                0x400,
                0x402,
                later("20260101T000000Z-broken", SYSTEM_ID, 1, 0x410), // its own 0x411 is missing
                later("20260102T000000Z-whole", SYSTEM_ID, 1, 0x420));
        assertThat(r.passed()).as(r.problems().toString()).isTrue();
        assertThat(r.details().get("pointInTimeRecoveryEndsAt").toString())
                .startsWith("4/10000000")
                .contains("backup 20260102T000000Z-whole covers the time after it");
        assertThat(r.details()).containsEntry("walRecordsAfterStopRead", 0x420 - 0x403 - 1);
    }

    @Test
    void aDamagedRecordAfterTheStopEndsPointInTimeRecoveryThereWithoutKeys() throws IOException {
        storeRange(1, 0x400, 0x400 + 200);
        damageRecord(name(1, 0x430));
        VerificationResult r = verify(1, 0x400, 0x402);
        assertThat(r.status()).isEqualTo(VerificationResult.Status.FAILED);
        assertThat(r.problems())
                .singleElement()
                .asString()
                .contains("record of WAL segment 000000010000000400000030 cannot be trusted")
                .contains("point-in-time recovery from this backup ends at 4/30000000");
    }

    @Test
    void aDamagedRecordOfTheBackupsOwnWalFailsIt() throws IOException {
        storeRange(1, 0x400, 0x410);
        damageRecord(name(1, 0x402));
        VerificationResult r = verify(1, 0x400, 0x402);
        assertThat(r.status()).isEqualTo(VerificationResult.Status.FAILED);
        assertThat(r.problems())
                .singleElement()
                .asString()
                .contains("record of WAL segment 000000010000000400000002 cannot be trusted");
    }

    @Test
    void aGapAfterTheStopSaysWherePointInTimeRecoveryEnds() throws IOException {
        storeRange(1, 0x400, 0x400 + 200, 0x420, 0x421, 0x422);
        VerificationResult r = verify(1, 0x400, 0x402);
        assertThat(r.status()).isEqualTo(VerificationResult.Status.FAILED);
        assertThat(r.problems())
                .singleElement()
                .asString()
                .contains("segments 000000010000000400000020 to 000000010000000400000022 (3) are missing")
                .contains("point-in-time recovery from this backup ends at 4/20000000");
        assertThat(r.details()).containsEntry("segmentsMissing", 3L);
    }

    @Test
    void aGapThatALaterBaseBackupStartsAfterIsNotedAndTheBackupPasses() throws IOException {
        storeRange(1, 0x400, 0x400 + 200, 0x420, 0x421, 0x422);
        // a backup taken after the gap: recovery to the time after it starts there, so this one
        // failing until retention removed it would say nothing true about what can be recovered
        VerificationResult covered =
                verifyAmong(1, 0x400, 0x402, later("20261208T000000Z-0a0b0c", SYSTEM_ID, 1, 0x430));
        assertThat(covered.passed()).as(covered.problems().toString()).isTrue();
        assertThat(covered.details())
                .containsEntry("segmentsMissing", 3L)
                .containsEntry(
                        "pointInTimeRecoveryEndsAt",
                        "4/20000000 (WAL segments 000000010000000400000020 to 000000010000000400000022 (3) missing; "
                                + "backup 20261208T000000Z-0a0b0c covers the time after it)");
        // the earliest of several that start after it is named
        VerificationResult two = verifyAmong(
                1,
                0x400,
                0x402,
                later("20261209T000000Z-0a0b0d", SYSTEM_ID, 1, 0x480),
                later("20261208T000000Z-0a0b0c", SYSTEM_ID, 1, 0x423));
        assertThat(two.details().get("pointInTimeRecoveryEndsAt").toString()).contains("20261208T000000Z-0a0b0c");
    }

    @Test
    void aLaterBackupThatDoesNotStartAfterTheGapOnTheSameLineageCoversNothing() throws IOException {
        storeRange(1, 0x400, 0x400 + 200, 0x420, 0x421, 0x422);
        store("00000002.history", "1\t4/50000000\tno recovery target specified\n");
        storeRange(2, 0x450, 0x400 + 200);
        for (BackupManifest other : List.of(
                later("20261208T000000Z-0a0b01", SYSTEM_ID, 1, 0x410), // before the gap
                later("20261208T000000Z-0a0b02", SYSTEM_ID, 1, 0x422), // inside it
                later("20261208T000000Z-0a0b03", SYSTEM_ID + 1, 1, 0x430), // another system
                later("20261208T000000Z-0a0b04", SYSTEM_ID, 1, 0x460), // timeline 1 after the switch: a sibling
                later("20261208T000000Z-0a0b05", SYSTEM_ID, 3, 0x460))) { // a timeline not on the lineage
            VerificationResult r = verifyAmong(1, 0x400, 0x402, other);
            assertThat(r.status()).as(other.id()).isEqualTo(VerificationResult.Status.FAILED);
            assertThat(r.problems())
                    .as(other.id())
                    .singleElement()
                    .asString()
                    .contains("point-in-time recovery from this backup ends at 4/20000000")
                    .contains("no base backup of this system starts after it");
        }
        // on the lineage past the switch, it covers
        VerificationResult onTwo = verifyAmong(1, 0x400, 0x402, later("20261208T000000Z-0a0b06", SYSTEM_ID, 2, 0x460));
        assertThat(onTwo.passed()).as(onTwo.problems().toString()).isTrue();
        // a gap in the backup's own WAL is never covered: the backup cannot be restored at all
        archive.delete(WalArchive.path(SYSTEM_ID, name(1, 0x401)));
        VerificationResult own = verifyAmong(1, 0x400, 0x402, later("20261208T000000Z-0a0b06", SYSTEM_ID, 2, 0x460));
        assertThat(own.problems())
                .singleElement()
                .asString()
                .contains("segment 000000010000000400000001 is missing")
                .contains("cannot be restored");
    }

    /** Dates each stored file's record {@code n} minutes after a fixed time, n its segment number's last byte. */
    private void dateRecords() throws IOException {
        try (Stream<Path> files = Files.walk(dir.resolve("repo"))) {
            for (Path f : files.filter(f -> f.getFileName().toString().matches("[0-9A-F]{24}.*\\.info\\.json"))
                    .toList()) {
                String name = f.getFileName().toString();
                int minutes = Integer.parseInt(name.substring(22, 24), 16);
                Files.setLastModifiedTime(f, FileTime.from(STORED.plus(Duration.ofMinutes(minutes))));
            }
        }
    }

    private static final Instant STORED = Instant.parse("2026-12-07T10:00:00Z");

    private Optional<Instant> recoveryPoint(long timeline, long start, long stop) throws IOException {
        return WalContinuity.recoveryPoint(
                manifest(ID, meta(SYSTEM_ID, timeline, start, stop, stop * SIZE + 0x100)), archive);
    }

    @Test
    void theRecoveryPointIsWhenTheLastSegmentOfTheRunWithoutAGapWasStored() throws IOException {
        storeRange(1, 0x400, 0x410);
        dateRecords();
        assertThat(recoveryPoint(1, 0x400, 0x402)).contains(STORED.plus(Duration.ofMinutes(0x10)));
        // a gap among the newest (on its way or lost) ends the run before it, whatever is stored later
        archive.delete(WalArchive.path(SYSTEM_ID, name(1, 0x40C)));
        assertThat(recoveryPoint(1, 0x400, 0x402)).contains(STORED.plus(Duration.ofMinutes(0x0B)));
        // an incomplete copy in the gap does not close it: a recovery that reads it ends inside it
        store(name(1, 0x40C) + ".partial");
        dateRecords();
        assertThat(recoveryPoint(1, 0x400, 0x402)).contains(STORED.plus(Duration.ofMinutes(0x0B)));
        // one right after the newest complete segment ends the run, at its own time
        store(name(1, 0x411) + ".stream");
        store(name(1, 0x40C));
        dateRecords();
        assertThat(recoveryPoint(1, 0x400, 0x402)).contains(STORED.plus(Duration.ofMinutes(0x11)));
        // a gap in the backup's own WAL: no recovery at all, so no point
        archive.delete(WalArchive.path(SYSTEM_ID, name(1, 0x401)));
        assertThat(recoveryPoint(1, 0x400, 0x402)).isEmpty();
        // nor without WAL positions, or with forged ones
        assertThat(WalContinuity.recoveryPoint(manifest(ID, Map.of()), archive)).isEmpty();
        assertThat(WalContinuity.recoveryPoint(
                        manifest(
                                ID,
                                Map.of(
                                        "systemIdentifier",
                                        "../x",
                                        "walStart",
                                        name(1, 0x400),
                                        "walStop",
                                        name(1, 0x402),
                                        "walSegmentSize",
                                        SIZE)),
                        archive))
                .isEmpty();
    }

    @Test
    void theRecoveryPointReadsTheArchiveOneLogFileAtATimeFromTheBackupsStart() throws IOException {
        storeRange(1, 0x300, 0x310); // months before the backup: never listed
        storeRange(1, 0x4F0, 0x505); // across the log file boundary 4 / 5
        dateRecords();
        List<String> listed = new ArrayList<>();
        FileArchive recording = new ForwardingFileArchive(archive) {
            @Override
            public List<String> list(String prefix) throws IOException {
                listed.add(prefix);
                return super.list(prefix);
            }
        };
        assertThat(WalContinuity.recoveryPoint(
                        manifest(ID, meta(SYSTEM_ID, 1, 0x4F0, 0x4F2, 0x4F2 * SIZE + 0x100)), recording))
                .contains(STORED.plus(Duration.ofMinutes(0x05)));
        String system = Long.toUnsignedString(SYSTEM_ID);
        assertThat(listed)
                .containsExactly(system + "/00000001/0000000100000004", system + "/00000001/0000000100000005");
    }

    /** The recovery point of a backup of {@code size}-byte segments that started in segment {@code start}. */
    private Optional<Instant> recoveryPointOf(FileArchive from, long timeline, long size, long start, long stop)
            throws IOException {
        Map<String, Object> meta = new HashMap<>();
        meta.put("systemIdentifier", Long.toUnsignedString(SYSTEM_ID));
        meta.put("walStart", new WalSegment(timeline, start, size).name());
        meta.put("walStop", new WalSegment(timeline, stop, size).name());
        meta.put("walSegmentSize", size);
        meta.put("startLsn", PageVerification.lsn(start * size + 0x28));
        meta.put("stopLsn", PageVerification.lsn(stop * size + 0x100));
        return WalContinuity.recoveryPoint(manifest(ID, meta), from);
    }

    @Test
    void otherSegmentSizesAreReadInTheirOwnLogFiles() throws IOException {
        // 1 MiB segments: 4096 to a log file, the run crosses from log file 0 into 1
        long mib = 1L << 20;
        for (long n = 4090; n <= 4100; n++) {
            store(new WalSegment(1, n, mib).name());
        }
        dateRecords();
        assertThat(recoveryPointOf(archive, 1, mib, 4090, 4091))
                .contains(STORED.plus(Duration.ofMinutes(0x04))); // 000000010000000100000004
        // 1 GiB segments: 4 to a log file; past 4 log files the timeline is listed whole, once
        long gib = 1L << 30;
        for (long n = 0; n <= 23; n++) {
            store(new WalSegment(2, n, gib).name());
        }
        store("00000002.history", "1\t0/0\tno recovery target specified\n");
        List<String> listed = new ArrayList<>();
        FileArchive recording = new ForwardingFileArchive(archive) {
            @Override
            public List<String> list(String prefix) throws IOException {
                listed.add(prefix);
                return super.list(prefix);
            }
        };
        dateRecords();
        assertThat(recoveryPointOf(recording, 2, gib, 1, 2))
                .contains(STORED.plus(Duration.ofMinutes(0x03))); // segment 23: 000000020000000500000003
        String timeline = Long.toUnsignedString(SYSTEM_ID) + "/00000002/";
        assertThat(listed)
                .containsExactly(
                        timeline + "0000000200000000",
                        timeline + "0000000200000001",
                        timeline + "0000000200000002",
                        timeline + "0000000200000003",
                        timeline);
        // a gap found in the whole listing ends the run as well
        archive.delete(WalArchive.path(SYSTEM_ID, new WalSegment(2, 21, gib).name()));
        assertThat(recoveryPointOf(archive, 2, gib, 1, 2))
                .contains(STORED.plus(Duration.ofMinutes(0x00))); // segment 20: 000000020000000500000000
    }

    @Test
    void aLaterBackupWhoseOwnWalIsMissingCoversNothing() throws IOException {
        storeRange(1, 0x400, 0x400 + 200, 0x420, 0x421, 0x422, 0x431);
        VerificationResult r = verifyAmong(1, 0x400, 0x402, later("20261208T000000Z-0a0b0c", SYSTEM_ID, 1, 0x430));
        assertThat(r.status()).isEqualTo(VerificationResult.Status.FAILED);
        assertThat(r.problems())
                .anySatisfy(p -> assertThat(p)
                        .contains("segments 000000010000000400000020 to 000000010000000400000022 (3) are missing")
                        .contains("no base backup of this system starts after it"));
    }

    @Test
    void theRecoveryPointFollowsTheTimelineARecoveryFollows() throws IOException {
        storeRange(1, 0x400, 0x420);
        store("00000002.history", "1\t4/10800000\tno recovery target specified\n");
        storeRange(2, 0x410, 0x418);
        dateRecords();
        // timeline 1 goes on to 0x420 (an old primary), but a recovery reads timeline 2 from 0x410
        assertThat(recoveryPoint(1, 0x400, 0x402)).contains(STORED.plus(Duration.ofMinutes(0x18)));
        // a newest timeline a default restore cannot follow: no point (the verification says why)
        store("00000003.history", "1\t4/00000000\tno recovery target specified\n2\t4/20000000\tx\n");
        assertThat(recoveryPoint(1, 0x400, 0x402)).isEmpty();
    }

    @Test
    void segmentsMissingAmongTheNewestAreOnTheirWayNotLost() throws IOException {
        // wal-push stores a burst several segments at a time: a later one may land first
        storeRange(1, 0x400, 0x430, 0x42A, 0x42B);
        VerificationResult r = verify(1, 0x400, 0x402);
        assertThat(r.passed()).as(r.problems().toString()).isTrue();
        assertThat(r.details().get("notYetArchived").toString())
                .isEqualTo("segments 00000001000000040000002A to 00000001000000040000002B (2)");
        // the backup's own WAL is never on its way: the backup waited for it
        storeRange(1, 0x500, 0x505, 0x503);
        VerificationResult own = verify(1, 0x500, 0x504);
        assertThat(own.status()).isEqualTo(VerificationResult.Status.FAILED);
    }

    @Test
    void theWalIsFollowedAcrossATimelineSwitchAsARecoveryFollowsIt() throws IOException {
        // timeline 1 to the middle of segment 0x410, then timeline 2 from there; timeline 1 went
        // on after the switch (an old primary), which a recovery along timeline 2 never reads
        storeRange(1, 0x400, 0x420);
        store("00000002.history", "1\t4/10800000\tno recovery target specified\n");
        storeRange(2, 0x410, 0x460);
        VerificationResult r = verify(1, 0x400, 0x402);
        assertThat(r.passed()).as(r.problems().toString()).isTrue();
        assertThat(r.details())
                .containsEntry("timelines", "1 > 2")
                .containsEntry("walNewest", "000000020000000400000060");
        // a gap on timeline 2 counts; one on timeline 1 past its end does not
        archive.delete(WalArchive.path(SYSTEM_ID, name(2, 0x415)));
        archive.delete(WalArchive.path(SYSTEM_ID, name(1, 0x418)));
        VerificationResult gap = verify(1, 0x400, 0x402);
        assertThat(gap.problems()).singleElement().asString().contains("segment 000000020000000400000015 is missing");
    }

    @Test
    void theSwitchSegmentIsReadFromTheNewTimelineAndTheOldOnesPartialCopyDoesNotStandInForIt() throws IOException {
        // recovery reads segment 0x410 from timeline 2 (only its copy holds the records after the switch);
        // the old timeline's .partial is served cut at the switch, and recovery would end there
        storeRange(1, 0x400, 0x40F);
        store(name(1, 0x410) + ".partial");
        store("00000002.history", "1\t4/10800000\tno recovery target specified\n");
        storeRange(2, 0x411, 0x4A0);
        VerificationResult r = verify(1, 0x400, 0x402);
        assertThat(r.problems()).singleElement().asString().contains("segment 000000020000000400000010 is missing");
        store(name(2, 0x410));
        VerificationResult whole = verify(1, 0x400, 0x402);
        assertThat(whole.passed()).as(whole.problems().toString()).isTrue();
    }

    @Test
    void anIncompleteCopyCountsOnlyAsTheNewestSegment() throws IOException {
        storeRange(1, 0x400, 0x40F);
        store(name(1, 0x410) + WalArchive.STREAMED_SUFFIX); // what wal-stream received of the segment in progress
        VerificationResult tail = verify(1, 0x400, 0x402);
        assertThat(tail.passed()).as(tail.problems().toString()).isTrue();
        assertThat(tail.details()).containsEntry("walNewest", "000000010000000400000010 (incomplete)");
        // in the middle, recovery would end inside it
        storeRange(1, 0x411, 0x4A0);
        VerificationResult middle = verify(1, 0x400, 0x402);
        assertThat(middle.problems())
                .singleElement()
                .asString()
                .contains("segment 000000010000000400000010 is missing");
    }

    @Test
    void aTimelineThatBranchedOffAnotherOrBeforeTheBackupMakesTheDefaultRestoreFailAndSaysSo() throws IOException {
        // sibling: the backup is on timeline 2, and timeline 3 branched off timeline 1
        storeRange(2, 0x400, 0x410);
        store("00000002.history", "1\t3/80000000\tbranch\n");
        store("00000003.history", "1\t3/90000000\tbranch\n");
        VerificationResult sibling = verify(2, 0x400, 0x402);
        assertThat(sibling.problems())
                .singleElement()
                .asString()
                .contains("timeline 3, the newest in the WAL archive, does not descend from the backup's timeline 2")
                .contains("setting 'target-timeline' current");
    }

    @Test
    void aRestoreKnowsBeforeWritingAnythingThatTheNewestTimelineCannotBeFollowed() throws IOException {
        storeRange(1, 0x400, 0x404);
        Map<String, Object> meta = meta(SYSTEM_ID, 1, 0x402, 0x403, 0x403 * SIZE + 0x100);
        assertThat(WalContinuity.latestTimelineProblem(archive, meta)).isEmpty();
        // a copy restored beside the live cluster, promoted at 0/401xxxx, archived its timeline here
        store("00000002.history", "1\t4/1000100\tno recovery target specified\n");
        assertThat(WalContinuity.latestTimelineProblem(archive, meta))
                .hasValueSatisfying(p -> assertThat(p)
                        .contains("timeline 2")
                        .contains("before the backup started")
                        .contains("setting 'target-timeline' current"));
        assertThat(WalContinuity.latestTimelineProblem(archive, Map.of()))
                .as("no WAL positions recorded")
                .isEmpty();
    }

    @Test
    void aBranchOffTheBackupsTimelineBeforeTheBackupStartedIsNamed() throws IOException {
        storeRange(1, 0x400, 0x410);
        store("00000002.history", "1\t3/F0000000\ta restore drill promoted, archiving into the same place\n");
        storeRange(2, 0x3F0, 0x420);
        VerificationResult r = verify(1, 0x400, 0x402);
        assertThat(r.problems())
                .singleElement()
                .asString()
                .contains("left the backup's timeline 1 at 3/F0000000, before the backup started (4/28)");
    }

    @Test
    void theNewestTimelineIsFoundAsPostgresqlFindsItUpToTheFirstMissingHistoryFile() throws IOException {
        // 00000002.history is missing: recovery stays on timeline 1, whatever timeline 3's file says
        storeRange(1, 0x400, 0x410);
        store("00000003.history", "1\t4/05000000\tx\n2\t4/06000000\ty\n");
        VerificationResult r = verify(1, 0x400, 0x402);
        assertThat(r.passed()).as(r.problems().toString()).isTrue();
        assertThat(r.details()).containsEntry("timelines", "1").containsEntry("walNewest", name(1, 0x410));
    }

    @Test
    void aHistoryFileOfSeveralAncestorsIsFollowedThroughEach() throws IOException {
        storeRange(1, 0x400, 0x404);
        store("00000002.history", "1\t4/05000000\tx\n");
        storeRange(2, 0x405, 0x407);
        store("00000003.history", "1\t4/05000000\tx\n2\t4/08000000\ty\n");
        storeRange(3, 0x408, 0x40C);
        VerificationResult r = verify(1, 0x400, 0x402);
        assertThat(r.passed()).as(r.problems().toString()).isTrue();
        assertThat(r.details()).containsEntry("timelines", "1 > 2 > 3").containsEntry("walNewest", name(3, 0x40C));
    }

    @Test
    void aForgedHistoryFileIsDamagedNotALongWalk() throws IOException {
        storeRange(1, 0x400, 0x410);
        store("00000002.history", "1\t4/05000000\tx\n".repeat(50_000)); // the same parent again and again
        VerificationResult r = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> verify(1, 0x400, 0x402));
        assertThat(r.problems()).singleElement().asString().contains("00000002.history in the WAL archive is damaged");
    }

    @Test
    void aBackupThatStoppedOnASegmentsFirstByteDoesNotNeedThatSegment() throws IOException {
        storeRange(1, 0x400, 0x402); // the stop is 4/03000000: segment 0x403 is not the backup's (nor archived yet)
        VerificationResult r = verify(1, 0x400, 0x403, 0x403 * SIZE, Settings.empty());
        assertThat(r.passed()).as(r.problems().toString()).isTrue();
    }

    @Test
    void theInFlightToleranceEndsWhereItsSettingSays() throws IOException {
        storeRange(1, 0x400, 0x464, 0x424); // 64 segments after the missing one: on its way
        assertThat(verify(1, 0x400, 0x402).passed()).isTrue();
        Settings eight = Settings.builder().set("wal-in-flight", "8").build();
        VerificationResult strict = verify(1, 0x400, 0x402, 0x402 * SIZE + 0x100, eight);
        assertThat(strict.problems()).singleElement().asString().contains("setting wal-in-flight");
        store(name(1, 0x465)); // 65 after it: lost
        assertThat(verify(1, 0x400, 0x402).problems())
                .singleElement()
                .asString()
                .contains("segment 000000010000000400000024 is missing");
    }

    @Test
    void otherSegmentSizesAreCountedInTheirOwnNumbers() throws IOException {
        long size = 64L << 20; // 64 segments per log file
        for (long n = 0x40; n <= 0x50; n++) {
            if (n != 0x48) {
                store(new WalSegment(1, n, size).name());
            }
        }
        Map<String, Object> meta = new HashMap<>(Map.of(
                "systemIdentifier", Long.toUnsignedString(SYSTEM_ID),
                "walStart", new WalSegment(1, 0x40, size).name(),
                "walStop", new WalSegment(1, 0x41, size).name(),
                "walSegmentSize", size));
        VerificationResult r =
                new WalContinuity(Settings.builder().set("wal-in-flight", "2").build()).verify(contextWith(meta));
        assertThat(r.problems()).singleElement().asString().contains("segment 000000010000000100000008 is missing");
    }

    @Test
    void aPlantedSegmentFarOutIsOneEntryNotALoopToIt() throws IOException {
        storeRange(1, 0x400, 0x410);
        store("00000001FFFFFFFF000000FF");
        VerificationResult r = assertTimeoutPreemptively(Duration.ofSeconds(10), () -> verify(1, 0x400, 0x402));
        assertThat(r.details()).containsEntry("walNewest", "00000001FFFFFFFF000000FF");
        assertThat((long) r.details().get("segmentsMissing")).isGreaterThan(1L << 39);
    }

    @Test
    void aBackupWithoutWalPositionsIsUnverifiedAndForgedOnesFail() throws IOException {
        VerificationResult none = new WalContinuity(Settings.empty()).verify(contextWith(Map.of()));
        assertThat(none.status()).isEqualTo(VerificationResult.Status.UNVERIFIED);
        VerificationResult forged = new WalContinuity(Settings.empty())
                .verify(contextWith(Map.of(
                        "systemIdentifier", "1",
                        "walStart", "../../../etc",
                        "walStop", "000000010000000000000001",
                        "walSegmentSize", 12345)));
        assertThat(forged.status()).isEqualTo(VerificationResult.Status.FAILED);
        // segment 0x1FF of a log file holds 256 segments of 16 MiB: no such segment; nor a system "../x"
        for (Map<String, Object> meta : List.of(
                Map.<String, Object>of(
                        "systemIdentifier", "1",
                        "walStart", "0000000100000000000001FF",
                        "walStop", "0000000100000001000000FF",
                        "walSegmentSize", SIZE),
                Map.<String, Object>of(
                        "systemIdentifier", "../x",
                        "walStart", "000000010000000000000001",
                        "walStop", "000000010000000000000001",
                        "walSegmentSize", SIZE))) {
            assertThat(new WalContinuity(Settings.empty())
                            .verify(contextWith(meta))
                            .status())
                    .as(meta.toString())
                    .isEqualTo(VerificationResult.Status.FAILED);
        }
    }

    @Test
    void namesThatAreNoSegmentOfThisSizeAreNotCountedAsWal() throws IOException {
        storeRange(1, 0x400, 0x402);
        store("000000010000000400000103"); // 0x103 is past the 256 segments of a log file: no WAL
        VerificationResult r = verify(1, 0x400, 0x402);
        assertThat(r.passed()).as(r.problems().toString()).isTrue();
        assertThat(r.details()).containsEntry("walNewest", "000000010000000400000002");
    }

    private static final String ID = "20261207T000000Z-abcdef";

    private static BackupManifest manifest(String id, Map<String, Object> meta) {
        Instant at = Instant.parse("2026-12-07T00:00:00Z");
        return new BackupManifest(
                BackupManifest.FORMAT,
                id,
                "db",
                "postgres",
                "full",
                null,
                List.of(),
                at,
                at,
                "test",
                "host",
                List.of(),
                meta,
                null);
    }

    private VerificationContext contextWith(Map<String, Object> meta) {
        return contextWith(manifest(ID, meta));
    }

    private VerificationContext contextWith(BackupManifest m, BackupManifest... others) {
        return new VerificationContext() {
            @Override
            public BackupManifest manifest() {
                return m;
            }

            @Override
            public List<BackupManifest> backupsOfTarget() {
                List<BackupManifest> all = new ArrayList<>(List.of(others));
                all.add(0, m);
                return all;
            }

            @Override
            public InputStream openStored(ArtifactInfo artifact) {
                throw new UnsupportedOperationException();
            }

            @Override
            public InputStream openDecoded(ArtifactInfo artifact) {
                throw new UnsupportedOperationException();
            }

            @Override
            public FileArchive archive(String area) {
                assertThat(area).isEqualTo(WalArchive.AREA);
                return archive;
            }

            @Override
            public Settings options() {
                return Settings.empty();
            }
        };
    }
}
