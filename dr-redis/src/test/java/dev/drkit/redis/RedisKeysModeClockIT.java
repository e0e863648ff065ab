package dev.drkit.redis;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.DrKit;
import dev.drkit.RestoreRequest;
import dev.drkit.Settings;
import dev.drkit.TargetSpec;
import dev.drkit.testkit.RedisServer;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Keys mode reads each key's remaining time (PTTL) and stores an absolute expiry, which an online
 * restore applies on the server's clock (RESTORE ... ABSTTL): the expiry is computed on the
 * server's clock too, so a backup host whose clock is off shifts no TTL.
 */
class RedisKeysModeClockIT {
    @TempDir
    Path dir;

    @Test
    void aBackupHostWhoseClockIsADayAheadShiftsNoTtl() throws Exception {
        Clock dayAhead = Clock.offset(Clock.systemUTC(), Duration.ofDays(1));
        try (RedisServer source = RedisServer.start();
                RedisServer target = RedisServer.start();
                DrKit kit = DrKit.builder()
                        .repository(dir.resolve("repo").toString())
                        .clock(dayAhead)
                        .build()) {
            source.command("SET", "session", "v", "PX", "3600000"); // one hour
            String id = kit.backup(new TargetSpec(
                            "cache",
                            RedisTargetProvider.TYPE,
                            Settings.builder()
                                    .set("uri", source.uri())
                                    .set("mode", "keys")
                                    .build()))
                    .id();

            kit.restore(new RestoreRequest(
                    "cache", id, Settings.builder().set("to-uri", target.uri()).build(), false));

            long pttl = Long.parseLong(target.command("PTTL", "session"));
            assertThat(pttl).isBetween(3_500_000L, 3_600_000L);
        }
    }
}
