package dev.drkit.spi.support;

import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.io.OutputStream;
import java.util.Arrays;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A bounded pipe from a writer thread to a reader thread, in 1 MiB chunks, at most 4 in
 * flight (the JDK's piped streams poll once a second when they block). {@link #abort()} makes
 * the reader fail; a reader that closes makes the writer fail instead of blocking.
 */
public final class ChunkPipe {
    private static final byte[] END = new byte[0];
    private static final byte[] ABORT = new byte[0];
    private static final int CHUNK = 1 << 20;

    private final BlockingQueue<byte[]> queue = new ArrayBlockingQueue<>(4);
    private volatile boolean readerGone;

    /** The writer's side; closing it ends the reader's stream. */
    public final OutputStream out = new OutputStream() {
        private byte[] chunk = new byte[CHUNK];
        private int filled;
        private boolean closed;

        @Override
        public void write(int b) throws IOException {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) throws IOException {
            while (len > 0) {
                int n = Math.min(len, CHUNK - filled);
                System.arraycopy(b, off, chunk, filled, n);
                filled += n;
                off += n;
                len -= n;
                if (filled == CHUNK) {
                    put(chunk);
                    chunk = new byte[CHUNK];
                    filled = 0;
                }
            }
        }

        @Override
        public void close() throws IOException {
            if (closed) {
                return;
            }
            closed = true;
            if (filled > 0) {
                put(Arrays.copyOf(chunk, filled));
            }
            put(END);
        }
    };

    /** The reader's side. */
    public final InputStream in = new InputStream() {
        private byte[] current = new byte[0];
        private int pos;
        private boolean ended;

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            if (len == 0) {
                return 0;
            }
            while (pos == current.length) {
                if (ended) {
                    return -1;
                }
                byte[] next;
                try {
                    next = queue.take();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                    throw new InterruptedIOException("interrupted");
                }
                if (next == ABORT) {
                    throw new IOException("upload aborted by the writer");
                }
                if (next == END) {
                    ended = true;
                    return -1;
                }
                current = next;
                pos = 0;
            }
            int n = Math.min(len, current.length - pos);
            System.arraycopy(current, pos, b, off, n);
            pos += n;
            return n;
        }

        @Override
        public void close() {
            readerGone = true;
            queue.clear();
        }
    };

    private void put(byte[] chunk) throws IOException {
        try {
            while (!queue.offer(chunk, 100, TimeUnit.MILLISECONDS)) {
                if (readerGone) {
                    throw new IOException("the upload stopped reading");
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted");
        }
    }

    /** Makes the reader fail at its next read. */
    public void abort() {
        queue.clear();
        queue.offer(ABORT);
    }
}
