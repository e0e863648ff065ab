package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class WalSegmentTest {
    static final long MIB = 1 << 20;

    @Test
    void theNextSegmentOfSixteenMebibytesRollsOverToTheNextLogAfterFF() {
        WalSegment s = WalSegment.parse("0000000100000000000000FE", 16 * MIB).orElseThrow();
        assertThat(s.next().name()).isEqualTo("0000000100000000000000FF");
        assertThat(s.next().next().name()).isEqualTo("000000010000000100000000");
        assertThat(s.next().next().startLsn()).isEqualTo(0x100000000L);
    }

    @Test
    void sixtyFourMebibyteSegmentsRollOverAfter3FAndNamesBeyondAreNoSegments() {
        WalSegment s = WalSegment.parse("00000003000000070000003F", 64 * MIB).orElseThrow();
        assertThat(s.timeline()).isEqualTo(3);
        assertThat(s.next().name()).isEqualTo("000000030000000800000000");
        assertThat(WalSegment.parse("000000030000000700000040", 64 * MIB)).isEmpty();
        assertThat(WalSegment.parse("000000030000000700000040", 16 * MIB)).isPresent();
    }

    @Test
    void theTimelineStaysAndOneGibibyteSegmentsRollOverAfterFour() {
        WalSegment s = WalSegment.parse("000000A20000001200000003", 1024 * MIB).orElseThrow();
        assertThat(s.next().name()).isEqualTo("000000A20000001300000000");
        assertThat(WalSegment.parse("000000A20000001200000004", 1024 * MIB)).isEmpty();
        assertThat(WalSegment.parse("0000000A00000012000000FF", 16 * MIB)
                        .orElseThrow()
                        .next()
                        .name())
                .isEqualTo("0000000A0000001300000000");
        assertThat(WalSegment.parse("0000000A0000001300000000", 16 * MIB)
                        .orElseThrow()
                        .number())
                .isEqualTo(0x13L * 256);
    }

    @Test
    void onlySegmentNamesAndPostgresSegmentSizesParse() {
        assertThat(WalSegment.parse("00000001.history", 16 * MIB)).isEmpty();
        assertThat(WalSegment.parse("000000010000000000000001.partial", 16 * MIB))
                .isEmpty();
        assertThat(WalSegment.parse("000000010000000000000001.00000028.backup", 16 * MIB))
                .isEmpty();
        assertThat(WalSegment.parse("00000001000000000000000a", 16 * MIB)).isEmpty();
        assertThat(WalSegment.parse("000000000000000000000001", 16 * MIB)).isEmpty();
        assertThat(WalSegment.validSize(16 * MIB)).isTrue();
        assertThat(WalSegment.validSize(1024 * MIB)).isTrue();
        assertThat(WalSegment.validSize(2048 * MIB)).isFalse();
        assertThat(WalSegment.validSize(24 * MIB)).isFalse();
        assertThat(WalSegment.validSize(0)).isFalse();
    }
}
