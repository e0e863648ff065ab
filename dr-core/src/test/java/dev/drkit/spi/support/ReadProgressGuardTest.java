package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.drkit.spi.StorageIOException;
import dev.drkit.spi.StorageIOException.Reason;
import java.io.IOException;
import java.io.InputStream;
import java.io.InterruptedIOException;
import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** The read progress bound on a scripted body and clock: each read of the body takes the time it says. */
class ReadProgressGuardTest {
    final AtomicLong now = new AtomicLong();
    final AtomicBoolean aborted = new AtomicBoolean();
    final AtomicBoolean closed = new AtomicBoolean();

    /** A body of {@code size} bytes that hands out {@code perRead} bytes a read, each read taking {@code wait}. */
    InputStream body(long size, int perRead, Duration wait) {
        return new InputStream() {
            long left = size;

            @Override
            public int read() throws IOException {
                byte[] one = new byte[1];
                return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
            }

            @Override
            public int read(byte[] b, int off, int len) {
                if (left == 0) {
                    return -1;
                }
                now.addAndGet(wait.toNanos());
                int n = (int) Math.min(left, Math.min(len, perRead));
                left -= n;
                return n;
            }

            @Override
            public void close() {
                closed.set(true);
            }
        };
    }

    ReadProgressGuard guard(InputStream in, Duration window) {
        return new ReadProgressGuard(
                in, window, "reading backups/t/1/data.tar", "read-progress-window", () -> aborted.set(true), now::get);
    }

    @Test
    void aBodyTrickledAByteEveryFewSecondsFailsAfterOneWindowNamingTheSetting() {
        // 1 MiB at a byte every 3 s: 36 days
        ReadProgressGuard in = guard(body(1 << 20, 1, Duration.ofSeconds(3)), Duration.ofMinutes(5));

        assertThatThrownBy(in::readAllBytes)
                .isInstanceOfSatisfying(StorageIOException.class, e -> {
                    assertThat(e.reason()).isEqualTo(Reason.UNAVAILABLE);
                    assertThat(e.retryable()).isTrue();
                })
                .hasMessageContaining("reading backups/t/1/data.tar failed")
                .hasMessageContaining("sent 100 bytes in 5 min")
                .hasMessageContaining("read-progress-window");
        assertThat(Duration.ofNanos(now.get())).isEqualTo(Duration.ofMinutes(5));
        assertThat(aborted).as("the connection cut").isTrue();
    }

    @Test
    void aFailedReadIsAbortedNotClosedSoThatTheClientDoesNotDrainTheTrickle() throws IOException {
        ReadProgressGuard in = guard(body(1 << 20, 1, Duration.ofSeconds(3)), Duration.ofMinutes(5));
        assertThatThrownBy(in::readAllBytes).isInstanceOf(StorageIOException.class);

        in.close();

        assertThat(closed).as("the body closed (an HTTP client drains it)").isFalse();
        assertThatThrownBy(in::read).isInstanceOf(IOException.class).hasMessageContaining("failed before");
    }

    @Test
    void aSlowButHealthyLinkIsNeverFailed() throws IOException {
        // 8 MiB at 7 KB/s, a 56k modem: 20 minutes, four windows
        ReadProgressGuard in = guard(body(8 << 20, 7000, Duration.ofSeconds(1)), ReadProgressGuard.DEFAULT_WINDOW);

        assertThat(in.readAllBytes()).hasSize(8 << 20);
        assertThat(Duration.ofNanos(now.get())).isGreaterThan(Duration.ofMinutes(20));
        in.close();
        assertThat(closed).isTrue();
        assertThat(aborted).isFalse();
    }

    @Test
    void aServerThatSendsTheMinimumEachWindowPasses() throws IOException {
        // exactly 64 KiB per 5 minutes, in one burst after a long wait, read whole
        ReadProgressGuard in = guard(
                body(3 * ReadProgressGuard.MIN_BYTES, 64 << 10, Duration.ofMinutes(5)),
                ReadProgressGuard.DEFAULT_WINDOW);
        byte[] buf = new byte[64 << 10];
        long read = 0;
        for (int n; (n = in.read(buf)) > 0; ) {
            read += n;
        }
        assertThat(read).isEqualTo(3 * ReadProgressGuard.MIN_BYTES);
        assertThat(aborted).isFalse();
    }

    @Test
    void onlyTimeWaitingOnTheServerCountsNotTimeTheConsumerTakes() throws IOException {
        ReadProgressGuard in = guard(body(1 << 20, 8192, Duration.ofMillis(1)), Duration.ofSeconds(10));
        byte[] buf = new byte[8192];
        long read = 0;
        for (int n; (n = in.read(buf)) > 0; ) {
            read += n;
            now.addAndGet(Duration.ofMinutes(10).toNanos()); // the consumer busy between reads
        }
        assertThat(read).isEqualTo(1 << 20);
        assertThat(aborted).isFalse();
    }

    @Test
    void theWindowMustBePositive() {
        assertThatThrownBy(() -> guard(InputStream.nullInputStream(), Duration.ZERO))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("read-progress-window");
        assertThatThrownBy(() -> guard(InputStream.nullInputStream(), Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class);
    }

    /** A body whose read blocks, as a socket read does, ignoring interrupts, until it is aborted. */
    private static final class BlockingBody extends InputStream {
        final CountDownLatch aborted = new CountDownLatch(1);
        final CountDownLatch inRead = new CountDownLatch(1);

        @Override
        public int read() throws IOException {
            inRead.countDown();
            // waits without looking at the interrupt, and leaves it set (a sleep or await would clear it)
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
            while (System.nanoTime() < deadline) {
                if (aborted.getCount() == 0) {
                    throw new IOException("Socket closed");
                }
                Thread.onSpinWait();
            }
            return 'x'; // the server would have sent this much later
        }
    }

    @Test
    void anInterruptedReaderHasTheBodyAbortedAndFailsAsInterrupted() throws Exception {
        BlockingBody body = new BlockingBody();
        ReadProgressGuard guard = new ReadProgressGuard(
                        body, Duration.ofMinutes(5), "reading k in s", "read-progress-window", body.aborted::countDown)
                .abortingOnInterrupt();
        AtomicReference<Throwable> outcome = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            try (guard) {
                guard.read();
                outcome.set(new AssertionError("read on"));
            } catch (Throwable e) {
                outcome.set(e);
            }
        });
        reader.start();
        assertThat(body.inRead.await(10, TimeUnit.SECONDS)).isTrue();
        reader.interrupt();
        reader.join(5_000);
        assertThat(reader.isAlive()).as("still in the read").isFalse();
        assertThat(body.aborted.getCount()).as("aborted").isZero();
        assertThat(outcome.get())
                .isInstanceOf(InterruptedIOException.class)
                .hasMessage("interrupted while reading k in s")
                .hasCauseInstanceOf(IOException.class);
    }

    @Test
    void withoutAbortingOnInterruptAnInterruptAbortsNothing() throws Exception {
        BlockingBody body = new BlockingBody();
        ReadProgressGuard guard = new ReadProgressGuard(
                body, Duration.ofMinutes(5), "reading k in s", "read-progress-window", body.aborted::countDown);
        AtomicReference<Object> outcome = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            try {
                outcome.set(guard.read());
            } catch (Throwable e) {
                outcome.set(e);
            }
        });
        reader.start();
        assertThat(body.inRead.await(10, TimeUnit.SECONDS)).isTrue();
        reader.interrupt();
        reader.join(20_000);
        assertThat(body.aborted.getCount()).as("not aborted").isOne();
        assertThat(outcome.get()).isEqualTo((int) 'x');
    }
}
