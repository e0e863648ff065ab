package dev.drkit.redis;

import java.io.IOException;
import java.net.Socket;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Closes a socket once the thread that opened it is interrupted: a blocked socket read or write
 * ignores the interrupt, and a server that sends nothing (up to setting {@code timeout}), trickles
 * its bytes or stops reading would hold a backup stopped by a signal past its grace period.
 */
final class SocketInterrupter implements AutoCloseable {
    private final Thread owner = Thread.currentThread();
    private final Socket socket;
    private final Thread watcher;
    private volatile boolean done;
    private volatile boolean fired;

    SocketInterrupter(Socket socket) {
        this.socket = socket;
        this.watcher = new Thread(this::watch, "drkit-redis-interrupt");
        watcher.setDaemon(true);
        watcher.start();
    }

    private void watch() {
        while (!done) {
            if (owner.isInterrupted()) {
                fired = true;
                try {
                    socket.close();
                } catch (IOException ignored) {
                    // closed either way
                }
                return;
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(100));
        }
    }

    /** Whether the socket was closed because the thread was interrupted. */
    boolean fired() {
        return fired;
    }

    @Override
    public void close() {
        done = true;
        LockSupport.unpark(watcher);
    }
}
