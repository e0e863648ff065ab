package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.spi.support.FileWrites;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** A chain restore's rebuild of paged files, attacked through forged artifacts and bad luck. */
class ChainRebuildTest {
    private static final String NAME = "base/7/2619";
    private static final int PAGE = PageMaps.PAGE;

    @TempDir
    Path dir;

    private int stagings;

    @Test
    void anArtifactCutShortInsideAFileLeavesNoFileOpenAndNoThreadRunning() throws IOException {
        byte[] file = PageDeltasTest.pages(40, 1);
        byte[] whole = artifact(NAME, file, List.of(blocks(0, 16), blocks(16, 32), blocks(32, 40)));
        byte[] cut = Arrays.copyOf(whole, whole.length - 100); // inside the last frame
        Path staging = staging();
        assertThatThrownBy(() -> {
                    try (ChainRebuild rebuild = new ChainRebuild(staging, List.of(entry(file.length, "0")))) {
                        rebuild.delta(new ByteArrayInputStream(cut), "I/pages-0.bin", Map.of(NAME, (long) file.length));
                    }
                })
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("ends too early");
        assertThat(openFilesUnder(staging))
                .as("files of the restore still open")
                .isEmpty();
        assertThat(Thread.getAllStackTraces().keySet())
                .as("threads of the restore still running")
                .noneMatch(t -> t.getName().startsWith("drkit-pg-frames-"));
    }

    @Test
    void closedWhileInterruptedItStillEndsItsWorkersAndKeepsTheInterrupt() throws IOException {
        byte[] file = PageDeltasTest.pages(16, 2);
        List<Thread> workers;
        try (ChainRebuild rebuild = new ChainRebuild(staging(), List.of(entry(file.length, "0")))) {
            workers = Thread.getAllStackTraces().keySet().stream()
                    .filter(t -> t.getName().startsWith("drkit-pg-frames-"))
                    .toList();
            assertThat(workers).isNotEmpty();
            Thread.currentThread().interrupt(); // as a restore that was interrupted closes it
        }
        assertThat(Thread.interrupted())
                .as("the interrupt is kept for the caller")
                .isTrue();
        assertThat(workers).noneMatch(Thread::isAlive);
    }

