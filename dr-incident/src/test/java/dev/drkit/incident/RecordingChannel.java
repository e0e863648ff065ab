package dev.drkit.incident;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/** Keeps every notice it is sent; fails the first {@code failures} attempts. */
final class RecordingChannel implements IncidentChannel {
    final BlockingQueue<Notice> received = new LinkedBlockingQueue<>();
    final List<Notice> all = new CopyOnWriteArrayList<>();
    private int failures;
    int attempts;

    RecordingChannel failing(int times) {
        failures = times;
        return this;
    }

    @Override
    public synchronized void send(Notice notice) throws IOException {
        attempts++;
        if (failures > 0) {
            failures--;
            throw new IOException("receiver down");
        }
        all.add(notice);
        received.add(notice);
    }

    Notice next() throws InterruptedException {
        Notice n = received.poll(10, TimeUnit.SECONDS);
        assertThat(n).as("a notice delivered within 10 s").isNotNull();
        return n;
    }

    @Override
    public String toString() {
        return "recording channel";
    }
}
