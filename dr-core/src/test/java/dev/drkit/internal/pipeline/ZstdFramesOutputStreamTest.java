package dev.drkit.internal.pipeline;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.sun.management.ThreadMXBean;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.management.ManagementFactory;
import java.lang.reflect.Field;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.List;
import java.util.Random;
import java.util.Set;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class ZstdFramesOutputStreamTest {
    static final int FRAME = ZstdFramesOutputStream.FRAME;

    /** Text-like bytes that compress (a row number, a random field), {@code n} of them. */
    private static byte[] data(int n) {
        byte[] b = new byte[n];
        Random r = new Random(n);
        for (int i = 0; i < n; i++) {
            b[i] = (byte) (i % 61 == 0 ? '\n' : 'a' + (i % 7 == 0 ? r.nextInt(26) : i % 26));
        }
        return b;
    }

    /** The compressed size of each frame, as a zstd reader finds them one after another. */
    private static List<Long> frames(byte[] stored) {
        List<Long> sizes = new ArrayList<>();
        for (int at = 0; at < stored.length; ) {
            long n = Zstd.findFrameCompressedSize(stored, at);
            assertThat(Zstd.isError(n)).as("a frame at %d", at).isFalse();
            sizes.add(n);
            at += (int) n;
        }
        return sizes;
    }

    @ParameterizedTest
    @CsvSource({
        "0, 0, 1",
        "1, 0, 1",
        "4194303, 0, 1",
        "4194304, 0, 1",
        "4194305, 2, 2",
        "12583035, 0, 4",
        "12583035, 2, 4",
        "12583035, 1, 4"
    })
    void writesIndependentFramesOfAFixedInputSizeThatDecompressAsOneStream(int size, int workers, int frames)
            throws IOException {
        byte[] data = data(size);
        ByteArrayOutputStream stored = new ByteArrayOutputStream();
        try (OutputStream out = new ZstdFramesOutputStream(stored, 3, workers)) {
            // uneven writes, across frame boundaries
            for (int at = 0; at < size; ) {
                int n = Math.min(size - at, 1 + (at % 700_001));
                out.write(data, at, n);
                at += n;
            }
        }
        byte[] s = stored.toByteArray();
        assertThat(frames(s)).hasSize(frames);
        // each frame holds its own content size and decompresses on its own
        long first = Zstd.getFrameContentSize(s, 0, s.length);
        assertThat(first).isEqualTo(Math.min(size, FRAME));
        try (InputStream in = Compression.ZSTD.decompress(new ByteArrayInputStream(s))) {
            assertThat(in.readAllBytes()).isEqualTo(data);
        }
        assertThat(Zstd.decompress(s, size)).isEqualTo(data);
        if (size > 1000) {
            assertThat(s.length).isLessThan(size / 2);
        }
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 2})
    void flushEndsTheFrameSoThatWhatWasWrittenReachesTheStream(int workers) throws IOException {
        byte[] data = data(10_000);
        ByteArrayOutputStream stored = new ByteArrayOutputStream();
        OutputStream out = new ZstdFramesOutputStream(stored, 3, workers);
        out.write(data, 0, 4000);
        out.flush();
        try (InputStream in = Compression.ZSTD.decompress(new ByteArrayInputStream(stored.toByteArray()))) {
            assertThat(in.readAllBytes()).isEqualTo(Arrays.copyOf(data, 4000));
        }
        out.write(data, 4000, 6000);
        out.close();
        out.close(); // twice is harmless
        assertThat(frames(stored.toByteArray())).hasSize(2);
        try (InputStream in = Compression.ZSTD.decompress(new ByteArrayInputStream(stored.toByteArray()))) {
            assertThat(in.readAllBytes()).isEqualTo(data);
        }
        assertThatThrownBy(() -> out.write(1)).isInstanceOf(IOException.class).hasMessageContaining("closed");
    }

    /** A destination whose single-byte writes fail, and its array writes too when {@code arrays}. */
    private static OutputStream diskFull(boolean arrays) {
        return new OutputStream() {
            @Override
            public void write(int b) throws IOException {
                throw new IOException("disk full");
            }

            @Override
            public void write(byte[] b, int off, int len) throws IOException {
                if (arrays) {
                    throw new IOException("disk full");
                }
            }
        };
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 2})
    void aFailingDestinationFailsTheWriteOrTheClose(int workers) {
        OutputStream broken = diskFull(true);
        byte[] data = data(3 * FRAME);
        assertThatThrownBy(() -> {
                    try (OutputStream out = new ZstdFramesOutputStream(broken, 3, workers)) {
                        out.write(data);
                    }
                })
                .isInstanceOf(IOException.class)
                .hasMessageContaining("disk full");
    }

    @ParameterizedTest
    @ValueSource(ints = {1, 3, 6})
    void compressionPicksTheFramesForLevelsUpToSixAndTheStreamAbove(int level) throws IOException {
        byte[] data = data(FRAME + 10);
        ByteArrayOutputStream stored = new ByteArrayOutputStream();
        try (OutputStream out = Compression.ZSTD.compress(stored, level, 0)) {
            out.write(data);
        }
        assertThat(frames(stored.toByteArray())).hasSize(2);
        ByteArrayOutputStream high = new ByteArrayOutputStream();
        try (OutputStream out = Compression.ZSTD.compress(high, 7, 0)) {
            out.write(data);
        }
        assertThat(frames(high.toByteArray())).hasSize(1);
    }

    /** Live compression threads of every stream. */
    private static Set<Thread> zstdThreads() {
        return Thread.getAllStackTraces().keySet().stream()
                .filter(t -> t.getName().equals("drkit-zstd") && t.isAlive())
                .collect(Collectors.toSet());
    }

    /** Waits until none of the compression threads but {@code before} is alive; false on timeout. */
    private static boolean threadsEnd(Set<Thread> before, long millis) throws InterruptedException {
        long end = System.nanoTime() + millis * 1_000_000;
        while (System.nanoTime() < end) {
            Set<Thread> now = zstdThreads();
            now.removeAll(before);
            if (now.isEmpty()) {
                return true;
            }
            Thread.sleep(20);
        }
        return false;
    }

    /** The stream's compression contexts that are still open (their native memory not freed). */
    private static List<ZstdCompressCtx> openContexts(OutputStream stream) throws ReflectiveOperationException {
        Field f = ZstdFramesOutputStream.class.getDeclaredField("contexts");
        f.setAccessible(true);
        List<ZstdCompressCtx> open = new ArrayList<>();
        for (Object o : (Collection<?>) f.get(stream)) {
            ZstdCompressCtx ctx = (ZstdCompressCtx) o;
            try {
                ctx.compress(new byte[1]);
                open.add(ctx);
            } catch (IllegalStateException closed) {
                // freed
            }
        }
        return open;
    }

    @ParameterizedTest
    @ValueSource(ints = {0, 2})
    void aFailedWriteFailsTheCloseInsteadOfLeavingAHoleInTheFrames(int workers) throws IOException {
        ByteArrayOutputStream stored = new ByteArrayOutputStream();
        int[] calls = {0};
        OutputStream blip = new OutputStream() { // the second frame's write fails, the others would not
                    @Override
                    public void write(int b) throws IOException {
                        write(new byte[] {(byte) b}, 0, 1);
                    }

                    @Override
                    public void write(byte[] b, int off, int len) throws IOException {
                        if (++calls[0] == 2) {
                            throw new IOException("connection reset");
                        }
                        stored.write(b, off, len);
                    }
                };
        byte[] data = data(5 * FRAME);
        OutputStream out = new ZstdFramesOutputStream(blip, 3, workers);
        assertThatThrownBy(() -> out.write(data)).hasMessageContaining("connection reset");
        assertThatThrownBy(out::close).isInstanceOf(IOException.class);
        // whatever reached the destination is a prefix of what was written, never data with a frame missing
        byte[] s = stored.toByteArray();
        try (InputStream in = Compression.ZSTD.decompress(new ByteArrayInputStream(s))) {
            byte[] got = in.readAllBytes();
            assertThat(got).isEqualTo(Arrays.copyOf(data, got.length));
        }
        assertThatThrownBy(() -> out.write(1)).isInstanceOf(IOException.class);
    }

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void anExceptionInsideCloseLeavesNoThreadAndNoOpenContext(boolean interrupt) throws Exception {
        Set<Thread> before = zstdThreads();
        OutputStream broken = diskFull(!interrupt);
        OutputStream out = new ZstdFramesOutputStream(broken, 3, 2);
        out.write(data(2 * FRAME + (3 << 20))); // two frames compressing, a third in the buffer
        if (interrupt) {
            Thread.currentThread().interrupt(); // a backup cancelled
        }
        try {
            assertThatThrownBy(out::close).isInstanceOf(IOException.class);
        } finally {
            Thread.interrupted();
        }
        assertThat(threadsEnd(before, 10_000)).as("the compression threads end").isTrue();
        assertThat(openContexts(out)).as("compression contexts left open").isEmpty();
    }

    @Test
    void anAbandonedStreamKeepsNoThreadAndNoOpenContext() throws Exception {
        // a backup that fails with an Error never closes its artifact
        Set<Thread> before = zstdThreads();
        OutputStream out = new ZstdFramesOutputStream(OutputStream.nullOutputStream(), 3, 2);
        out.write(data(3 * FRAME + 10));
        Set<Thread> started = zstdThreads();
        started.removeAll(before); // not a count: threads of an earlier test may end meanwhile
        assertThat(started).as("the stream's compression threads").isNotEmpty();
        assertThat(threadsEnd(before, 10_000)).as("the compression threads end").isTrue();
        assertThat(openContexts(out)).as("compression contexts left open").isEmpty();
    }

    @Test
    void aSmallArtifactOnWorkersCostsNoFrameOfMemory() throws IOException {
        ThreadMXBean threads = (ThreadMXBean) ManagementFactory.getThreadMXBean();
        byte[] data = data(1000);
        for (int i = 0; i < 3; i++) { // the last round, warm
            long start = threads.getCurrentThreadAllocatedBytes();
            ByteArrayOutputStream stored = new ByteArrayOutputStream();
            OutputStream out = new ZstdFramesOutputStream(stored, 3, 2);
            out.write(data);
            out.flush(); // as FilterOutputStream.close does before close
            out.close();
            long allocated = threads.getCurrentThreadAllocatedBytes() - start;
            if (i == 2) {
                assertThat(allocated)
                        .as("bytes allocated for a 1000-byte artifact")
                        .isLessThan(FRAME / 4);
            }
        }
    }
}
