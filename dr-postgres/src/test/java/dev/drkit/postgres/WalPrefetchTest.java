package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.ChecksumMismatchException;
import dev.drkit.DrKit;
import dev.drkit.spi.FileArchive;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Read-ahead of WAL into a spool, on synthetic 1 MiB segments in a real repository. */
class WalPrefetchTest {
    static final long SIZE = 1 << 20;
    static final long SYSTEM_ID = 7_300_000_000_000_000_001L;

    @TempDir
    Path dir;

    Path dataDir;
    Path spool;
    DrKit kit;
    FileArchive archive;

    @BeforeEach
    void setUp() throws IOException {
        dataDir = clusterDir("data", SYSTEM_ID);
        spool = dir.resolve("spool");
        kit = DrKit.builder().repository(dir.resolve("repo").toString()).build();
        archive = kit.archive(WalArchive.AREA);
    }

    @AfterEach
    void tearDown() {
        kit.close();
    }

    private Path clusterDir(String name, long systemId) throws IOException {
        Path d = Files.createDirectories(dir.resolve(name).resolve("global"));
        Files.write(
                d.resolve("pg_control"),
                ByteBuffer.allocate(16)
                        .order(ByteOrder.LITTLE_ENDIAN)
                        .putLong(systemId)
                        .array());
        return d.getParent();
    }

    /** A segment's bytes: a long page header as PostgreSQL writes it, then bytes that differ per segment and seed. */
    static byte[] segmentBytes(long timeline, long number, long systemId, int seed) {
        byte[] b = new byte[(int) SIZE];
        for (int i = 64; i < b.length; i++) {
            b[i] = (byte) (i * 31 + number * 7 + seed);
        }
        ByteBuffer h = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        h.putShort(0, (short) 0xD110).putShort(2, (short) 0x0006).putInt(4, (int) timeline);
        h.putLong(8, number * SIZE).putLong(24, systemId).putInt(32, (int) SIZE).putInt(36, 8192);
        return b;
    }

    private String push(WalArchive wal, long timeline, long number, int seed) throws IOException {
        String name = new WalSegment(timeline, number, SIZE).name();
        Path f = Files.createDirectories(dir.resolve("out-" + seed)).resolve(name);
        Files.write(f, segmentBytes(timeline, number, SYSTEM_ID, seed));
        wal.push(f, dataDir);
        return name;
    }

    private List<String> pushRange(long from, long to) throws IOException {
        WalArchive wal = new WalArchive(archive);
        return LongStream.rangeClosed(from, to)
                .mapToObj(n -> {
                    try {
                        return push(wal, 1, n, 0);
                    } catch (IOException e) {
                        throw new IllegalStateException(e);
                    }
                })
                .toList();
    }

    private WalPrefetch prefetch(int segments) {
        return WalPrefetch.builder(archive, spool).prefetch(segments).jobs(2).build();
    }

    private List<String> spooled() throws IOException {
        try (Stream<Path> s = Files.list(spool)) {
            return s.map(p -> p.getFileName().toString())
                    .filter(WalSegment::isSegmentName)
                    .sorted()
                    .toList();
        }
    }

    @Test
    void aMissFetchesTheSegmentAndReadsTheNextOnesAheadWhichFollowingCallsTakeFromTheSpool() throws Exception {
        List<String> names = pushRange(1, 8);
        WalPrefetch p = prefetch(3);

        WalPrefetch.Result first = p.fetch(names.get(0), dir.resolve("RECOVERYXLOG"), dataDir);
        assertThat(first.found()).isTrue();
        assertThat(first.fromSpool()).isFalse();
        assertThat(first.prefetched()).isEqualTo(3);
        assertThat(Files.readAllBytes(dir.resolve("RECOVERYXLOG"))).isEqualTo(segmentBytes(1, 1, SYSTEM_ID, 0));
        assertThat(spooled()).containsExactly(names.get(1), names.get(2), names.get(3));
        assertThat(Files.getPosixFilePermissions(spool)).isEqualTo(PosixFilePermissions.fromString("rwx------"));

        WalPrefetch.Result second = p.fetch(names.get(1), dir.resolve("RECOVERYXLOG"), dataDir);
        assertThat(second.fromSpool()).isTrue();
        assertThat(Files.readAllBytes(dir.resolve("RECOVERYXLOG"))).isEqualTo(segmentBytes(1, 2, SYSTEM_ID, 0));
        assertThat(spooled()).containsExactly(names.get(2), names.get(3));

        // the shell's mv took segment 3; the request for 4 drops everything before it
        Files.delete(spool.resolve(names.get(2)));
        assertThat(p.fetch(names.get(3), dir.resolve("RECOVERYXLOG"), dataDir).fromSpool())
                .isTrue();
        try (Stream<Path> s = Files.list(spool)) {
            assertThat(s.map(f -> f.getFileName().toString())).containsOnly(".lock", ".drkit-spool");
        }
    }

