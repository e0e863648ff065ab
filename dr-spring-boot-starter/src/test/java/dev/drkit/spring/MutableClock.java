package dev.drkit.spring;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.util.concurrent.atomic.AtomicReference;

/** The system clock plus an offset that a test moves forward, to age the backups. */
final class MutableClock extends Clock {
    private final AtomicReference<Duration> offset = new AtomicReference<>(Duration.ZERO);

    /**
     * A clock that starts at the next half past the hour, ahead of the system's by at most an hour:
     * an hourly schedule then has its next run half an hour away, and a test that counts the
     * scheduled backups does not find one more because the system clock passed the hour during it.
     */
    static MutableClock halfPastTheHour() {
        Instant now = Instant.now();
        Instant target = now.truncatedTo(ChronoUnit.HOURS).plus(Duration.ofMinutes(30));
        if (!target.isAfter(now)) {
            target = target.plus(Duration.ofHours(1));
        }
        MutableClock clock = new MutableClock();
        clock.advance(Duration.between(now, target));
        return clock;
    }

    void advance(Duration by) {
        offset.accumulateAndGet(by, Duration::plus);
    }

    @Override
    public Instant instant() {
        return Instant.now().plus(offset.get());
    }

    @Override
    public ZoneId getZone() {
        return ZoneOffset.UTC;
    }

    @Override
    public Clock withZone(ZoneId zone) {
        throw new UnsupportedOperationException();
    }
}
