package dev.drkit.spi.support;

/**
 * Sets the calling thread's interrupt mark aside while it cleans up, and sets it again when
 * closed. A thread stopped by a signal or a scheduler's close still has work to do on its way out
 * (release a lock, remove a half-written backup, abort a multipart upload, join its workers), and
 * with the mark set that work fails: interruptible channels refuse their I/O, cloud SDKs refuse
 * any request of an interrupted thread, waits end at once. Use in a try-with-resources around
 * the clean-up; an {@link InterruptedException} caught inside it is {@link #keep kept} for the
 * close, not lost. Not thread-safe: the thread that made it uses it.
 */
public final class InterruptAside implements AutoCloseable {
    private final Thread owner = Thread.currentThread();
    private final boolean wasInterrupted;
    private boolean interrupted;

    private InterruptAside() {
        this.wasInterrupted = Thread.interrupted();
        this.interrupted = wasInterrupted;
    }

    /** Clears the calling thread's interrupt mark, to be set again by {@link #close}. */
    public static InterruptAside setAside() {
        return new InterruptAside();
    }

    /** Whether the thread was interrupted when the mark was set aside (to wait less when stopping). */
    public boolean wasInterrupted() {
        return wasInterrupted;
    }

    /** Records an interrupt that came during the clean-up (an {@link InterruptedException} caught). */
    public void keep() {
        interrupted = true;
    }

    /** Sets the mark again if it was set before, or came meanwhile. */
    @Override
    public void close() {
        if (interrupted && Thread.currentThread() == owner) {
            owner.interrupt();
        }
    }
}
