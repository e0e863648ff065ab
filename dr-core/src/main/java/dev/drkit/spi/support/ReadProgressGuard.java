package dev.drkit.spi.support;

import dev.drkit.spi.StorageIOException;
import dev.drkit.spi.StorageIOException.Reason;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.LongSupplier;

/**
 * An object body read from a remote store that fails instead of being held open for ever by a
 * server that trickles it: a byte every few seconds never trips a socket read timeout, and a
 * restore or verify would wait for days. A read fails when, over {@code window} of time spent
 * waiting on the server, fewer than {@link #MIN_BYTES} bytes arrived. Only time inside
 * {@code read} and {@code skip} counts, so a slow consumer (a database applying what it was
 * given) never trips it. A server that sends nothing at all is the socket read timeout's job.
 *
 * <p>The default window, {@link #DEFAULT_WINDOW}, with {@link #MIN_BYTES} asks for about
 * 220 bytes a second: a link a hundred times slower than a 56k modem passes, while TCP's own
 * retransmission back-off (up to about two minutes on a lossy link) fits in one window.
 *
 * <p>Once it has failed, closing it calls {@code abort} instead of closing the body: HTTP
 * clients drain a body on close to reuse the connection, which a trickling server drags out.
 * Not thread-safe.
 *
 * <p>A blocked socket read ignores an interrupt, so a command stopped by a signal would wait on a
 * stalled server for the socket timeout. After {@link #abortingOnInterrupt()} (for an
 * {@code abort} that may be called from another thread while a read blocks, as the AWS SDK's
 * is), a thread interrupted while it reads has the body aborted, and the read fails with an
 * {@link InterruptedIOException}; a read that returned in the meantime returns nothing it read.
 */
public final class ReadProgressGuard extends FilterInputStream {
    /** The default window: 5 minutes of waiting on the server. */
    public static final Duration DEFAULT_WINDOW = Duration.ofMinutes(5);

    /** The bytes a window of waiting must bring at least: 64 KiB. */
    public static final long MIN_BYTES = 64 << 10;

    private final long windowNanos;
    private final String what;
    private final String settingKey;
    private final Runnable abort;
    private final LongSupplier nanoTime;
    private long waited;
    private long got;
    private long total;
    private boolean failed;
    /** The thread in a read, while it reads, for the interrupt watch. */
    private volatile Thread reading;
    /** Set when the body was aborted because the thread reading it was interrupted. */
    private volatile boolean interrupted;

    /**
     * @param in the body as the storage's client hands it out
     * @param window how long waiting may last with fewer than {@link #MIN_BYTES} bytes, positive
     * @param what what is read, for the message: {@code "reading KEY in STORAGE"}
     * @param settingKey the settings key that sets {@code window}, for the message
     * @param abort cuts the connection without reading on (the client's abort, or its close)
     */
    public ReadProgressGuard(InputStream in, Duration window, String what, String settingKey, Runnable abort) {
        this(in, window, what, settingKey, abort, System::nanoTime);
    }

    ReadProgressGuard(
            InputStream in, Duration window, String what, String settingKey, Runnable abort, LongSupplier nanoTime) {
        super(Objects.requireNonNull(in, "in"));
        requirePositive(window);
        this.windowNanos = window.toNanos();
        this.what = Objects.requireNonNull(what, "what");
        this.settingKey = Objects.requireNonNull(settingKey, "settingKey");
        this.abort = Objects.requireNonNull(abort, "abort");
        this.nanoTime = nanoTime;
    }

    /**
     * Checks a window given in configuration or to a builder.
     *
     * @throws IllegalArgumentException when it is null, zero or negative
     */
    public static Duration requirePositive(Duration window) {
        if (window == null || window.isZero() || window.isNegative()) {
            throw new IllegalArgumentException("read-progress-window must be longer than zero, not " + window);
        }
        return window;
    }

    /**
     * Aborts the body once a thread reading it is interrupted (see the class comment); the
     * {@code abort} given must be safe to call while another thread reads.
     *
     * @return this
     */
    public ReadProgressGuard abortingOnInterrupt() {
        Readers.watch(this);
        return this;
    }

    @Override
    public int read() throws IOException {
        byte[] one = new byte[1];
        return read(one, 0, 1) <= 0 ? -1 : one[0] & 0xff;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
        return (int) guarded(() -> in.read(b, off, len));
    }

