package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Which WAL segments a base backup waits for: up to the one holding the last byte before its stop. */
class WalWaitTest {
    private static final long SEG = 16L << 20;

    @Test
    void aStopOnASegmentBoundaryNeedsNothingOfTheSegmentThatBeginsThere() {
        // PostgreSQL did not switch to it: in pg_wal it may be a recycled file, never to be stored
        assertThat(WalWait.segments(1, 2 * SEG + 40, 4 * SEG, SEG))
                .containsExactly("000000010000000000000002", "000000010000000000000003");
    }

    @Test
    void aStopInsideASegmentNeedsThatSegment() {
        assertThat(WalWait.segments(1, 2 * SEG + 40, 4 * SEG + 1, SEG))
                .containsExactly("000000010000000000000002", "000000010000000000000003", "000000010000000000000004");
        assertThat(WalWait.segments(3, 5 * SEG + 100, 5 * SEG + 200, SEG)).containsExactly("000000030000000000000005");
    }
}
