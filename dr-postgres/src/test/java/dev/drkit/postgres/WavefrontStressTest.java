package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.DataOutputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Random chains of many files sharing artifacts, read as the restore reads them (the deltas on
 * the few threads of {@link ChainRebuild#inOrder}, the base versions beside them), started in
 * random order over slow, chunked streams: every file is rebuilt right and called whole once.
 */
class WavefrontStressTest {
    private static final int PAGE = PageMaps.PAGE;

    @TempDir
    Path dir;

    @Test
    void randomChainsSharingArtifactsRebuildEveryFileOnceAndRight() throws Exception {
        for (int round = 0; round < Integer.getInteger("rounds", 30); round++) {
            run(round, false);
        }
    }

    /**
     * Large files: sparse frames across the base writer's 128-page windows, base versions of
     * any length (a partial last page, longer or shorter than the cut), compressible pages, and
     * budgets for held frames from none to all.
     */
    @Test
    void randomLargeFilesAcrossTheBaseWritersWindowsRebuildByteForByte() throws Exception {
        for (int round = 0; round < Integer.getInteger("rounds", 30); round++) {
            run(1000 + round, true);
        }
    }

    private static void fill(byte[] b, int page, Random r) {
        if (r.nextInt(3) == 0) {
            Arrays.fill(b, page * PAGE, page * PAGE + PAGE, (byte) r.nextInt(4)); // compressible
            b[page * PAGE + r.nextInt(PAGE)] = (byte) r.nextInt();
        } else {
            PageDeltasTest.fillPage(b, page, r.nextLong());
        }
    }

    private void run(long seed, boolean large) throws Exception {
        Random r = new Random(seed);
        int backups = large ? 1 + r.nextInt(4) : 2 + r.nextInt(5);
        int perBackup = 1 + r.nextInt(large ? 2 : 3);
        int files = large ? 1 + r.nextInt(3) : 2 + r.nextInt(6);
        // per artifact key: file -> (version bytes, frames)
        Map<String, LinkedHashMap<String, Object[]>> artifacts = new TreeMap<>();
        Map<String, byte[]> base = new HashMap<>();
        Map<String, byte[]> newest = new HashMap<>();
        List<FileList.FileEntry> entries = new ArrayList<>();
        for (int f = 0; f < files; f++) {
            String name = "base/7/" + (1000 + f);
            byte[] prev;
            if (large) {
                int length = r.nextInt(700 * PAGE);
                prev = new byte[r.nextBoolean() ? length - length % PAGE : length];
                r.nextBytes(prev);
            } else {
                prev = PageDeltasTest.pages(r.nextInt(60), seed * 100 + f);
            }
            base.put(name, prev);
            prev = Arrays.copyOf(prev, (prev.length + PAGE - 1) / PAGE * PAGE); // a partial page reads as zeros
            List<String> deltas = new ArrayList<>();
            for (int b = 0; b < backups; b++) {
                if (r.nextInt(3) == 0 && !(b == backups - 1 && deltas.isEmpty())) {
                    continue;
                }
                int size = large ? r.nextInt(700) : Math.max(0, prev.length / PAGE + r.nextInt(21) - 10);
                int density = large ? 3 * (1 + r.nextInt(8)) : 3;
                byte[] now = Arrays.copyOf(prev, size * PAGE);
                List<Integer> changed = new ArrayList<>();
                for (int p = 0; p < size; p++) {
                    boolean grown = p * PAGE >= prev.length;
                    if ((grown && (!large || r.nextBoolean())) || r.nextInt(density) == 0) {
                        fill(now, p, r);
                        changed.add(p);
                    }
                }
                List<int[]> frames = new ArrayList<>();
                for (int i = 0; i < changed.size(); ) {
                    int n = Math.min(changed.size() - i, 1 + r.nextInt(r.nextBoolean() ? 16 : 64));
                    frames.add(changed.subList(i, i + n).stream()
                            .mapToInt(Integer::intValue)
                            .toArray());
                    i += n;
                }
                String key = "B" + b + "/pages-" + r.nextInt(perBackup) + ".bin";
                artifacts.computeIfAbsent(key, k -> new LinkedHashMap<>()).put(name, new Object[] {now, frames});
                deltas.add(key);
                prev = now;
            }
            newest.put(name, prev);
            entries.add(new FileList.FileEntry(
                    name, prev.length, 1000L, PageDeltasTest.crc(prev), "F", "data-0.tar", deltas));
        }
        Map<String, byte[]> bytes = new HashMap<>();
        for (Map.Entry<String, LinkedHashMap<String, Object[]>> a : artifacts.entrySet()) {
            List<String> order = new ArrayList<>(a.getValue().keySet());
            Collections.shuffle(order, r);
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            DataOutputStream d = new DataOutputStream(out);
            d.write("DRKPAGE2".getBytes(StandardCharsets.US_ASCII));
            for (String name : order) {
                byte[] now = (byte[]) a.getValue().get(name)[0];
                @SuppressWarnings("unchecked")
                List<int[]> frames = (List<int[]>) a.getValue().get(name)[1];
                byte[] n = name.getBytes(StandardCharsets.UTF_8);
                d.writeShort(n.length);
                d.write(n);
                d.writeLong(now.length);
                d.writeInt(PAGE);
                PageDeltasTest.writeFrames(d, now, frames);
                d.writeInt(0);
            }
            d.writeShort(0);
            bytes.put(a.getKey(), out.toByteArray());
        }
        // the restore's wanted maps and reading order
        Map<String, Map<String, Long>> wanted = PhysicalRestore.deltaArtifacts(entries);
        List<String> newestFirst = new ArrayList<>(PhysicalRestore.chainOrder(entries));
        Collections.reverse(newestFirst);
        List<String> order = PhysicalRestore.readingOrder(wanted.keySet(), newestFirst);
        Path staging = Files.createDirectories(dir.resolve(seed + "/base/7"))
                .getParent()
                .getParent();
        Map<Path, AtomicInteger> whole = new ConcurrentHashMap<>();
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            // frames held for the base writers: none, a few, as many as come
            int heldKib = new int[] {0, 9, 16, 100, 600, 3000, -1}[(int) (seed % 7)];
            try (ChainRebuild rebuild = new ChainRebuild(
                    staging,
                    entries,
                    p -> whole.computeIfAbsent(p, k -> new AtomicInteger()).incrementAndGet(),
                    heldKib)) {
                List<ParallelIo.IoTask> readers = new ArrayList<>();
                for (String key : order) {
                    long s = r.nextLong();
                    readers.add(() -> rebuild.delta(slow(bytes.get(key), s), key, wanted.get(key)));
                }
                List<Runnable> tasks = new ArrayList<>();
                for (ParallelIo.IoTask reader : rebuild.inOrder(readers)) { // as the restore runs them
                    tasks.add(() -> {
                        try {
                            reader.run();
                        } catch (Throwable t) {
                            failures.add(t);
                        }
                    });
                }
                List<String> names = new ArrayList<>(base.keySet());
                Collections.shuffle(names, r);
                for (int w = 0; w < 2; w++) {
                    int first = w;
                    long s = r.nextLong();
                    tasks.add(() -> {
                        try {
                            for (int i = first; i < names.size(); i += 2) {
                                String name = names.get(i);
                                rebuild.base(name).write(staging.resolve(name), slow(base.get(name), s + i));
                            }
                        } catch (Throwable t) {
                            failures.add(t);
                        }
                    });
                }
                Collections.shuffle(tasks, r);
                List<Thread> threads = new ArrayList<>();
                for (Runnable t : tasks) {
                    Thread th = new Thread(t);
                    th.start();
                    threads.add(th);
                }
                for (Thread t : threads) {
                    t.join();
                }
                assertThat(failures).as("seed %d, held %d KiB", seed, heldKib).isEmpty();
                rebuild.finish();
            }
        });
        for (String name : newest.keySet()) {
            assertThat(Files.readAllBytes(staging.resolve(name)))
                    .as("seed %d %s", seed, name)
                    .isEqualTo(newest.get(name));
            assertThat(whole.get(staging.resolve(name)))
                    .as("seed %d whole %s", seed, name)
                    .hasValue(1);
        }
    }

    /** Reads in small random pieces with short random pauses. */
    private static InputStream slow(byte[] bytes, long seed) {
        Random r = new Random(seed);
        return new FilterInputStream(new ByteArrayInputStream(bytes)) {
            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                if (r.nextInt(8) == 0) {
                    try {
                        Thread.sleep(1);
                    } catch (InterruptedException e) {
                        throw new InterruptedIOException();
                    }
                }
                return super.read(b, off, Math.min(len, 1 + r.nextInt(40000)));
            }
        };
    }
}
