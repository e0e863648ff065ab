package dev.drkit.internal.pipeline;

import dev.drkit.Progress;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * Turns byte counts into {@link Progress} reports, at most one per interval. Thread-safe:
 * several artifact streams may count into one meter.
 */
public final class ProgressMeter implements HashingOutputStream.ByteCounter {
    private static final long INTERVAL_NANOS = Duration.ofMillis(500).toNanos();

    private final String operation;
    private final String target;
    private final Consumer<Progress> sink;
    private final Clock clock;
    private final Instant start;
    private final AtomicLong done = new AtomicLong();
    private final AtomicLong lastReport = new AtomicLong(System.nanoTime());
    private volatile long total = -1;
    private volatile String artifact;

    public ProgressMeter(String operation, String target, Clock clock, Consumer<Progress> sink) {
        this.operation = operation;
        this.target = target;
        this.clock = clock;
        this.sink = sink;
        this.start = clock.instant();
    }

    public void total(long bytes) {
        this.total = bytes;
    }

    public void artifact(String name) {
        this.artifact = name;
    }

    @Override
    public void add(long bytes) {
        done.addAndGet(bytes);
        long now = System.nanoTime();
        long last = lastReport.get();
        if (now - last >= INTERVAL_NANOS && lastReport.compareAndSet(last, now)) {
            sink.accept(snapshot());
        }
    }

    /** Reports the final state. */
    public void finish() {
        sink.accept(snapshot());
    }

    public Progress snapshot() {
        return new Progress(operation, target, artifact, done.get(), total, Duration.between(start, clock.instant()));
    }
}
