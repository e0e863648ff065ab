package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketException;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

@Timeout(30)
class InterruptWatchTest {
    @AfterEach
    void clearInterrupt() {
        Thread.interrupted();
    }

    @Test
    void anInterruptEndsASocketReadThatIgnoresIt() throws Exception {
        try (ServerSocket server = new ServerSocket(0, 1, InetAddress.getLoopbackAddress());
                Socket socket = new Socket(InetAddress.getLoopbackAddress(), server.getLocalPort());
                Socket silent = server.accept()) {
            Thread reader = Thread.currentThread();
            Thread interrupter = new Thread(() -> {
                sleep(300);
                reader.interrupt();
            });
            InterruptWatch watch = InterruptWatch.once("drkit-test-watch", () -> close(socket));
            interrupter.start();
            long t0 = System.nanoTime();
            try (watch) {
                InputStream in = socket.getInputStream();
                // the server sends nothing: without the watch this read waits for ever
                assertThat(catchRead(in)).isInstanceOf(SocketException.class);
            }
            assertThat(watch.fired()).isTrue();
            assertThat(Thread.currentThread().isInterrupted())
                    .as("the interrupt stays set for the caller to see")
                    .isTrue();
            assertThat(TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - t0)).isLessThan(5_000);
            interrupter.join();
        }
    }

    @Test
    void withoutAnInterruptTheActionNeverRuns() throws Exception {
        AtomicInteger runs = new AtomicInteger();
        InterruptWatch watch = InterruptWatch.once("drkit-test-watch", runs::incrementAndGet);
        try (watch) {
            Thread.sleep(3 * InterruptWatch.POLL_MILLIS);
        }
        assertThat(watch.fired()).isFalse();
        assertThat(runs).hasValue(0);
    }

    @Test
    void anInterruptAfterCloseRunsNothing() {
        AtomicInteger runs = new AtomicInteger();
        InterruptWatch.once("drkit-test-watch", runs::incrementAndGet).close();
        Thread.currentThread().interrupt();
        spin(3 * InterruptWatch.POLL_MILLIS);
        assertThat(runs).hasValue(0);
    }

    @Test
    void onceRunsOnceAndRepeatingRunsUntilClosed() throws Exception {
        AtomicInteger onceRuns = new AtomicInteger();
        AtomicInteger repeatRuns = new AtomicInteger();
        Thread.currentThread().interrupt();
        try (InterruptWatch once = InterruptWatch.once("drkit-test-once", onceRuns::incrementAndGet);
                InterruptWatch repeating = InterruptWatch.repeating("drkit-test-repeat", repeatRuns::incrementAndGet)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (repeatRuns.get() < 3 && System.nanoTime() < deadline) {
                Thread.onSpinWait();
            }
            assertThat(repeatRuns.get()).as("repeated while interrupted").isGreaterThanOrEqualTo(3);
            assertThat(once.fired()).isTrue();
            assertThat(repeating.fired()).isTrue();
        }
        assertThat(onceRuns).hasValue(1);
        int atClose = repeatRuns.get();
        spin(3 * InterruptWatch.POLL_MILLIS);
        assertThat(repeatRuns).as("nothing runs after close").hasValue(atClose);
    }

    @Test
    void closeWaitsForAnActionThatRuns() throws Exception {
        CountDownLatch started = new CountDownLatch(1);
        AtomicInteger finished = new AtomicInteger();
        Thread.currentThread().interrupt();
        InterruptWatch watch = InterruptWatch.once("drkit-test-watch", () -> {
            started.countDown();
            sleep(500);
            finished.incrementAndGet();
        });
        while (started.getCount() > 0) {
            Thread.onSpinWait();
        }
        watch.close(); // interrupted, and must neither throw nor return before the action ended
        assertThat(finished).hasValue(1);
        assertThat(Thread.currentThread().isInterrupted()).isTrue();
    }

    /** Lets time pass with the interrupt left as it is (a sleep would clear it and throw). */
    private static void spin(long millis) {
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
        while (System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
    }

    private static Exception catchRead(InputStream in) {
        try {
            in.read();
            return null;
        } catch (IOException e) {
            return e;
        }
    }

    private static void close(Socket s) {
        try {
            s.close();
        } catch (IOException ignored) {
            // closed either way
        }
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