    @Test
    void theEndOfTheArchiveEndsTheReadAheadQuietlyAndAMissingSegmentIsNotFound() throws Exception {
        List<String> names = pushRange(1, 4);
        WalPrefetch.Result r = prefetch(10).fetch(names.get(0), dir.resolve("x"), dataDir);
        assertThat(r.found()).isTrue();
        assertThat(r.prefetched()).isEqualTo(3);
        assertThat(r.endOfArchive()).isTrue();
        assertThat(spooled()).containsExactly(names.get(1), names.get(2), names.get(3));
        // what PostgreSQL asks for at the end, answered by the shell: the last segment again, the missing one, history
        String fifth = new WalSegment(1, 5, SIZE).name();
        try (Stream<Path> s = Files.list(spool)) {
            assertThat(s.map(f -> f.getFileName().toString()))
                    .contains(
                            names.get(3) + ".again",
                            fifth + ".missing",
                            "00000001.history.missing",
                            "00000002.history.missing");
        }
        assertThat(Files.readAllBytes(spool.resolve(names.get(3) + ".again")))
                .isEqualTo(segmentBytes(1, 4, SYSTEM_ID, 0));

        WalPrefetch.Result missing = prefetch(10).fetch(fifth, dir.resolve("y"), dataDir);
        assertThat(missing.found()).isFalse();
        assertThat(dir.resolve("y")).doesNotExist();
    }

    @Test
    void theSpoolHoldsNoMoreThanItsByteBound() throws Exception {
        List<String> names = pushRange(1, 8);
        WalPrefetch p = WalPrefetch.builder(archive, spool)
                .prefetch(10)
                .queueMaxBytes(2 * SIZE)
                .build();
        assertThat(p.fetch(names.get(0), dir.resolve("x"), dataDir).prefetched())
                .isEqualTo(2);
        assertThat(spooled()).containsExactly(names.get(1), names.get(2));
        // a miss further on counts what the spool already holds
        assertThat(p.fetch(names.get(2), dir.resolve("x"), dataDir).fromSpool()).isTrue();
        Files.delete(dir.resolve("x"));
        assertThat(p.fetch(names.get(3), dir.resolve("x"), dataDir).prefetched())
                .isEqualTo(2);
        assertThat(spooled()).containsExactly(names.get(4), names.get(5));
    }

    @Test
    void theReadAheadCrossesTheLogBoundary() throws Exception {
        WalArchive wal = new WalArchive(archive);
        // 1 MiB segments: 4096 per 4 GiB log
        String last = push(wal, 1, 4095, 0);
        String next = push(wal, 1, 4096, 0);
        assertThat(last).isEqualTo("000000010000000000000FFF");
        assertThat(next).isEqualTo("000000010000000100000000");
        assertThat(prefetch(4).fetch(last, dir.resolve("x"), dataDir).prefetched())
                .isEqualTo(1);
        assertThat(spooled()).containsExactly(next);
    }

