package dev.drkit.postgres;

/** Interrupts the calling thread after a while, as a signal stopping a command does. */
final class InterruptLater {
    private InterruptLater() {}

    /** A started thread that interrupts this one after {@code millis}; join it, then clear the flag. */
    static Thread after(long millis) {
        Thread caller = Thread.currentThread();
        Thread interrupter = new Thread(() -> {
            try {
                Thread.sleep(millis);
            } catch (InterruptedException e) {
                return;
            }
            caller.interrupt();
        });
        interrupter.start();
        return interrupter;
    }
}