    @Test
    void aWorkerThreadThatStopsFailsTheRestoreInsteadOfHangingIt() throws Exception {
        byte[] file = PageDeltasTest.pages(16, 2);
        byte[] deltas = artifact(NAME, file, List.of(blocks(0, 16)));
        Path staging = staging();
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (ChainRebuild rebuild = new ChainRebuild(staging, List.of(entry(file.length, "0")))) {
                for (Thread t : Thread.getAllStackTraces().keySet()) {
                    if (t.getName().startsWith("drkit-pg-frames-")) {
                        t.interrupt();
                        t.join();
                    }
                }
                assertThatThrownBy(() -> {
                            rebuild.delta(new ByteArrayInputStream(deltas), "I/pages-0.bin", Map.of(NAME, (long)
                                    file.length));
                            rebuild.finish();
                        })
                        .isInstanceOf(DrException.class)
                        .hasMessageContaining("interrupted while applying page deltas");
            }
        });
    }

    @Test
    void hugeFilesClaimedByAFileListAndAPageFarOutTakeNoMemoryForPagesNoArtifactHolds() throws IOException {
        long huge = PageMaps.MAX_PAGES * PAGE;
        // more files than the heap could track at a bit a claimed page (and far more at 4 bytes)
        int count = (int) (Runtime.getRuntime().maxMemory() / (PageMaps.MAX_PAGES / 8) + 2);
        List<FileList.FileEntry> claimed = new ArrayList<>();
        Map<String, Long> wanted = new HashMap<>();
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = PageDeltasTest.start(bytes, "DRKPAGE2", "base/7/20000", huge);
        for (int i = 0; i < count; i++) {
            String name = "base/7/" + (20000 + i);
            claimed.add(new FileList.FileEntry(name, huge, 1, "0", "F", "data-0.tar", List.of("I/pages-0.bin")));
            wanted.put(name, huge);
            if (i > 0) {
                byte[] n = name.getBytes(StandardCharsets.UTF_8);
                out.writeShort(n.length);
                out.write(n);
                out.writeLong(huge);
                out.writeInt(PAGE);
            }
            PageDeltasTest.writeFrame(out, new int[] {(int) PageMaps.MAX_PAGES - 1}, new byte[PAGE]);
            out.writeInt(0);
        }
        out.writeShort(0);
        try (ChainRebuild rebuild = new ChainRebuild(staging(), claimed)) {
            rebuild.delta(new ByteArrayInputStream(bytes.toByteArray()), "I/pages-0.bin", wanted);
        }
    }

    @Test
    void pagesWrittenAreFoundAcrossChunks() {
        ChainRebuild.PageSet set = new ChainRebuild.PageSet();
        assertThat(set.nextSetBit(0)).isEqualTo(-1);
        for (int page : new int[] {3, 4095, 4096, 20_000, (int) PageMaps.MAX_PAGES - 1}) {
            set.set(page);
        }
        assertThat(set.get(4095)).isTrue();
        assertThat(set.get(4097)).isFalse();
        assertThat(set.nextSetBit(0)).isEqualTo(3);
        assertThat(set.nextSetBit(4)).isEqualTo(4095);
        assertThat(set.nextSetBit(4097)).isEqualTo(20_000);
        assertThat(set.nextSetBit(20_001)).isEqualTo((int) PageMaps.MAX_PAGES - 1);
        assertThat(set.nextSetBit((int) PageMaps.MAX_PAGES)).isEqualTo(-1);
    }

    @Test
    void aFrameOfSixtyFourPagesAcrossWindowsAndOddShapesRestoreByteForByte() throws IOException {
        byte[] base = PageDeltasTest.pages(70, 3);
        byte[] v1 = Arrays.copyOf(base, 66 * PAGE);
        for (int p = 1; p < 65; p++) {
            PageDeltasTest.fillPage(v1, p, 500 + p);
        }
        PageDeltasTest.fillPage(v1, 65, 999);
        // one frame of the 64 pages 1-64 (four windows), then a single page
        byte[] d1 = artifact(NAME, v1, List.of(blocks(1, 65), blocks(65, 66)));
        assertThat(rebuild(List.of(d1), base, v1)).isEqualTo(v1);
        // a file that is one page, from a base of none
        byte[] one = PageDeltasTest.pages(1, 4);
        assertThat(rebuild(List.of(artifact(NAME, one, List.of(blocks(0, 1)))), new byte[0], one))
                .isEqualTo(one);
        // a file emptied by the newest backup: nothing of the older ones survives
        byte[] d2 = artifact(NAME, new byte[0], List.of());
        assertThat(rebuild(List.of(d2, d1), base, new byte[0])).isEmpty();
    }

    @Test
    void runsLongerThanOneWriteCallAreWrittenWholeAtTheirPlace() throws IOException {
        int pages = 7 * FileWrites.MAX_WRITE / PAGE + 10; // the base runs 6-127 and 128-199 span write calls
        byte[] base = PageDeltasTest.pages(pages, 12);
        byte[] v1 = base.clone();
        for (int p : new int[] {5, 200, pages - 1}) {
            PageDeltasTest.fillPage(v1, p, 7000 + p);
        }
        byte[] d1 = artifact(NAME, v1, List.of(blocks(5, 6), blocks(200, 201), blocks(pages - 1, pages)));
        assertThat(rebuild(List.of(d1), base, v1)).isEqualTo(v1);
    }

    @Test
    void theRestoreIsToldOfEachPartOfABaseVersionWrittenSoThatSyncingItCanStartEarly() throws IOException {
        int pages = (int) (2 * ChainRebuild.WRITTEN_IN_PART / PAGE) + 100; // two parts and a bit
        byte[] base = PageDeltasTest.pages(pages, 13);
        byte[] v1 = base.clone();
        PageDeltasTest.fillPage(v1, 7, 7007);
        byte[] d1 = artifact(NAME, v1, List.of(blocks(7, 8)));
        Path staging = staging();
        FileList.FileEntry entry = new FileList.FileEntry(
                NAME, v1.length, 1_000_000L, PageDeltasTest.crc(v1), "F", "data-0.tar", List.of("I1/pages-0.bin"));
        List<Path> whole = new CopyOnWriteArrayList<>();
        List<Path> parts = new CopyOnWriteArrayList<>();
        List<Long> writtenAtPart = new CopyOnWriteArrayList<>();
        Path file = staging.resolve(NAME);
        try (ChainRebuild rebuild = new ChainRebuild(staging, List.of(entry), whole::add, p -> {
            parts.add(p);
            writtenAtPart.add(p.toFile().length());
        })) {
            rebuild.delta(new ByteArrayInputStream(d1), "I1/pages-0.bin", Map.of(NAME, (long) v1.length));
            rebuild.base(NAME).write(file, new ByteArrayInputStream(base));
            rebuild.finish();
        }
        assertThat(parts).containsExactly(file, file);
        assertThat(writtenAtPart.get(0)).isGreaterThanOrEqualTo(ChainRebuild.WRITTEN_IN_PART);
        assertThat(writtenAtPart.get(1)).isGreaterThanOrEqualTo(2 * ChainRebuild.WRITTEN_IN_PART);
        assertThat(whole).containsExactly(file);
        assertThat(Files.readAllBytes(file)).isEqualTo(v1);
    }

    @Test
    void pagesPastTheSizeOfAnyNewerBackupDoNotSurvive() throws IOException {
        byte[] base = PageDeltasTest.pages(20, 5);
        // v1 cut the file to 4 pages; v2 grew it to 12, storing pages 4-11 with zeros in 8-11
        byte[] v1 = Arrays.copyOf(base, 4 * PAGE);
        byte[] v2 = Arrays.copyOf(v1, 12 * PAGE);
        for (int p = 4; p < 8; p++) {
            PageDeltasTest.fillPage(v2, p, 700 + p);
        }
        byte[] d1 = artifact(NAME, v1, List.of());
        byte[] d2 = artifact(NAME, v2, List.of(blocks(4, 12)));
        assertThat(rebuild(List.of(d2, d1), base, v2)).isEqualTo(v2);
        // v2 stored only pages 4-7 (forged): pages 8-11 are zeros, not the base's, and the check says so
        byte[] thin = artifact(NAME, v2, List.of(blocks(4, 8)));
        assertThat(rebuild(List.of(thin, d1), base, v2)).isEqualTo(v2);
    }

    @Test
    void forgedFramesAreRefused() throws IOException {
        byte[] file = PageDeltasTest.pages(32, 6);
        // the same block in two frames of a file
        byte[] twice = artifact(NAME, file, List.of(blocks(0, 4), blocks(3, 6)));
        assertThatThrownBy(() -> rebuild(List.of(twice), file, file))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("out of order");
        // a frame of more than 64 pages
        byte[] big = PageDeltasTest.pages(80, 8);
        byte[] tooMany = PageDeltasTest.framedClaiming(NAME, big.length, blocks(0, 65), new byte[65 * PAGE]);
        assertThatThrownBy(() -> rebuild(List.of(tooMany), big, big))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("frame of 65 pages");
        // a frame that holds one page more than it claims (a small bomb is refused too)
        byte[] more = PageDeltasTest.framedClaiming(NAME, file.length, new int[] {0}, new byte[2 * PAGE]);
        assertThatThrownBy(() -> rebuild(List.of(more), file, file))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("page deltas");
        byte[] bomb = PageDeltasTest.framedClaiming(NAME, file.length, new int[] {0}, new byte[64 * 1024 * 1024]);
        assertThatThrownBy(() -> rebuild(List.of(bomb), file, file))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("page deltas");
        // the newest deltas give the file another size than the file list
        byte[] shorter = artifact(NAME, Arrays.copyOf(file, 16 * PAGE), List.of(blocks(0, 1)));
        assertThatThrownBy(() -> rebuild(List.of(shorter), file, file))
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("file list records");
    }

    @Test
    void aFifoWhereARebuiltFileGoesIsRefusedWithoutOpeningIt() throws Exception {
        byte[] file = PageDeltasTest.pages(2, 9);
        Path staging = staging();
        Process mkfifo = new ProcessBuilder("mkfifo", staging.resolve(NAME).toString()).start();
        assertThat(mkfifo.waitFor()).isZero();
        assertTimeoutPreemptively(
                Duration.ofSeconds(60),
                () -> assertThatThrownBy(() -> {
                            try (ChainRebuild rebuild = new ChainRebuild(staging, List.of(entry(file.length, "0")))) {
                                rebuild.delta(
                                        new ByteArrayInputStream(artifact(NAME, file, List.of(blocks(0, 2)))),
                                        "I/pages-0.bin",
                                        Map.of(NAME, (long) file.length));
                            }
                        })
                        .isInstanceOf(CorruptDataException.class)
                        .hasMessageContaining("already stands"));
    }

    @Test
    void aBaseVersionGivenTwiceIsRefused() throws IOException {
        byte[] file = PageDeltasTest.pages(2, 7);
        Path staging = staging();
        try (ChainRebuild rebuild = new ChainRebuild(staging, List.of(entry(file.length, PageDeltasTest.crc(file))))) {
            rebuild.delta(
                    new ByteArrayInputStream(artifact(NAME, file, List.of())), "I/pages-0.bin", Map.of(NAME, (long)
                            file.length));
            rebuild.base(NAME).write(staging.resolve(NAME), new ByteArrayInputStream(file));
            assertThatThrownBy(() -> rebuild.base(NAME)
                            .write(staging.resolve(NAME), new ByteArrayInputStream(new byte[file.length])))
                    .isInstanceOf(CorruptDataException.class)
                    .hasMessageContaining("two base versions");
        }
    }

    /**
     * A chain of five backups that each change a scattered third of the pages, cut and grow the
     * file, and the older version of each page on disk in every older delta.
     */
    private static final class Chain {
        final byte[] base = PageDeltasTest.pages(300, 11);
        final List<byte[]> versions = new ArrayList<>(); // oldest first, after the base
        final List<byte[]> deltas = new ArrayList<>(); // oldest first

        Chain() throws IOException {
            byte[] previous = base;
            int[] sizes = {300, 250, 320, 320, 280};
            Random random = new Random(5);
            for (int v = 0; v < sizes.length; v++) {
                byte[] now = Arrays.copyOf(previous, sizes[v] * PAGE);
                List<Integer> changed = new ArrayList<>();
                for (int p = 0; p < sizes[v]; p++) {
                    boolean grown = p * PAGE >= previous.length;
                    if (grown || random.nextInt(3) == 0) {
                        PageDeltasTest.fillPage(now, p, 1000L * v + p);
                        changed.add(p);
                    }
                }
                // frames of the changed pages of each 16-page window, as backups write them
                List<int[]> frames = new ArrayList<>();
                for (int w = 0; w * 16 < sizes[v]; w++) {
                    int window = w;
                    int[] f = changed.stream()
                            .filter(p -> p / 16 == window)
                            .mapToInt(Integer::intValue)
                            .toArray();
                    if (f.length > 0) {
                        frames.add(f);
                    }
                }
                versions.add(now);
                deltas.add(artifact(NAME, now, frames));
                previous = now;
            }
        }

        byte[] newest() {
            return versions.get(versions.size() - 1);
        }

        String id(int oldestFirst) {
            return "B" + oldestFirst + "/pages-0.bin";
        }

        FileList.FileEntry entry() {
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < deltas.size(); i++) {
                ids.add(id(i));
            }
            return new FileList.FileEntry(
                    NAME, newest().length, 1_000_000L, PageDeltasTest.crc(newest()), "F", "data-0.tar", ids);
        }

        Map<String, Long> wanted(int oldestFirst) {
            return Map.of(NAME, oldestFirst == deltas.size() - 1 ? (long) newest().length : -1L);
        }
    }

    /** Frames held for the base writer: none (all to the workers), some, as many as come. */
    @ParameterizedTest
    @ValueSource(ints = {0, 24, -1})
    void deltasAndTheBaseReadSideBySideInAnyOrderGiveTheNewestVersionOfEveryPage(int heldKib) throws Exception {
        Chain chain = new Chain();
        for (int round = 0; round < 5; round++) {
            Path staging = staging();
            List<Path> whole = new CopyOnWriteArrayList<>();
            List<byte[]> atWhole = new CopyOnWriteArrayList<>();
            assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
                try (ChainRebuild rebuild = new ChainRebuild(
                        staging,
                        List.of(chain.entry()),
                        file -> {
                            whole.add(file);
                            try {
                                atWhole.add(Files.readAllBytes(file));
                            } catch (IOException e) {
                                throw new UncheckedIOException(e);
                            }
                        },
                        heldKib)) {
                    List<Thread> threads = new ArrayList<>();
                    List<Throwable> failures = new CopyOnWriteArrayList<>();
                    // the base and the oldest deltas start first, the newest last and late: without
                    // the wavefront an older backup's pages would win
                    threads.add(start(
                            failures,
                            () -> rebuild.base(NAME)
                                    .write(staging.resolve(NAME), new ByteArrayInputStream(chain.base))));
                    for (int i = 0; i < chain.deltas.size(); i++) {
                        int d = i;
                        threads.add(start(failures, () -> {
                            if (d == chain.deltas.size() - 1) {
                                Thread.sleep(100);
                            }
                            rebuild.delta(new ByteArrayInputStream(chain.deltas.get(d)), chain.id(d), chain.wanted(d));
                        }));
                    }
                    for (Thread t : threads) {
                        t.join();
                    }
                    assertThat(failures).isEmpty();
                    rebuild.finish();
                }
            });
            assertThat(Files.readAllBytes(staging.resolve(NAME))).isEqualTo(chain.newest());
            assertThat(whole).as("told once, when whole").containsExactly(staging.resolve(NAME));
            // whole before finish sets the size: the pages up to the newest size are the newest already
            assertThat(Arrays.copyOf(atWhole.get(0), chain.newest().length)).isEqualTo(chain.newest());
        }
    }

    @Test
    void aNewerDeltaThatFailsReleasesTheOlderOnesAndTheBaseWaitingForIt() throws Exception {
        Chain chain = new Chain();
        byte[] newest = chain.deltas.get(chain.deltas.size() - 1);
        byte[] cut = Arrays.copyOf(newest, newest.length / 2);
        Path staging = staging();
        List<Path> whole = new CopyOnWriteArrayList<>();
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (ChainRebuild rebuild = new ChainRebuild(staging, List.of(chain.entry()), whole::add)) {
                List<Throwable> failures = new CopyOnWriteArrayList<>();
                List<Thread> threads = new ArrayList<>();
                threads.add(start(
                        failures,
                        () -> rebuild.base(NAME).write(staging.resolve(NAME), new ByteArrayInputStream(chain.base))));
                for (int i = 0; i < chain.deltas.size(); i++) {
                    int d = i;
                    byte[] bytes = d == chain.deltas.size() - 1 ? cut : chain.deltas.get(d);
                    threads.add(start(
                            failures,
                            () -> rebuild.delta(new ByteArrayInputStream(bytes), chain.id(d), chain.wanted(d))));
                }
                for (Thread t : threads) {
                    t.join();
                }
                assertThat(failures)
                        .hasSize(chain.deltas.size() + 1)
                        .allSatisfy(f -> assertThat(f)
                                .isInstanceOf(CorruptDataException.class)
                                .hasMessageContaining("ends too early"));
            }
        });
        assertThat(whole).as("a file left unfinished is never called whole").isEmpty();
    }

    @Test
    void readersRunNewestFirstOnAFewThreadsAndEachOnlyWaitsOnOnesAlreadyRunning() throws Exception {
        try (ChainRebuild rebuild = new ChainRebuild(staging(), List.of())) {
            int readers = 200;
            List<CountDownLatch> done = new ArrayList<>();
            for (int i = 0; i < readers; i++) {
                done.add(new CountDownLatch(1));
            }
            AtomicInteger inside = new AtomicInteger();
            AtomicInteger most = new AtomicInteger();
            List<ParallelIo.IoTask> tasks = new ArrayList<>();
            for (int i = 0; i < readers; i++) {
                int index = i;
                tasks.add(
                        () -> { // as an older backup's reader waits on the newer ones it shares files with
                            most.accumulateAndGet(inside.incrementAndGet(), Math::max);
                            try {
                                if (index > 0 && !done.get(index - 1).await(30, TimeUnit.SECONDS)) {
                                    throw new IOException("reader " + index + " waited on one that never ran");
                                }
                            } catch (InterruptedException e) {
                                throw new IOException(e);
                            } finally {
                                inside.decrementAndGet();
                            }
                            done.get(index).countDown();
                        });
            }
            List<ParallelIo.IoTask> pool = rebuild.inOrder(tasks);
            assertThat(pool).hasSizeBetween(4, 16);
            assertTimeoutPreemptively(
                    Duration.ofSeconds(60), () -> ParallelIo.runAll("test-readers", pool, "reading in order"));
            assertThat(done).allMatch(l -> l.getCount() == 0);
            assertThat(most.get()).isLessThanOrEqualTo(pool.size());
        }
    }

    @Test
    void aFileListNamingTheSameDeltasTwiceForAFileIsRefused() throws IOException {
        FileList.FileEntry twice = new FileList.FileEntry(
                NAME, PAGE, 1, "0", "F", "data-0.tar", List.of("I/pages-0.bin", "J/pages-0.bin", "I/pages-0.bin"));
        assertThatThrownBy(() -> new ChainRebuild(staging(), List.of(twice)).close())
                .isInstanceOf(CorruptDataException.class)
                .hasMessageContaining("same page deltas twice");
    }

    private interface Work {
        void run() throws Exception;
    }

    private static Thread start(List<Throwable> failures, Work work) {
        Thread t = new Thread(() -> {
            try {
                work.run();
            } catch (Throwable e) {
                failures.add(e);
            }
        });
        t.start();
        return t;
    }

    /** Rebuilds NAME from {@code deltas} (newest first, each giving the file its size then) over {@code base}. */
    private byte[] rebuild(List<byte[]> deltas, byte[] base, byte[] expected) throws IOException {
        Path staging = staging();
        List<String> ids = new ArrayList<>();
        for (int i = deltas.size(); i > 0; i--) {
            ids.add("I" + i + "/pages-0.bin");
        }
        FileList.FileEntry entry = new FileList.FileEntry(
                NAME, expected.length, 1_000_000L, PageDeltasTest.crc(expected), "F", "data-0.tar", ids);
        try (ChainRebuild rebuild = new ChainRebuild(staging, List.of(entry))) {
            for (int i = 0; i < deltas.size(); i++) {
                rebuild.delta(
                        new ByteArrayInputStream(deltas.get(i)),
                        ids.get(ids.size() - 1 - i),
                        Map.of(NAME, i == 0 ? (long) expected.length : -1L));
            }
            rebuild.base(NAME).write(staging.resolve(NAME), new ByteArrayInputStream(base));
            rebuild.finish();
        }
        return Files.readAllBytes(staging.resolve(NAME));
    }

    private static FileList.FileEntry entry(long size, String crc) {
        return new FileList.FileEntry(NAME, size, 1, crc, "F", "data-0.tar", List.of("I/pages-0.bin"));
    }

    /** A staging directory of its own, with the directory of NAME in it. */
    private Path staging() throws IOException {
        return Files.createDirectories(dir.resolve(stagings++ + "/" + NAME).getParent())
                .getParent()
                .getParent();
    }

    private static int[] blocks(int from, int to) {
        int[] b = new int[to - from];
        Arrays.setAll(b, i -> from + i);
        return b;
    }

    /** A {@code DRKPAGE2} delta artifact of {@code file} holding the pages of {@code frames}. */
    private static byte[] artifact(String name, byte[] file, List<int[]> frames) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        DataOutputStream out = PageDeltasTest.start(bytes, "DRKPAGE2", name, file.length);
        PageDeltasTest.writeFrames(out, file, frames);
        out.writeInt(0);
        out.writeShort(0);
        return bytes.toByteArray();
    }

    /** The files under {@code root} this process holds open. */
    private static List<String> openFilesUnder(Path root) throws IOException {
        String prefix = root.toRealPath().toString();
        List<String> open = new ArrayList<>();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith(prefix)) {
                        open.add(target);
                    }
                } catch (IOException gone) {
                    // closed while listed
                }
            }
        }
        return open;
    }
}
