package dev.drkit.incident;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.concurrent.atomic.AtomicReference;

/** The time the test says it is. */
final class TestClock extends Clock {
    private final AtomicReference<Instant> now;

    TestClock(String start) {
        now = new AtomicReference<>(Instant.parse(start));
    }

    TestClock plus(Duration d) {
        now.updateAndGet(t -> t.plus(d));
        return this;
    }

    @Override
    public Instant instant() {
        return now.get();
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        return this;
    }
}