    @Test
    void aDamagedOrTruncatedSpooledSegmentIsNeverHandedOutButFetchedAgain() throws Exception {
        List<String> names = pushRange(1, 5);
        WalPrefetch p = prefetch(3);
        p.fetch(names.get(0), dir.resolve("x"), dataDir);
        try (RandomAccessFile f =
                new RandomAccessFile(spool.resolve(names.get(1)).toFile(), "rw")) {
            f.seek(SIZE / 2);
            int b = f.read();
            f.seek(SIZE / 2);
            f.write(b ^ 1); // one bit changed in the middle: the header still looks right
        }
        try (RandomAccessFile f =
                new RandomAccessFile(spool.resolve(names.get(2)).toFile(), "rw")) {
            f.setLength(SIZE - 8192);
        }

        WalPrefetch.Result flipped = p.fetch(names.get(1), dir.resolve("a"), dataDir);
        assertThat(flipped.found()).isTrue();
        assertThat(flipped.fromSpool()).isFalse();
        assertThat(Files.readAllBytes(dir.resolve("a"))).isEqualTo(segmentBytes(1, 2, SYSTEM_ID, 0));

        WalPrefetch.Result truncated = p.fetch(names.get(2), dir.resolve("b"), dataDir);
        assertThat(truncated.fromSpool()).isFalse();
        assertThat(Files.readAllBytes(dir.resolve("b"))).isEqualTo(segmentBytes(1, 3, SYSTEM_ID, 0));
    }

    @Test
    void aSegmentDamagedInTheRepositoryIsLeftOutOfTheSpoolAndFailsItsOwnRequest() throws Exception {
        List<String> names = pushRange(1, 4);
        damageStored(names.get(2));

        WalPrefetch p = prefetch(3);
        assertThat(p.fetch(names.get(0), dir.resolve("x"), dataDir).found()).isTrue();
        assertThat(spooled()).doesNotContain(names.get(2)).contains(names.get(1));
        assertThat(p.fetch(names.get(1), dir.resolve("x"), dataDir).fromSpool()).isTrue();
        assertThatThrownBy(() -> p.fetch(names.get(2), dir.resolve("y"), dataDir))
                .isInstanceOf(ChecksumMismatchException.class);
        assertThat(dir.resolve("y")).doesNotExist();
    }

    @Test
    void aSpoolLeftByAnotherRepositoryIsEmptiedBeforeAnythingInItIsServed() throws Exception {
        List<String> names = pushRange(1, 4);
        prefetch(3).fetch(names.get(0), dir.resolve("x"), dataDir);
        assertThat(spooled()).contains(names.get(1));

        // the same cluster's WAL under the same names with other bytes, in another repository
        try (DrKit other =
                DrKit.builder().repository(dir.resolve("repo-2").toString()).build()) {
            FileArchive otherArchive = other.archive(WalArchive.AREA);
            WalArchive wal = new WalArchive(otherArchive);
            for (long n = 2; n <= 3; n++) {
                String name = new WalSegment(1, n, SIZE).name();
                Path f = Files.createDirectories(dir.resolve("other")).resolve(name);
                Files.write(f, segmentBytes(1, n, SYSTEM_ID, 99));
                wal.push(f, dataDir);
            }
            WalPrefetch.Result r = WalPrefetch.builder(otherArchive, spool)
                    .prefetch(3)
                    .build()
                    .fetch(names.get(1), dir.resolve("y"), dataDir);
            assertThat(r.fromSpool()).isFalse();
            assertThat(Files.readAllBytes(dir.resolve("y"))).isEqualTo(segmentBytes(1, 2, SYSTEM_ID, 99));
            assertThat(spooled()).containsExactly(names.get(2));
        }
    }

    @Test
    void aSpoolFilledForAnotherClusterIsEmptied() throws Exception {
        List<String> names = pushRange(1, 3);
        prefetch(3).fetch(names.get(0), dir.resolve("x"), dataDir);
        assertThat(spooled()).isNotEmpty();
        Path otherCluster = clusterDir("other-data", SYSTEM_ID + 1);
        assertThat(prefetch(3)
                        .fetch(names.get(1), dir.resolve("y"), otherCluster)
                        .found())
                .isFalse();
        assertThat(spooled()).isEmpty();
    }

    @Test
    void historyAndPartialFilesAreFetchedDirectlyWithoutReadAhead() throws Exception {
        pushRange(1, 3);
        Path history = Files.createDirectories(dir.resolve("h")).resolve("00000002.history");
        Files.writeString(history, "1\t0/2000000\tno recovery target specified\n");
        new WalArchive(archive).push(history, dataDir);
        WalPrefetch.Result r = prefetch(3).fetch("00000002.history", dir.resolve("x"), dataDir);
        assertThat(r.found()).isTrue();
        assertThat(r.prefetched()).isZero();
        assertThat(Files.readString(dir.resolve("x"))).startsWith("1\t0/2000000");
        assertThat(spool).doesNotExist();
        assertThat(prefetch(3)
                        .fetch("00000003.history", dir.resolve("z"), dataDir)
                        .found())
                .isFalse();
    }

