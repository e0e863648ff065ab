package dev.drkit.core.pipeline;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;

/**
 * Hands what is written to a background thread that writes it to the wrapped stream, so
 * that the next pipeline stages (encryption, hashing, upload) run in parallel with the
 * producer (tar, compression). Memory is bounded: at most {@code depth} chunks of
 * {@code chunkSize} bytes are in flight, and a full queue makes the producer wait.
 * A failure of the background writer is rethrown to the producer on its next call.
 * Single producer; not thread-safe otherwise.
 */
public final class AsyncOutputStream extends OutputStream {
    private static final byte[] END = new byte[0];

    private final OutputStream out;
    private final BlockingQueue<byte[]> queue;
    private final Thread writer;
    private final int chunkSize;
    private byte[] chunk;
    private int filled;
    private volatile Throwable failure;
    private boolean closed;

    public AsyncOutputStream(OutputStream out, int chunkSize, int depth, String name) {
        this.out = out;
        this.chunkSize = chunkSize;
        this.queue = new ArrayBlockingQueue<>(depth);
        this.chunk = new byte[chunkSize];
        this.writer = new Thread(this::drain, name);
        this.writer.setDaemon(true);
        this.writer.start();
    }

    private void drain() {
        try {
            while (true) {
                byte[] next = queue.take();
                if (next == END) {
                    return;
                }
                out.write(next);
            }
        } catch (Throwable t) {
            failure = t;
            queue.clear(); // unblock a producer waiting on a full queue
        }
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        while (len > 0) {
            int n = Math.min(len, chunkSize - filled);
            System.arraycopy(b, off, chunk, filled, n);
            filled += n;
            off += n;
            len -= n;
            if (filled == chunkSize) {
                hand(chunk);
                chunk = new byte[chunkSize];
                filled = 0;
            }
        }
    }

    private void hand(byte[] data) throws IOException {
        checkFailure();
        try {
            while (!queue.offer(data, 100, java.util.concurrent.TimeUnit.MILLISECONDS)) {
                checkFailure();
                if (!writer.isAlive()) {
                    throw new IOException("pipeline writer stopped");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while handing data to the pipeline");
        }
    }

    private void checkFailure() throws IOException {
        Throwable t = failure;
        if (t instanceof IOException) {
            throw (IOException) t;
        }
        if (t instanceof RuntimeException) {
            throw (RuntimeException) t;
        }
        if (t != null) {
            throw new IOException("pipeline writer failed", t);
        }
    }

    /** Writes out what is buffered, waits for the writer, then closes the wrapped stream. */
    @Override
    public void close() throws IOException {
        if (closed) {
            return;
        }
        closed = true;
        if (filled > 0) {
            hand(java.util.Arrays.copyOf(chunk, filled));
        }
        hand(END);
        try {
            writer.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while finishing the pipeline");
        }
        checkFailure();
        out.close();
    }

    /** Stops the writer without flushing (the upload is being aborted). */
    public void abort() {
        closed = true;
        writer.interrupt();
    }
}
