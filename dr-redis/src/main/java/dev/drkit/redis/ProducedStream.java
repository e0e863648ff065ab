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
            return in.read(b, off, len);
        } catch (IOException e) {
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
        in.close();
        try {
            thread.join(TimeUnit.SECONDS.toMillis(30));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        if (thread.isAlive()) {
            thread.interrupt();
        }
    }
}
