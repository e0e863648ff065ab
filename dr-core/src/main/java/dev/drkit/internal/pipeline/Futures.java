package dev.drkit.internal.pipeline;

import java.io.IOException;
import java.io.InterruptedIOException;
import java.io.UncheckedIOException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;

/** Waiting for a worker's result with the worker's own failure rethrown as it was. */
public final class Futures {
    private Futures() {}

    /**
     * The result of {@code f}; an {@link IOException} or runtime exception the worker threw is
     * rethrown as is, an interrupt while waiting becomes an {@link InterruptedIOException} with
     * the interrupt flag kept.
     *
     * @param doing what the worker was doing, for the message of any other failure
     */
    public static <T> T get(Future<T> f, String doing) throws IOException {
        try {
            return f.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new InterruptedIOException("interrupted while " + doing);
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof IOException io) {
                throw io;
            }
            if (cause instanceof UncheckedIOException u) {
                throw u.getCause();
            }
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new IOException(doing + " failed", cause);
        }
    }
}