    @Test
    void aStreamedPartialSegmentIsServedForItsOwnRequestButNeverSpooled() throws Exception {
        List<String> names = pushRange(1, 2);
        String third = new WalSegment(1, 3, SIZE).name();
        Path partial = Files.createDirectories(dir.resolve("p")).resolve(third + ".partial");
        Files.write(partial, Arrays.copyOf(segmentBytes(1, 3, SYSTEM_ID, 0), 8192));
        new WalArchive(archive).push(partial, dataDir);

        WalPrefetch p = prefetch(5);
        WalPrefetch.Result r = p.fetch(names.get(0), dir.resolve("x"), dataDir);
        assertThat(r.prefetched()).isEqualTo(1);
        assertThat(spooled()).containsExactly(names.get(1));
        // no marker answers "missing" for it in the shell: that would drop the streamed tail
        assertThat(spool.resolve(third + ".missing")).doesNotExist();
        assertThat(shell(WalPrefetch.restoreCommand(spool, "exit 7"), third)).isEqualTo(7);
        assertThat(p.fetch(third, dir.resolve("y"), dataDir).fromSpool()).isFalse();
        assertThat(Files.size(dir.resolve("y"))).isEqualTo(SIZE);
    }

    @Test
    void theShellCommandMovesSpooledSegmentsAnswersMarkedEndsOnceAndRunsTheFetchOtherwise() throws Exception {
        List<String> names = pushRange(1, 3);
        prefetch(5).fetch(names.get(0), dir.resolve("x"), dataDir);
        String command = WalPrefetch.restoreCommand(spool, "echo fetched %f >> calls; exit 7");
        String fourth = new WalSegment(1, 4, SIZE).name();

        assertThat(shell(command, names.get(1))).isZero();
        assertThat(Files.readAllBytes(dir.resolve("pg_wal/RECOVERYXLOG"))).isEqualTo(segmentBytes(1, 2, SYSTEM_ID, 0));
        assertThat(shell(command, names.get(2))).isZero();
        assertThat(shell(command, fourth)).isEqualTo(1); // the end, known to the read-ahead
        assertThat(shell(command, fourth)).isEqualTo(1); // PostgreSQL asks twice
        assertThat(shell(command, names.get(2))).isZero(); // read again
        assertThat(Files.readAllBytes(dir.resolve("pg_wal/RECOVERYXLOG"))).isEqualTo(segmentBytes(1, 3, SYSTEM_ID, 0));
        assertThat(shell(command, "00000002.history")).isEqualTo(1);
        assertThat(dir.resolve("calls")).doesNotExist();
        assertThat(shell(command, names.get(2))).isEqualTo(7); // a third time: the fetch decides
        // a marker older than a minute no longer answers
        Files.setLastModifiedTime(
                spool.resolve(fourth + ".missing"), FileTime.from(Instant.now().minusSeconds(61)));
        assertThat(shell(command, fourth)).isEqualTo(7);
        assertThat(Files.readString(dir.resolve("calls")))
                .isEqualTo("fetched " + names.get(2) + "\nfetched " + fourth + "\n");
    }

    @Test
    void aSegmentAskedForAgainReadsNothingAheadWhenTheSpoolHoldsWhatFollows() throws Exception {
        List<String> names = pushRange(1, 6);
        WalPrefetch p = prefetch(3);
        p.fetch(names.get(0), dir.resolve("x"), dataDir);
        WalPrefetch.Result again = p.fetch(names.get(0), dir.resolve("x"), dataDir);
        assertThat(again.found()).isTrue();
        assertThat(again.prefetched()).isZero();
        assertThat(spooled()).containsExactly(names.get(1), names.get(2), names.get(3));
    }

