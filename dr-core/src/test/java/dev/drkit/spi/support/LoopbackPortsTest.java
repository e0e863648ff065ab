package dev.drkit.spi.support;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import org.junit.jupiter.api.Test;

class LoopbackPortsTest {
    @Test
    void aPortIsPickedOutsideTheEphemeralRangeAndIsFree() throws Exception {
        int[] range = LoopbackPorts.ephemeralRange();
        for (int i = 0; i < 20; i++) {
            int port = LoopbackPorts.free();
            assertThat(port < range[0] || port > range[1])
                    .as("port %d outside %d-%d", port, range[0], range[1])
                    .isTrue();
            assertThat(port).isGreaterThanOrEqualTo(LoopbackPorts.LOWEST);
            try (ServerSocket s = new ServerSocket()) {
                s.setReuseAddress(true);
                s.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), port));
            }
        }
    }

    @Test
    void aTakenCandidateIsPassedOverForTheNext() throws Exception {
        int[] range = {30_000, 60_999};
        try (ServerSocket taken = new ServerSocket()) {
            int candidate = LoopbackPorts.free(range, bound -> 1_234); // LOWEST + 1,234, unless something has it
            taken.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), candidate));
            Deque<Integer> candidates = new ArrayDeque<>(List.of(candidate - LoopbackPorts.LOWEST, 4_321, 4_322));
            int port = LoopbackPorts.free(range, bound -> candidates.poll());
            assertThat(port).isNotEqualTo(candidate).isIn(LoopbackPorts.LOWEST + 4_321, LoopbackPorts.LOWEST + 4_322);
        }
    }

    @Test
    void candidatesAboveTheRangeAreNumberedAfterThoseBelowIt() throws Exception {
        int[] range = {25_000, 60_999}; // 5,000 below it, 4,536 above
        Deque<Integer> candidates = new ArrayDeque<>(List.of(5_010, 10));
        int port = LoopbackPorts.free(range, bound -> {
            assertThat(bound).isEqualTo(5_000 + 4_536);
            return candidates.poll();
        });
        assertThat(port).isIn(61_010, LoopbackPorts.LOWEST + 10); // the second only if something has the first
    }

    @Test
    void aRangeEndingLowStillGivesNoPortBelowTheLowest() throws Exception {
        int[] low = {1_024, 5_000};
        Deque<Integer> candidates = new ArrayDeque<>(List.of(0, 1));
        int port = LoopbackPorts.free(low, bound -> {
            assertThat(bound).isEqualTo(65_536 - LoopbackPorts.LOWEST);
            return candidates.poll();
        });
        assertThat(port).isIn(LoopbackPorts.LOWEST, LoopbackPorts.LOWEST + 1);
    }

    @Test
    void aRangeLeavingTooFewPortsOutsideFallsBackToOneTheKernelPicks() throws Exception {
        int[] everything = {1_024, 65_535};
        int port = LoopbackPorts.free(everything, bound -> {
            throw new AssertionError("no candidate should be drawn");
        });
        assertThat(port).isBetween(1_024, 65_535);
    }

    @Test
    void theProcFileIsParsedAndNonsenseRefused() {
        assertThat(LoopbackPorts.parseRange("32768\t60999\n")).containsExactly(32_768, 60_999);
        assertThat(LoopbackPorts.parseRange(" 1024 65535")).containsExactly(1_024, 65_535);
        assertThatThrownBy(() -> LoopbackPorts.parseRange("60999 32768")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LoopbackPorts.parseRange("1 2 3")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> LoopbackPorts.parseRange("")).isInstanceOf(IllegalArgumentException.class);
    }
}
