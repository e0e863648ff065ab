package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

class ParallelIoTest {
    @Test
    void aFailureIsRethrownOnlyOnceTheOtherTasksHaveEnded() {
        IOException broken = new IOException("data-0.tar: checksum mismatch");
        CountDownLatch othersRunning = new CountDownLatch(1);
        AtomicBoolean otherEnded = new AtomicBoolean();
        ParallelIo.IoTask failing = () -> {
            try {
                othersRunning.await(1, TimeUnit.MINUTES);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            throw broken;
        };
        ParallelIo.IoTask slowToStop = () -> {
            othersRunning.countDown();
            try {
                new CountDownLatch(1).await(1, TimeUnit.MINUTES); // until interrupted
            } catch (InterruptedException e) {
                // still writing for a moment after the interrupt, as a tar extractor closing its file
                long until = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(300);
                while (System.nanoTime() < until) {
                    Thread.onSpinWait();
                }
            }
            otherEnded.set(true);
        };

        assertThatThrownBy(() -> ParallelIo.runAll("test-io", List.of(failing, slowToStop), "testing"))
                .isSameAs(broken);
        assertThat(otherEnded)
                .as("the other task ended before the failure was rethrown")
                .isTrue();
    }

    @Test
    void noThreadOfTheTasksIsLeftWhenItReturns() throws Exception {
        for (boolean fail : new boolean[] {false, true}) {
            List<Thread> threads = new CopyOnWriteArrayList<>();
            ParallelIo.IoTask task = () -> {
                threads.add(Thread.currentThread());
                if (fail) {
                    throw new IOException("broken");
                }
            };
            try {
                ParallelIo.runAll("test-io", List.of(task, task, task), "testing");
            } catch (IOException e) {
                assertThat(fail).isTrue();
            }
            assertThat(threads).hasSize(3).noneMatch(Thread::isAlive);
        }
    }

    @Test
    void allTasksRunToTheirEndWhenNoneFails() throws Exception {
        AtomicBoolean a = new AtomicBoolean();
        AtomicBoolean b = new AtomicBoolean();
        ParallelIo.runAll("test-io", List.of(() -> a.set(true), () -> b.set(true)), "testing");
        assertThat(a).isTrue();
        assertThat(b).isTrue();
    }
}
