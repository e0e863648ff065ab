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
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * A base version's stream failing half-way, a base writer interrupted, or a wrong recorded CRC,
 * with frames held or not: the rebuild fails at once, nothing is left open or running.
 */
class ChainRebuildFailureTest {
    private static final int PAGE = PageMaps.PAGE;

    @TempDir
    Path dir;

    @Test
    void baseFailsOrIsInterruptedMidFile() throws Exception {
        for (int mode = 0; mode < 3; mode++) {
            for (int held : new int[] {0, 40, -1}) {
                run(mode, held);
            }
        }
    }

    private void run(int mode, int heldKib) throws Exception {
        Random r = new Random(mode * 10 + heldKib);
        int files = 3;
        Path staging = Files.createDirectories(dir.resolve(mode + "_" + heldKib + "/base/7"))
                .getParent()
                .getParent();
        List<FileList.FileEntry> entries = new ArrayList<>();
        Map<String, byte[]> base = new HashMap<>();
        ByteArrayOutputStream[] outs = {new ByteArrayOutputStream(), new ByteArrayOutputStream()};
        DataOutputStream[] ds = {new DataOutputStream(outs[0]), new DataOutputStream(outs[1])};
        for (DataOutputStream d : ds) d.write("DRKPAGE2".getBytes(StandardCharsets.US_ASCII));
        for (int f = 0; f < files; f++) {
            String name = "base/7/" + (1000 + f);
            byte[] b = PageDeltasTest.pages(600, f);
            base.put(name, b);
            for (int k = 0; k < 2; k++) {
                byte[] now = PageDeltasTest.pages(600, 100 + f * 10 + k);
                List<int[]> frames = new ArrayList<>();
                for (int s = 0; s < 600; s += 64) {
                    List<Integer> pick = new ArrayList<>();
                    for (int p = s; p < Math.min(600, s + 64); p++) if (r.nextInt(3) == 0) pick.add(p);
                    if (!pick.isEmpty())
                        frames.add(pick.stream().mapToInt(Integer::intValue).toArray());
                }
                byte[] n = name.getBytes(StandardCharsets.UTF_8);
                ds[k].writeShort(n.length);
                ds[k].write(n);
                ds[k].writeLong(600L * PAGE);
                ds[k].writeInt(PAGE);
                PageDeltasTest.writeFrames(ds[k], now, frames);
                ds[k].writeInt(0);
            }
            entries.add(new FileList.FileEntry(
                    name, 600L * PAGE, 1L, "00000000", "F", "data-0.tar", List.of("A/p.bin", "B/p.bin")));
        }
        for (DataOutputStream d : ds) d.writeShort(0);
        Map<String, Map<String, Long>> wanted = PhysicalRestore.deltaArtifacts(entries);
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        assertTimeoutPreemptively(Duration.ofSeconds(60), () -> {
            try (ChainRebuild rebuild = new ChainRebuild(staging, entries, p -> {}, heldKib)) {
                List<ParallelIo.IoTask> readers = List.of(
                        () -> rebuild.delta(
                                new ByteArrayInputStream(outs[1].toByteArray()), "B/p.bin", wanted.get("B/p.bin")),
                        () -> rebuild.delta(
                                new ByteArrayInputStream(outs[0].toByteArray()), "A/p.bin", wanted.get("A/p.bin")));
                List<Thread> threads = new ArrayList<>();
                for (ParallelIo.IoTask t : rebuild.inOrder(readers)) {
                    Thread th = new Thread(() -> {
                        try {
                            t.run();
                        } catch (Throwable e) {
                            failures.add(e);
                        }
                    });
                    threads.add(th);
                }
                Thread baseThread = new Thread(() -> {
                    try {
                        for (FileList.FileEntry e : entries) {
                            byte[] b = base.get(e.name());
                            InputStream in = new FilterInputStream(new ByteArrayInputStream(b)) {
                                long read;

                                @Override
                                public int read(byte[] buf, int off, int len) throws IOException {
                                    if (mode == 0 && read > 300 * PAGE) throw new IOException("storage failed");
                                    if (mode == 1 && read > 300 * PAGE) {
                                        try {
                                            Thread.sleep(600_000);
                                        } catch (InterruptedException x) {
                                            throw new InterruptedIOException();
                                        }
                                    }
                                    int n = super.read(buf, off, Math.min(len, 64 * 1024));
                                    if (n > 0) read += n;
                                    return n;
                                }
                            };
                            rebuild.base(e.name()).write(staging.resolve(e.name()), in);
                        }
                    } catch (Throwable e) {
                        rebuild.failed(e);
                        failures.add(e);
                    }
                });
                threads.add(baseThread);
                threads.forEach(Thread::start);
                if (mode == 1) {
                    Thread.sleep(500);
                    baseThread.interrupt();
                }
                for (Thread t : threads) t.join();
                if (mode == 2) {
                    // CRC "00000000" is wrong: finish must fail, not hang
                    try {
                        rebuild.finish();
                    } catch (Throwable e) {
                        failures.add(e);
                    }
                }
            }
        });
        assertThat(failures).as("mode %d held %d", mode, heldKib).isNotEmpty();
        List<String> open = new ArrayList<>();
        String prefix = staging.toRealPath().toString();
        try (Stream<Path> fds = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : fds.toList()) {
                try {
                    String t = Files.readSymbolicLink(fd).toString();
                    if (t.startsWith(prefix)) open.add(t);
                } catch (IOException gone) {
                }
            }
        }
        assertThat(open).as("open files mode %d held %d", mode, heldKib).isEmpty();
        assertThat(Thread.getAllStackTraces().keySet())
                .noneMatch(t -> t.getName().startsWith("drkit-pg-frames"));
    }
}
