package dev.drkit.examples.cli;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.IntSupplier;

/**
 * Ctrl-C and SIGTERM during a backup or restore: the JVM runs its shutdown hooks and then halts,
 * and a command it halts mid-write leaves what it wrote (a partial upload in the repository's
 * {@code .drkit-tmp} until a later backup ages it out, its lock until the next run takes it over).
 * Here the hook interrupts the command's thread and gives it {@link #GRACE} to fail the way any
 * failed backup or restore does, removing what it wrote, and to say so; then the JVM halts as before.
 */
final class SignalStop {
    /** How long a stopped command may take to clean up before the JVM halts anyway. */
    static final Duration GRACE = Duration.ofSeconds(10);

    private static volatile boolean signalled;

    private SignalStop() {}

    /** Whether a signal is stopping the command (its failure is then said as such). */
    static boolean signalled() {
        return signalled;
    }

    /** Runs {@code command} on this thread, which a shutdown (Ctrl-C, SIGTERM) interrupts. */
    static int around(IntSupplier command) {
        Thread worker = Thread.currentThread();
        CountDownLatch done = new CountDownLatch(1);
        Thread hook = new Thread(
                () -> {
                    signalled = true;
                    worker.interrupt();
                    try {
                        done.await(GRACE.toMillis(), TimeUnit.MILLISECONDS);
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                },
                "drkit-signal-stop");
        Runtime.getRuntime().addShutdownHook(hook);
        try {
            return command.getAsInt();
        } finally {
            done.countDown();
            try {
                Runtime.getRuntime().removeShutdownHook(hook);
            } catch (IllegalStateException shuttingDown) {
                // the hook is running: it returns now that the command is done
            }
        }
    }
}
