package dev.drkit.failover;

import static org.assertj.core.api.Assertions.assertThatCode;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * "No time limit" in java.time is {@code ChronoUnit.FOREVER.getDuration()}, the largest
 * Duration (Long.MAX_VALUE s and 999,999,999 ns): its milliseconds overflowed to a negative wait,
 * so the switch command was killed at once and the failover's traffic switch failed.
 */
class CommandTrafficSwitchForeverTest {
    @Test
    void aSwitchWithoutATimeLimitWaitsForItsCommand() {
        CommandTrafficSwitch forever =
                CommandTrafficSwitch.of(List.of("sh", "-c", "sleep 0.3")).withTimeout(ChronoUnit.FOREVER.getDuration());
        Promotion p = new Promotion("orders-db", "postgresql", "127.0.0.1:5433", "127.0.0.1:5432", Instant.EPOCH);
        assertThatCode(() -> forever.switchTo(p)).doesNotThrowAnyException();
    }
}
