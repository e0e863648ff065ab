package dev.drkit.redis;

import dev.drkit.spi.support.ChunkPipe;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.TimeUnit;

/**
 * The bytes a producer writes on a thread of its own, read as a stream through a {@link
 * ChunkPipe}. The producer's failure is the reader's, as it was thrown (a damaged chain says
 * so); closing the stream before its end stops the producer.
 */
final class ProducedStream extends FilterInputStream {
    /** Writes the whole content to {@code out}. */
    @FunctionalInterface
    interface Producer {
        void writeTo(OutputStream out) throws IOException;
    }

    private final Thread thread;
    private volatile Throwable failure;
    /** Once the producer's failure was handed on, every later read fails the same way (the pipe has no second abort). */
    private boolean failed;

    private ProducedStream(ChunkPipe pipe, String name, Producer producer) {
        super(pipe.in);
        thread = new Thread(
                () -> {
                    try {
                        producer.writeTo(pipe.out);
                        pipe.out.close(); // only now: the end of the stream says the content is whole
                    } catch (IOException | RuntimeException | Error e) {
                        failure = e;
                        pipe.abort();
                    }
                },
                name);
        thread.setDaemon(true);
    }

    static InputStream start(String name, Producer producer) {
        ProducedStream s = new ProducedStream(new ChunkPipe(), name, producer);
        s.thread.start();
        return s;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) < 0 ? -1 : one[0] & 0xFF;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        try {
            if (failed) {
                throw new IOException("the rebuild failed");
            }
            return in.read(b, off, len);
        } catch (IOException e) {
            failed = true;
            Throwable f = failure;
            if (f instanceof IOException io) {
                throw io;
            }
            if (f instanceof RuntimeException r) {
                throw r;
            }
            if (f instanceof Error err) {
                throw err;
            }
            throw e;
        }
    }

    @Override
    public void close() throws IOException {
        in.close(); // a producer that writes fails at its next chunk
        if (thread.isAlive()) {
            thread.interrupt(); // one that reads (a removal list, entries it skips) stops at its next read
        }
        boolean interrupted = false;
        long until = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (thread.isAlive() && System.nanoTime() < until) {
            try {
                thread.join(Math.max(1, TimeUnit.NANOSECONDS.toMillis(until - System.nanoTime())));
            } catch (InterruptedException e) {
                interrupted = true;
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