    @Override
    public long skip(long n) throws IOException {
        return guarded(() -> in.skip(n));
    }

    /** A read of the body: the bytes it read or skipped, -1 at the end. */
    private interface BodyRead {
        long run() throws IOException;
    }

    /** Runs a read of the body with the window's accounting and the interrupt watch's bookkeeping. */
    private long guarded(BodyRead read) throws IOException {
        long start = before();
        long n;
        try {
            n = read.run();
        } catch (IOException e) {
            throw stopped(e);
        } finally {
            reading = null;
        }
        requireNotInterrupted();
        after(start, n);
        return n;
    }

    private long before() throws IOException {
        requireNotInterrupted();
        if (failed) {
            throw new IOException(what + " failed before: the server sent too little for too long");
        }
        reading = Thread.currentThread();
        return nanoTime.getAsLong();
    }

    private void requireNotInterrupted() throws InterruptedIOException {
        if (interrupted) {
            throw new InterruptedIOException("interrupted while " + what);
        }
    }

    /** The failure of a read the abort for an interrupt ended, as an interrupt; else {@code e}. */
    private IOException stopped(IOException e) {
        if (!interrupted) {
            return e;
        }
        InterruptedIOException stopped = new InterruptedIOException("interrupted while " + what);
        stopped.initCause(e);
        return stopped;
    }

    /** Called by the watch: aborts the body if the thread in a read was interrupted. */
    private boolean abortIfReaderInterrupted() {
        Thread t = reading;
        if (t == null || !t.isInterrupted() || interrupted) {
            return false;
        }
        interrupted = true;
        try {
            abort.run();
        } catch (RuntimeException e) {
            // the read fails as interrupted either way
        }
        return true;
    }

    /**
     * The guards that abort on an interrupt, looked at by one daemon thread every
     * {@link InterruptWatch#POLL_MILLIS} ms while any is open. Held weakly: a guard never closed
     * is not kept for it.
     */
    private static final class Readers {
        private static final Set<ReadProgressGuard> OPEN = Collections.newSetFromMap(new WeakHashMap<>());
        private static Thread watcher;

        static synchronized void watch(ReadProgressGuard g) {
            OPEN.add(g);
            if (watcher == null) {
                watcher = new Thread(Readers::run, "drkit-read-interrupt");
                watcher.setDaemon(true);
                watcher.start();
            }
        }

        static synchronized void forget(ReadProgressGuard g) {
            OPEN.remove(g);
        }

        private static void run() {
            while (true) {
                List<ReadProgressGuard> open;
                synchronized (Readers.class) {
                    if (OPEN.isEmpty()) {
                        watcher = null; // the next watch starts another
                        return;
                    }
                    open = new ArrayList<>(OPEN);
                }
                for (ReadProgressGuard g : open) {
                    if (g.abortIfReaderInterrupted()) {
                        forget(g);
                    }
                }
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(InterruptWatch.POLL_MILLIS));
            }
        }
    }

    private void after(long start, long n) throws IOException {
        waited += nanoTime.getAsLong() - start;
        if (n > 0) {
            got += n;
            total += n;
        }
        if (waited < windowNanos) {
            return;
        }
        if (got < MIN_BYTES && n >= 0) {
            failed = true;
            abort.run();
            throw new StorageIOException(
                    what + " failed: the server sent " + got + " bytes in " + words(waited)
                            + " of waiting (" + total + " bytes so far), less than " + (MIN_BYTES >> 10)
                            + " KiB in the " + words(windowNanos)
                            + " a read may wait; it holds the read open without sending the object. If the "
                            + "link to the storage really is that slow, set the storage setting " + settingKey
                            + " to a longer time",
                    null,
                    Reason.UNAVAILABLE);
        }
        waited = 0;
        got = 0;
    }

    @Override
    public void close() throws IOException {
        Readers.forget(this);
        if (failed || interrupted) {
            return; // aborted when it failed
        }
        in.close();
    }

    /** A duration in words for messages: whole seconds, minutes or hours. */
    private static String words(long nanos) {
        long s = Math.max(0, Math.round(nanos / 1e9));
        return s < 120 ? s + " s" : s < 7200 ? (s / 60) + " min" : (s / 3600) + " h";
    }
}
