package dev.drkit.internal.pipeline;

import dev.drkit.spi.support.ChunkPipe;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.OutputStream;

/**
 * Hands what is written to a background thread that writes it to the wrapped stream, so
 * that the next pipeline stages (encryption, hashing, upload) run in parallel with the
 * producer (tar, compression). Memory is bounded by the {@link ChunkPipe} in between, and a
 * full pipe makes the producer wait. A failure of the background writer is rethrown to the
 * producer on its next call. Single producer; not thread-safe otherwise.
 */
public final class AsyncOutputStream extends OutputStream {
    private final OutputStream out;
    private final ChunkPipe pipe = new ChunkPipe();
    private final Thread writer;
    private volatile Throwable failure;
    private boolean closed;

    public AsyncOutputStream(OutputStream out, String name) {
        this.out = out;
        this.writer = new Thread(this::drain, name);
        this.writer.setDaemon(true);
        this.writer.start();
    }

    private void drain() {
        byte[] buffer = new byte[1 << 20];
        try {
            int n;
            while ((n = pipe.in.read(buffer, 0, buffer.length)) >= 0) {
                out.write(buffer, 0, n);
            }
        } catch (Throwable t) {
            failure = t;
            try {
                pipe.in.close(); // the producer fails instead of waiting on a full pipe
            } catch (IOException ignored) {
                // the pipe's reader side does not fail to close
            }
        }
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        try {
            pipe.out.write(b, off, len);
        } catch (IOException e) {
            checkFailure();
            throw e;
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
        try {
            pipe.out.close();
        } catch (IOException e) {
            // the end never reached the pipe (an interrupted producer): the writer must not wait for it forever
            // a failure of the writer's own comes first; the abort's echo ("aborted by the writer") must not mask e
            try {
                checkFailure();
            } finally {
                pipe.abort();
            }
            throw e;
        }
        try {
            writer.join();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while finishing the pipeline");
        }
        checkFailure();
        out.close();
    }
}
