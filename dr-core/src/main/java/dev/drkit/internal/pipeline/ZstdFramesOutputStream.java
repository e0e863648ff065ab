package dev.drkit.internal.pipeline;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.lang.ref.Cleaner;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * zstd as a sequence of independent frames of {@value #FRAME} bytes of input each (the last one
 * shorter), each compressed in one call with its content size and checksum, and written in
 * order; {@code zstd -d} and every zstd reader decompress the concatenation as one stream.
 * Against one streaming frame, each frame's window starts empty (its first bytes find no
 * matches before them), but the compressor never wraps its window around a ring buffer: on a
 * 730 MiB database dump at level 3, 0.90 CPU-s instead of 1.21 and 45.9 MB instead of 46.8.
 * Frames also compress side by side: with {@code workers} threads, up to {@code workers + 1}
 * frames are in flight (memory: about twice the frame size each). For levels whose window
 * exceeds half a frame (7 and up) {@link Compression} keeps the streaming compressor.
 *
 * <p>Once a write, a flush or a compression fails, the stream is failed: every later call,
 * {@link #close()} included, throws, and no later frame reaches {@code out} (frames are
 * independent, so a frame lost in the middle would leave a stream that decodes without it).
 * Each compression thread owns its context and frees it when it ends; a thread idle for
 * {@link #IDLE_MILLIS} ends, so that a stream never closed keeps no thread, and the writing
 * thread's context is freed once such a stream is unreachable. Not thread-safe; internal.
 */
final class ZstdFramesOutputStream extends OutputStream {
    static final int FRAME = 4 << 20;
    private static final int FIRST_BUFFER = 64 << 10;
    /** The highest level compressed this way: its window (2 MiB) is at most half a frame. */
    static final int MAX_LEVEL = 6;
    /** How long a compression thread waits for the next frame before it ends (and frees its context). */
    static final long IDLE_MILLIS = 2_000;

    private static final Cleaner CLEANER = Cleaner.create(r -> {
        Thread t = new Thread(r, "drkit-zstd-cleaner");
        t.setDaemon(true);
        return t;
    });

    private final OutputStream out;
    private final int level;
    private final ThreadPoolExecutor pool;
    /** The compression contexts of this stream that are open: the writing thread's or one per compression thread. */
    private final Set<ZstdCompressCtx> contexts = ConcurrentHashMap.newKeySet();
    /** Frees what a stream holds outside the heap, at close or once it is unreachable. */
    private final Resources resources;

    private final Cleaner.Cleanable cleanable;

    private final ArrayDeque<Future<Frame>> inFlight = new ArrayDeque<>();
    private final int maxInFlight;
    /** Input and output arrays of frames written, for the next frames (touched by the writing thread only). */
    private final ArrayDeque<byte[]> freeInputs = new ArrayDeque<>();

    private final ArrayDeque<byte[]> freeOutputs = new ArrayDeque<>();
    /**
     * Grows from {@value #FIRST_BUFFER} bytes to a frame, so that a small artifact costs little
     * memory; null until the next byte when the last one went to a compression thread.
     */
    private byte[] buffer = new byte[FIRST_BUFFER];

    private int filled;
    private boolean anyFrame;
    private boolean closed;
    /** What failed a write, a flush or a compression; the stream takes nothing more. */
    private Throwable failure;

    private record Frame(byte[] input, byte[] bytes, int length) {}

    ZstdFramesOutputStream(OutputStream out, int level, int workers) {
        this.out = out;
        this.level = level;
        Set<ZstdCompressCtx> open = contexts;
        if (workers > 0) {
            // the factory, the threads and the tasks hold no reference to the stream
            this.pool = new ThreadPoolExecutor(
                    workers,
                    workers,
                    IDLE_MILLIS,
                    TimeUnit.MILLISECONDS,
                    new LinkedBlockingQueue<>(),
                    r -> new Compressor(r, level, open));
            this.pool.allowCoreThreadTimeOut(true);
        } else {
            this.pool = null;
        }
        this.maxInFlight = workers + 1;
        this.resources = new Resources(pool, open);
        this.cleanable = CLEANER.register(this, resources);
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        Objects.checkFromIndexSize(off, len, b.length);
        ensureOpen();
        try {
            while (len > 0) {
                if (buffer == null) {
                    buffer = freeInputs.isEmpty() ? new byte[FRAME] : freeInputs.poll();
                }
                int n = Math.min(len, buffer.length - filled);
                System.arraycopy(b, off, buffer, filled, n);
                filled += n;
                off += n;
                len -= n;
                if (filled == buffer.length) {
                    if (buffer.length < FRAME) {
                        buffer = Arrays.copyOf(buffer, Math.min(FRAME, buffer.length * 4));
                    } else {
                        emit();
                    }
                }
            }
        } catch (IOException | RuntimeException | Error e) {
            failure = e;
            throw e;
        }
    }

    /** Ends the current frame early, so that what was written so far reaches {@code out}. */
    @Override
    public void flush() throws IOException {
        ensureOpen();
        try {
            if (filled > 0) {
                emit();
            }
            drain(0);
            out.flush();
        } catch (IOException | RuntimeException | Error e) {
            failure = e;
            throw e;
        }
    }

    /**
     * Writes the last frame, waits for every frame and closes {@code out}. On a stream that
     * failed, writes nothing more, frees the threads and contexts, closes {@code out} and throws.
     */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        Throwable error = null;
        try {
            if (failure != null) {
                throw new IOException("the compressed stream failed earlier: " + failure, failure);
            }
            if (filled > 0 || !anyFrame) {
                emit(); // an empty input is still one (empty) frame
            }
            drain(0);
        } catch (IOException | RuntimeException | Error e) {
            failure = failure == null ? e : failure;
            error = e;
        }
        // frames still compressing are not waited for: their threads end after them and free their contexts
        inFlight.forEach(f -> f.cancel(false));
        inFlight.clear();
        cleanable.clean();
        try {
            out.close();
        } catch (IOException | RuntimeException | Error e) {
            if (error == null) {
                throw e;
            }
            error.addSuppressed(e);
        }
        if (error instanceof IOException io) {
            throw io;
        }
        if (error instanceof RuntimeException re) {
            throw re;
        }
        if (error instanceof Error err) {
            throw err;
        }
    }

    private void ensureOpen() throws IOException {
        if (closed) {
            throw new IOException("the compressed stream is closed");
        }
        if (failure != null) {
            throw new IOException("the compressed stream failed earlier: " + failure, failure);
        }
    }

    private void emit() throws IOException {
        byte[] input = buffer == null ? new byte[0] : buffer;
        int length = filled;
        int bound = (int) Zstd.compressBound(length);
        byte[] free = freeOutputs.poll();
        // a smaller one (of a frame a flush ended early) is dropped
        byte[] output = free == null || free.length < bound ? new byte[bound] : free;
        anyFrame = true;
        filled = 0;
        if (pool == null) {
            ZstdCompressCtx ctx = resources.writersContext(level);
            write(new Frame(input, output, ctx.compressByteArray(output, 0, output.length, input, 0, length)));
            return;
        }
        buffer = null; // the next one is taken when the next byte comes
        inFlight.add(pool.submit(() -> Compressor.compress(input, length, output)));
        drain(maxInFlight - 1);
    }

    private void write(Frame f) throws IOException {
        out.write(f.bytes(), 0, f.length());
        freeOutputs.add(f.bytes());
        if (f.input() != buffer && f.input().length == FRAME) {
            freeInputs.add(f.input());
        }
    }

    /** Writes finished frames in order until at most {@code keep} are in flight. */
    private void drain(int keep) throws IOException {
        while (inFlight.size() > keep) {
            Frame f;
            try {
                f = inFlight.peek().get();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while compressing");
            } catch (ExecutionException e) {
                throw e.getCause() instanceof IOException io
                        ? io
                        : new IOException(e.getCause().getMessage(), e);
            }
            inFlight.poll();
            write(f);
        }
    }

    private static ZstdCompressCtx open(int level, Set<ZstdCompressCtx> open) {
        ZstdCompressCtx ctx = new ZstdCompressCtx();
        open.add(ctx);
        ctx.setLevel(level);
        ctx.setChecksum(true);
        return ctx;
    }

    private static void free(ZstdCompressCtx ctx, Set<ZstdCompressCtx> open) {
        ctx.close();
        open.remove(ctx);
    }

    /** A compression thread: it compresses with a context of its own and frees it when it ends. */
    private static final class Compressor extends Thread {
        private final int level;
        private final Set<ZstdCompressCtx> open;
        private ZstdCompressCtx ctx;

        Compressor(Runnable r, int level, Set<ZstdCompressCtx> open) {
            super(r, "drkit-zstd");
            setDaemon(true);
            this.level = level;
            this.open = open;
        }

        static Frame compress(byte[] input, int length, byte[] output) {
            Compressor self = (Compressor) Thread.currentThread();
            if (self.ctx == null) {
                self.ctx = open(self.level, self.open);
            }
            return new Frame(input, output, self.ctx.compressByteArray(output, 0, output.length, input, 0, length));
        }

        @Override
        public void run() {
            try {
                super.run();
            } finally {
                if (ctx != null) {
                    free(ctx, open);
                }
            }
        }
    }

    /** The pool and the writing thread's context; run once, by close or once the stream is unreachable. */
    private static final class Resources implements Runnable {
        private final ThreadPoolExecutor pool;
        private final Set<ZstdCompressCtx> open;
        private volatile ZstdCompressCtx writers;

        Resources(ThreadPoolExecutor pool, Set<ZstdCompressCtx> open) {
            this.pool = pool;
            this.open = open;
        }

        ZstdCompressCtx writersContext(int level) {
            ZstdCompressCtx ctx = writers;
            if (ctx == null) {
                writers = ctx = open(level, open);
            }
            return ctx;
        }

        @Override
        public void run() {
            if (pool != null) {
                pool.shutdownNow(); // the threads end after the frame they compress, if any
            }
            ZstdCompressCtx ctx = writers;
            if (ctx != null) {
                writers = null;
                free(ctx, open);
            }
        }
    }
}
