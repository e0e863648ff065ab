package dev.drkit.spi.support;

import java.util.Objects;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Runs an action on a watcher thread once the thread that opened the watch is interrupted, for
 * as long as the watch is open: for blocking calls an interrupt does not end (a socket or pipe
 * read or write, a socket connect, a JDBC statement running on the server), whose action (close
 * the socket, kill the tool, cancel the statement) makes the call end so that the thread sees its
 * interrupt. A signal stopping a command interrupts its threads, and a wait that ignored that
 * would hold the command past its grace period.
 *
 * <p>The interrupt is looked at every {@link #POLL_MILLIS} ms. {@link #close} stops watching and
 * waits for an action that runs to end, so nothing it does (a cancel that reaches the server
 * late) outlives the call it was meant for. Use in a try-with-resources around the call.
 */
public final class InterruptWatch implements AutoCloseable {
    /** How often the owner's interrupt is looked at. */
    public static final long POLL_MILLIS = 100;

    private final Thread owner = Thread.currentThread();
    private final Runnable action;
    private final boolean repeat;
    private final Thread watcher;
    private volatile boolean closed;
    private volatile boolean fired;

    private InterruptWatch(String name, Runnable action, boolean repeat) {
        this.action = Objects.requireNonNull(action, "action");
        this.repeat = repeat;
        this.watcher = new Thread(this::watch, Objects.requireNonNull(name, "name"));
        watcher.setDaemon(true);
        watcher.start();
    }

    /**
     * Runs {@code action} once, when the calling thread is interrupted while the watch is open
     * (close a socket, kill a process).
     *
     * @param name the watcher thread's name, {@code drkit-...}
     */
    public static InterruptWatch once(String name, Runnable action) {
        return new InterruptWatch(name, action, false);
    }

    /**
     * Runs {@code action} every {@link #POLL_MILLIS} ms while the calling thread is interrupted,
     * until the watch is closed: for an action that may come too early to take (a JDBC driver
     * ignores a cancel that comes before it counts the statement as running).
     */
    public static InterruptWatch repeating(String name, Runnable action) {
        return new InterruptWatch(name, action, true);
    }

    private void watch() {
        while (!closed) {
            if (owner.isInterrupted() && !closed) {
                fired = true;
                try {
                    action.run();
                } catch (RuntimeException e) {
                    // the action is best effort: the owner reports the failure of the call it ended
                }
                if (!repeat) {
                    return;
                }
            }
            LockSupport.parkNanos(this, TimeUnit.MILLISECONDS.toNanos(POLL_MILLIS));
        }
    }

    /** Whether the action ran (the owner was interrupted while the watch was open). */
    public boolean fired() {
        return fired;
    }

    /**
     * Stops watching and waits for an action that runs to end; the calling thread's interrupt
     * stays as it was.
     */
    @Override
    public void close() {
        closed = true;
        LockSupport.unpark(watcher);
        if (Thread.currentThread() == watcher) {
            return;
        }
        boolean interrupted = false;
        while (true) {
            try {
                watcher.join();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // the owner is most often interrupted here: that is why it fired
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }
}
