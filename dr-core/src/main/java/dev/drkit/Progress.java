package dev.drkit;

import java.time.Duration;
import java.util.Optional;

/**
 * A progress report of a long operation.
 *
 * @param operation backup, restore, verify, ...
 * @param target the target's name
 * @param artifact the artifact being processed, or null
 * @param bytesDone raw bytes processed so far
 * @param bytesTotal raw bytes expected in all, or -1 when unknown
 * @param elapsed time since the operation started
 */
public record Progress(
        String operation, String target, String artifact, long bytesDone, long bytesTotal, Duration elapsed) {

    /** Average rate since the start, in bytes per second. */
    public double bytesPerSecond() {
        long millis = Math.max(1, elapsed.toMillis());
        return bytesDone * 1000.0 / millis;
    }

    /** Estimated time left, when the total is known and some progress has been made. */
    public Optional<Duration> eta() {
        if (bytesTotal < 0 || bytesDone <= 0) {
            return Optional.empty();
        }
        double rate = bytesPerSecond();
        long left = Math.max(0, bytesTotal - bytesDone);
        return Optional.of(Duration.ofMillis((long) (left / rate * 1000)));
    }

    /** Fraction done in [0, 1], or -1 when the total is unknown. */
    public double fraction() {
        if (bytesTotal <= 0) {
            return bytesTotal == 0 ? 1 : -1;
        }
        return Math.min(1.0, (double) bytesDone / bytesTotal);
    }
}