    @Test
    void theShellWaitsForASegmentAFillIsDownloadingInsteadOfStartingJava() throws Exception {
        Files.createDirectories(spool);
        String name = new WalSegment(1, 7, SIZE).name();
        String command = WalPrefetch.restoreCommand(spool, "echo fetched %f >> calls; exit 7");
        Path inFlight = spool.resolve(name + ".incoming.drkit-1f");
        Files.write(inFlight, new byte[] {1});
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try {
            Future<Integer> call = thread.submit(() -> shell(command, name));
            Thread.sleep(300);
            assertThat(call).as("still waiting for the download").isNotDone();
            Files.write(spool.resolve(name), segmentBytes(1, 7, SYSTEM_ID, 0));
            Files.delete(inFlight);
            assertThat(call.get(10, TimeUnit.SECONDS)).isZero();
        } finally {
            thread.shutdownNow();
        }
        assertThat(Files.readAllBytes(dir.resolve("pg_wal/RECOVERYXLOG"))).isEqualTo(segmentBytes(1, 7, SYSTEM_ID, 0));
        assertThat(dir.resolve("calls")).doesNotExist();

        // a download that never ends (its fill was killed) delays the call about 2 s, then Java decides
        Files.write(inFlight, new byte[] {1});
        long started = System.nanoTime();
        assertThat(shell(command, name)).isEqualTo(7);
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started)).isBetween(1900L, 8000L);
        // and a segment nobody downloads goes to Java at once
        Files.delete(inFlight);
        started = System.nanoTime();
        assertThat(shell(command, name)).isEqualTo(7);
        // (below the 2 s wait above, with room for a loaded machine's forks)
        assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - started)).isLessThan(1900L);
        assertThat(Files.readString(dir.resolve("calls"))).isEqualTo("fetched " + name + "\nfetched " + name + "\n");
    }

    /** Runs a restore_command as PostgreSQL expands and runs it, in {@code dir} as the data directory. */
    private int shellAsPostgres(String command, String name) throws Exception {
        Files.createDirectories(dir.resolve("pg_wal"));
        Process p = new ProcessBuilder("sh", "-c", PostgresPlaceholders.expand(command, name, "pg_wal/RECOVERYXLOG"))
                .directory(dir.toFile())
                .inheritIO()
                .start();
        return p.waitFor();
    }

    @Test
    void theShellCommandKeepsASpoolPathWithPercentSignsQuotesSpacesAndGlobCharactersAsItIs() throws Exception {
        List<String> names = pushRange(1, 3);
        label(names.get(0));
        // a directory name PostgreSQL would expand (%f, %p, %r) or refuse (% followed by anything else)
        spool = dir.resolve("wal%f %p 'q' [a]*? %r 50%");
        Files.createDirectories(dir.resolve("wal"));
        assertThat(WalPrefetch.resetAndPrime(archive, spool, dataDir, WalArchive.LATEST))
                .contains(names.get(0));
        String command = WalPrefetch.restoreCommand(spool, "echo fetched %f >> calls; exit 7");

        assertThat(shellAsPostgres(command, "00000002.history"))
                .as("the marker in the spool answers")
                .isEqualTo(1);
        assertThat(shellAsPostgres(command, names.get(0))).isZero();
        assertThat(Files.readAllBytes(dir.resolve("pg_wal/RECOVERYXLOG"))).isEqualTo(segmentBytes(1, 1, SYSTEM_ID, 0));
        // the wait for a segment in flight looks in the spool too
        Path inFlight = spool.resolve(names.get(1) + ".incoming.drkit-1f");
        Files.write(inFlight, new byte[] {1});
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try {
            Future<Integer> call = thread.submit(() -> shellAsPostgres(command, names.get(1)));
            Thread.sleep(300);
            assertThat(call).as("still waiting for the download").isNotDone();
            Files.write(spool.resolve(names.get(1)), segmentBytes(1, 2, SYSTEM_ID, 0));
            Files.delete(inFlight);
            assertThat(call.get(10, TimeUnit.SECONDS)).isZero();
        } finally {
            thread.shutdownNow();
        }
        assertThat(Files.readAllBytes(dir.resolve("pg_wal/RECOVERYXLOG"))).isEqualTo(segmentBytes(1, 2, SYSTEM_ID, 0));
        assertThat(dir.resolve("calls")).as("no call reached the fetch").doesNotExist();
        // and a segment the spool lacks reaches the fetch, with PostgreSQL's own %f
        assertThat(shellAsPostgres(command, names.get(2))).isEqualTo(7);
        assertThat(Files.readString(dir.resolve("calls"))).isEqualTo("fetched " + names.get(2) + "\n");
    }

    /** Writes the backup_label of a base backup that starts in segment {@code first}. */
    private void label(String first) throws IOException {
        Files.writeString(
                dataDir.resolve("backup_label"),
                "START WAL LOCATION: 0/100028 (file " + first + ")\nCHECKPOINT LOCATION: 0/100060\n");
    }

    /** Runs a fill from {@code from} that ends once nobody has taken from the full spool for 300 ms. */
    private int fillUntilIdle(int prefetch, String from) throws IOException {
        return WalPrefetch.builder(archive, spool)
                .prefetch(prefetch)
                .fillIdle(Duration.ofMillis(300))
                .build()
                .fill(from, dataDir);
    }

    /** Flips a bit in the middle of a segment's stored copy in the repository. */
    private void damageStored(String name) throws IOException {
        Path stored;
        try (Stream<Path> s = Files.walk(dir.resolve("repo/wal"))) {
            stored = s.filter(f -> f.getFileName().toString().equals(name + ".zst"))
                    .findFirst()
                    .orElseThrow();
        }
        byte[] z = Files.readAllBytes(stored);
        z[z.length / 2] ^= 1;
        Files.write(stored, z);
    }

    /** Runs a restore_command as PostgreSQL would, in {@code dir} as the data directory. */
    private int shell(String command, String name) throws Exception {
        Files.createDirectories(dir.resolve("pg_wal"));
        Process p = new ProcessBuilder("sh", "-c", command.replace("%f", name).replace("%p", "pg_wal/RECOVERYXLOG"))
                .directory(dir.toFile())
                .inheritIO()
                .start();
        return p.waitFor();
    }

    @Test
    void theFirstHistoryLookupStartsTheSpoolAtTheSegmentTheBackupLabelNames() throws Exception {
        List<String> names = pushRange(1, 5);
        label(names.get(1));
        WalPrefetch p = prefetch(2);
        assertThat(p.fetch("00000002.history", dir.resolve("h"), dataDir).found())
                .isFalse();
        assertThat(spooled()).containsExactly(names.get(1), names.get(2), names.get(3));
        WalPrefetch.Result first = p.fetch(names.get(1), dir.resolve("x"), dataDir);
        assertThat(first.fromSpool()).isTrue();
        assertThat(Files.readAllBytes(dir.resolve("x"))).isEqualTo(segmentBytes(1, 2, SYSTEM_ID, 0));
        // only the recovery's first call does so
        p.fetch("00000002.history", dir.resolve("h"), dataDir);
        assertThat(spooled()).containsExactly(names.get(2), names.get(3));
    }

    @Test
    void inTheBackgroundAFillKeepsTheSpoolFilledWhileRecoveryTakesFromItAndEndsAtTheEndOfTheArchive() throws Exception {
        List<String> names = pushRange(1, 8);
        List<String> started = new CopyOnWriteArrayList<>();
        WalPrefetch foreground = WalPrefetch.builder(archive, spool)
                .prefetch(3)
                .background(started::add)
                .build();
        WalPrefetch.Result miss = foreground.fetch(names.get(0), dir.resolve("x"), dataDir);
        assertThat(miss.found()).isTrue();
        assertThat(miss.prefetched()).isZero();
        assertThat(started).containsExactly(names.get(1));
        assertThat(spooled()).isEmpty();

        WalPrefetch filler = WalPrefetch.builder(archive, spool)
                .prefetch(3)
                .fillIdle(Duration.ofSeconds(30))
                .build();
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try {
            Future<Integer> fill = thread.submit(() -> filler.fill(names.get(1), dataDir));
            awaitSpooled(names.subList(1, 4));
            assertThat(filler.fill(names.get(1), dataDir)).as("a second fill").isZero();
            WalPrefetch.Result hit = foreground.fetch(names.get(1), dir.resolve("x"), dataDir);
            assertThat(hit.fromSpool()).isTrue();
            assertThat(started).as("none while one runs").hasSize(1);
            // the shell takes the rest as recovery goes on; the fill tops the spool up to the end
            for (int i = 2; i < 8; i++) {
                awaitSpooled(List.of(names.get(i)));
                assertThat(spooled().size()).isLessThanOrEqualTo(3);
                Files.move(spool.resolve(names.get(i)), dir.resolve("y"), StandardCopyOption.REPLACE_EXISTING);
            }
            assertThat(fill.get(30, TimeUnit.SECONDS)).isEqualTo(7);
            assertThat(spool.resolve(new WalSegment(1, 9, SIZE).name() + ".missing"))
                    .exists();
        } finally {
            thread.shutdownNow();
        }
    }

    @Test
    void aFillThatSeesNobodyTakeFromAFullSpoolEnds() throws Exception {
        List<String> names = pushRange(1, 8);
        assertThat(fillUntilIdle(2, names.get(0))).isEqualTo(2);
        assertThat(spooled()).containsExactly(names.get(0), names.get(1));
    }

    private void awaitSpooled(List<String> wanted) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!spooled().containsAll(wanted)) {
            assertThat(System.nanoTime()).as("spooled " + wanted + " in time").isLessThan(deadline);
            Thread.sleep(20);
        }
    }

    @Test
    void inTheBackgroundTheFirstHistoryLookupStartsAFillSpoolsTheFirstSegmentAndReturns() throws Exception {
        List<String> names = pushRange(1, 30);
        label(names.get(0));
        List<String> started = new CopyOnWriteArrayList<>();
        WalPrefetch p = WalPrefetch.builder(archive, spool)
                .prefetch(20)
                .jobs(1)
                .background(started::add)
                .build();
        assertThat(p.fetch("00000002.history", dir.resolve("h"), dataDir).found())
                .isFalse();
        assertThat(started).containsExactly(names.get(0));
        // recovery waits on this call: the segment it asks for next, and the fill reads ahead after it
        assertThat(spooled()).containsExactly(names.get(0));
        assertThat(fillUntilIdle(20, names.get(0))).isEqualTo(19);
        assertThat(spooled()).containsExactlyElementsOf(names.subList(0, 20));
    }

    @Test
    void aRestorePrimesTheSpoolSoThatRecoverysFirstCallsNeedNoJava() throws Exception {
        List<String> names = pushRange(1, 6);
        label(names.get(1));
        assertThat(WalPrefetch.resetAndPrime(archive, spool, dataDir, WalArchive.LATEST))
                .contains(names.get(1));
        assertThat(spooled()).containsExactly(names.get(1));
        assertThat(Files.getPosixFilePermissions(spool)).isEqualTo(PosixFilePermissions.fromString("rwx------"));

        String command = WalPrefetch.restoreCommand(spool, "echo fetched %f >> calls; exit 7");
        assertThat(shell(command, "00000002.history"))
                .as("the probe for a later timeline")
                .isEqualTo(1);
        assertThat(shell(command, names.get(1))).isZero();
        assertThat(Files.readAllBytes(dir.resolve("pg_wal/RECOVERYXLOG"))).isEqualTo(segmentBytes(1, 2, SYSTEM_ID, 0));
        assertThat(dir.resolve("calls")).as("no call reached the fetch").doesNotExist();

        // a fill goes on after the primed segment
        assertThat(fillUntilIdle(3, names.get(1))).isEqualTo(3);
        assertThat(spooled()).containsExactlyElementsOf(names.subList(2, 5));
    }

    @Test
    void primingSpoolsTheHistoryFilesTheArchiveHoldsAndMarksTheFirstLaterOneMissing() throws Exception {
        WalArchive wal = new WalArchive(archive);
        String first = push(wal, 2, 3, 0);
        push(wal, 2, 4, 0);
        Path h = Files.createDirectories(dir.resolve("h"));
        Files.writeString(h.resolve("00000002.history"), "1\t0/2000000\tno recovery target specified\n");
        Files.writeString(
                h.resolve("00000003.history"),
                "1\t0/2000000\tno recovery target specified\n2\t0/5000000\tno recovery target specified\n");
        wal.push(h.resolve("00000002.history"), dataDir);
        wal.push(h.resolve("00000003.history"), dataDir);
        label(first);

        assertThat(WalPrefetch.resetAndPrime(archive, spool, dataDir, WalArchive.LATEST))
                .contains(first);
        // the backup's own timeline's history, the later one the archive holds, then the first it lacks
        assertThat(Files.readString(spool.resolve("00000002.history"))).startsWith("1\t0/2000000");
        assertThat(Files.readString(spool.resolve("00000003.history"))).contains("2\t0/5000000");
        assertThat(spool.resolve("00000004.history.missing")).exists();
        assertThat(spool.resolve("00000003.history.missing")).doesNotExist();
        assertThat(spooled()).containsExactly(first);
    }

    @Test
    void primingLeavesASpoolInUseAsItIsAndWithoutALabelSpoolsNothing() throws Exception {
        List<String> names = pushRange(1, 4);
        assertThat(WalPrefetch.resetAndPrime(archive, spool, dataDir, WalArchive.LATEST))
                .as("no backup_label")
                .isEmpty();
        assertThat(spooled()).isEmpty();

        label(names.get(0));
        prefetch(2).fetch(names.get(0), dir.resolve("x"), dataDir); // recovery already reads from it
        assertThat(spooled()).containsExactly(names.get(1), names.get(2));
        WalPrefetch p = WalPrefetch.builder(archive, spool).build();
        assertThat(p.prime(dataDir)).isEmpty();
        assertThat(spooled()).containsExactly(names.get(1), names.get(2));
    }

    @Test
    void aPrimingThatFailsLeavesAnEmptySpoolAndTheRestoreGoesOn() throws Exception {
        // the label's segment is damaged in the repository: recovery's own request reports it, the restore does not
        // fail
        List<String> names = pushRange(1, 3);
        damageStored(names.get(0));
        label(names.get(0));
        assertThat(WalPrefetch.resetAndPrime(archive, spool, dataDir, WalArchive.LATEST))
                .isEmpty();
        assertThat(spool).isDirectory();
        try (Stream<Path> s = Files.list(spool)) {
            assertThat(s.map(f -> f.getFileName().toString()).filter(n -> !n.startsWith(".")))
                    .isEmpty();
        }
    }

    @Test
    void aFillStartedWithARestoreWaitsUntilTheRestoreHasPrimedTheSpool() throws Exception {
        List<String> names = pushRange(1, 4);
        label(names.get(0));
        // a restore that is still running (this process): the fill waits for its priming
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try {
            Future<Optional<String>> waiting =
                    thread.submit(() -> WalPrefetch.awaitPrimed(spool, dataDir, Optional.of(ProcessHandle.current())));
            Thread.sleep(200);
            assertThat(waiting).as("waits while the restore runs").isNotDone();
            WalPrefetch.resetAndPrime(archive, spool, dataDir, WalArchive.LATEST);
            assertThat(waiting.get(10, TimeUnit.SECONDS)).contains(names.get(0));
        } finally {
            thread.shutdownNow();
        }
    }

    @Test
    void aFillStartedWithARestoreThatEndedWithoutPrimingEnds() throws Exception {
        pushRange(1, 2);
        Process done = new ProcessBuilder("true").start();
        done.waitFor();
        assertThat(WalPrefetch.awaitPrimed(spool, dataDir, Optional.of(done.toHandle())))
                .isEmpty();
        assertThat(WalPrefetch.awaitPrimed(spool, dataDir, Optional.empty())).isEmpty();
        // nor does a spool an earlier recovery primed, before this restore started
        label(new WalSegment(1, 1, SIZE).name());
        WalPrefetch.resetAndPrime(archive, spool, dataDir, WalArchive.LATEST);
        Files.setLastModifiedTime(
                spool.resolve(".drkit-spool"), FileTime.from(Instant.now().minusSeconds(3600)));
        Process restoring = new ProcessBuilder("sleep", "1").start();
        try {
            assertThat(WalPrefetch.awaitPrimed(spool, dataDir, Optional.of(restoring.toHandle())))
                    .isEmpty();
            // the handle, as the wait saw it: the Process learns of the end a moment later, from its reaper thread
            assertThat(restoring.toHandle().isAlive())
                    .as("waited until the restore ended")
                    .isFalse();
        } finally {
            restoring.destroy();
        }
    }
}
