package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.spi.support.Hosts;
import org.junit.jupiter.api.Test;

class RestoreInProgressTest {

    @Test
    void thisProcessesMarkerRoundTripsAndIsNotAbandonedWhateverTheClockDoes() {
        RestoreInProgress mine = RestoreInProgress.ofThisProcess("20261205T000000Z-abc123");
        assertThat(mine.start()).as("boot and clock ticks, not epoch ms").matches("b[0-9a-f]{8}t\\d+");
        assertThat(RestoreInProgress.parse(mine.comment())).contains(mine);
        assertThat(mine.abandoned()).isFalse();
    }

    @Test
    void markersOfEarlierVersionsInEpochMillisStillParseAndAGoneProcessIsAbandoned() throws Exception {
        Process gone = new ProcessBuilder("true").start();
        gone.waitFor();
        String old = "drkit restore in progress: backup B1, host " + Hosts.name() + ", pid " + gone.pid()
                + ", process start 1764892800000";
        RestoreInProgress parsed = RestoreInProgress.parse(old).orElseThrow();
        assertThat(parsed.start()).isEqualTo("1764892800000");
        assertThat(parsed.abandoned()).isTrue();
        RestoreInProgress elsewhere = new RestoreInProgress("B1", "another-host", gone.pid(), parsed.start());
        assertThat(elsewhere.abandoned())
                .as("a process of another host may still run")
                .isFalse();
        assertThat(RestoreInProgress.parse("drkit restore in progress: backup B1, host h, pid 1, process start x"))
                .isEmpty();
    }
}
