package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class InterruptAsideTest {
    @AfterEach
    void clearMark() {
        Thread.interrupted();
    }

    @Test
    void anInterruptedThreadCleansUpUnmarkedAndIsMarkedAgainAfter() throws Exception {
        Thread.currentThread().interrupt();
        try (InterruptAside aside = InterruptAside.setAside()) {
            assertThat(aside.wasInterrupted()).isTrue();
            assertThat(Thread.currentThread().isInterrupted()).isFalse();
            // a wait inside the clean-up waits: with the mark set it would end at once
            assertThat(new CountDownLatch(1).await(50, TimeUnit.MILLISECONDS)).isFalse();
        }
        assertThat(Thread.currentThread().isInterrupted()).isTrue();
    }

    @Test
    void anInterruptDuringTheCleanUpIsKeptForAfter() {
        try (InterruptAside aside = InterruptAside.setAside()) {
            assertThat(aside.wasInterrupted()).isFalse();
            try {
                Thread.currentThread().interrupt();
                new CountDownLatch(1).await();
            } catch (InterruptedException e) {
                aside.keep();
            }
            assertThat(Thread.currentThread().isInterrupted()).isFalse();
        }
        assertThat(Thread.currentThread().isInterrupted()).isTrue();
    }

    @Test
    void aThreadNeverInterruptedStaysUnmarked() {
        try (InterruptAside aside = InterruptAside.setAside()) {
            assertThat(aside.wasInterrupted()).isFalse();
        }
        assertThat(Thread.currentThread().isInterrupted()).isFalse();
    }
}
