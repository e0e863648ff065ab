package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.IntBuffer;
import java.util.Arrays;
import java.util.Random;
import org.junit.jupiter.api.Test;

class PageChecksumTest {
    static final int PAGE = PageChecksum.PAGE_SIZE;

    /**
     * A deterministic non-new page; PageChecksumIT asserts that PostgreSQL's own page_checksum
     * gives {@link #PATTERN_CHECKSUMS} for it.
     */
    static byte[] patternPage() {
        byte[] page = new byte[PAGE];
        for (int i = 0; i < PAGE; i++) {
            page[i] = (byte) (i * 31 + (i >>> 8) * 7);
        }
        page[14] = 0x20; // pd_upper = 0x1F20, not new
        page[15] = 0x1F;
        return page;
    }

    /** Block numbers of {@link #PATTERN_CHECKSUMS}. */
    static final long[] PATTERN_BLOCKS = {0, 1, 131_072, 3 * 131_072 + 7, Integer.MAX_VALUE};

    @Test
    void aPageReadsItsLsnFromTwoLittleEndianHalvesHighFirst() {
        byte[] buf = new byte[PAGE + 5];
        // xlogid 0x00000002, xrecoff 0xA1B2C3D4 at offset 5
        buf[5] = 0x02;
        buf[9] = (byte) 0xD4;
        buf[10] = (byte) 0xC3;
        buf[11] = (byte) 0xB2;
        buf[12] = (byte) 0xA1;
        assertThat(PageChecksum.pageLsn(buf, 5)).isEqualTo(0x2_A1B2C3D4L);
        buf[8] = (byte) 0x80; // xlogid's high byte: the LSN stays unsigned in its top half
        assertThat(PageChecksum.pageLsn(buf, 5)).isEqualTo(0x80000002_A1B2C3D4L);
        assertThat(PageChecksum.pageLsn(new byte[PAGE], 0)).isZero();
    }

    @Test
    void aPageIsNewExactlyWhenPdUpperIsZero() {
        byte[] page = new byte[PAGE];
        assertThat(PageChecksum.isNew(page, 0)).as("all zeros").isTrue();
        page[14] = 1;
        assertThat(PageChecksum.isNew(page, 0)).isFalse();
        page[14] = 0;
        page[15] = 1; // high byte of pd_upper (little-endian)
        assertThat(PageChecksum.isNew(page, 0)).isFalse();
        page[15] = 0;
        page[12] = 0x18; // pd_lower alone does not make a page initialised
        page[0] = 1;
        assertThat(PageChecksum.isNew(page, 0)).isTrue();
    }

    @Test
    void aNewPageVerifiesWhateverItsChecksumFieldSaysAndNoOtherPageDoesWithAZeroChecksum() {
        assertThat(PageChecksum.verify(new byte[PAGE], 0, 12)).isTrue();
        byte[] page = patternPage();
        page[8] = 0;
        page[9] = 0;
        assertThat(PageChecksum.compute(page, 0, 0))
                .as("checksums are never zero")
                .isNotZero();
        assertThat(PageChecksum.verify(page, 0, 0)).isFalse();
    }

    @Test
    void theChecksumIsThePageChecksumOfPostgreSql() {
        byte[] page = patternPage();
        for (int i = 0; i < PATTERN_BLOCKS.length; i++) {
            assertThat(PageChecksum.compute(page, 0, PATTERN_BLOCKS[i]))
                    .as("block %d", PATTERN_BLOCKS[i])
                    .isEqualTo(PATTERN_CHECKSUMS[i]);
        }
    }

    @Test
    void theStoredChecksumIsLeftOutAndEverythingElseCounts() {
        byte[] page = patternPage();
        int sum = PageChecksum.compute(page, 0, 9);
        page[8] ^= 0x5A;
        page[9] ^= (byte) 0xA5;
        assertThat(PageChecksum.compute(page, 0, 9)).isEqualTo(sum);
        page[8] = (byte) sum;
        page[9] = (byte) (sum >>> 8);
        assertThat(PageChecksum.storedChecksum(page, 0)).isEqualTo(sum);
        assertThat(PageChecksum.verify(page, 0, 9)).isTrue();
        assertThat(PageChecksum.verify(page, 0, 10)).as("another block number").isFalse();
        for (int at : new int[] {0, 10, 11, 127, 128, 4096, PAGE - 1}) {
            byte[] damaged = page.clone();
            damaged[at] ^= 0x10;
            assertThat(PageChecksum.verify(damaged, 0, 9))
                    .as("bit flipped at %d", at)
                    .isFalse();
        }
    }

    @Test
    void theFastLaneOrderGivesWhatTheRowByRowDefinitionGivesAtAnyOffset() {
        Random random = new Random(42);
        byte[] buf = new byte[3 * PAGE + 3];
        for (int round = 0; round < 50; round++) {
            random.nextBytes(buf);
            int offset = random.nextInt(2 * PAGE + 3);
            long block = Integer.toUnsignedLong(random.nextInt()) % (PageChecksum.MAX_BLOCK_NUMBER + 1);
            assertThat(PageChecksum.compute(buf, offset, block)).isEqualTo(rowByRow(buf, offset, block));
        }
    }

    @Test
    void aBufferWithoutAWholePageOrAnImpossibleBlockNumberIsRefused() {
        assertThatThrownBy(() -> PageChecksum.compute(new byte[PAGE], 1, 0))
                .isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> PageChecksum.verify(new byte[PAGE - 1], 0, 0))
                .isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> PageChecksum.pageLsn(new byte[PAGE], -1))
                .isInstanceOf(IndexOutOfBoundsException.class);
        assertThatThrownBy(() -> PageChecksum.compute(patternPage(), 0, -1))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("block number -1");
        assertThatThrownBy(() -> PageChecksum.compute(patternPage(), 0, 0xFFFF_FFFFL))
                .isInstanceOf(IllegalArgumentException.class);
        assertThat(PageChecksum.compute(patternPage(), 0, PageChecksum.MAX_BLOCK_NUMBER))
                .isBetween(1, 65535);
    }

    @Test
    void relationFilesNameTheirSegmentAndFirstBlock() {
        assertThat(PageChecksum.segmentNumber("16384")).isZero();
        assertThat(PageChecksum.segmentNumber("16384.3")).isEqualTo(3);
        assertThat(PageChecksum.segmentNumber("16384_vm")).isZero();
        assertThat(PageChecksum.segmentNumber("16384_fsm.2")).isEqualTo(2);
        assertThat(PageChecksum.segmentNumber("1259_init")).isZero();
        assertThat(PageChecksum.firstBlockNumber("16384.3")).isEqualTo(3 * 131_072L);
        assertThat(PageChecksum.firstBlockNumber("4294967295.32767")).isEqualTo(32767 * 131_072L);
        assertThat(PageChecksum.firstBlockNumber("16384_vm")).isZero();
    }

    @Test
    void namesThatAreNoRelationFilesAreRecognisedAndRefused() {
        for (String name : new String[] {
            "pg_filenode.map",
            "PG_VERSION",
            "pg_internal.init",
            "t3_16384",
            "16384.",
            "16384.0",
            "16384.01",
            "16384_main",
            "16384_vm_fsm",
            "016384",
            "4294967296",
            "16384.32768",
            "16384.3.1",
            "",
            "16384 "
        }) {
            assertThat(PageChecksum.isRelationFile(name)).as(name).isFalse();
            assertThatThrownBy(() -> PageChecksum.segmentNumber(name))
                    .as(name)
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("not a relation file name");
        }
        assertThat(PageChecksum.isRelationFile("2619_fsm")).isTrue();
    }

    /** checksum_impl.h as written: all 32 sums advanced a row at a time, then folded. */
    static int rowByRow(byte[] buf, int offset, long block) {
        int[] base = {
            0x5B1F36E9, 0xB8525960, 0x02AB50AA, 0x1DE66D2A, 0x79FF467A, 0x9BB9F8A3, 0x217E7CD2, 0x83E13D2C,
            0xF8D4474F, 0xE39EB970, 0x42C6AE16, 0x993216FA, 0x7B093B5D, 0x98DAFF3C, 0xF718902A, 0x0B1C9CDB,
            0xE58F764B, 0x187636BC, 0x5D7B3BB1, 0xE73DE7DE, 0x92BEC979, 0xCCA6C0B2, 0x304A0979, 0x85AA43D4,
            0x783125BB, 0x6CA8EAA2, 0xE407EAC6, 0x4B5CFC3E, 0x9FBF8C76, 0x15CA20BE, 0xF2CA9FD3, 0x959BD756
        };
        byte[] page = Arrays.copyOfRange(buf, offset, offset + PAGE);
        page[8] = 0;
        page[9] = 0;
        IntBuffer words = ByteBuffer.wrap(page).order(ByteOrder.LITTLE_ENDIAN).asIntBuffer();
        int[] sums = base.clone();
        for (int row = 0; row < PAGE / 128 + 2; row++) {
            for (int j = 0; j < 32; j++) {
                int value = row < PAGE / 128 ? words.get(row * 32 + j) : 0;
                int t = sums[j] ^ value;
                sums[j] = t * 16777619 ^ (t >>> 17);
            }
        }
        int result = 0;
        for (int s : sums) {
            result ^= s;
        }
        result ^= (int) block;
        return (int) (Integer.toUnsignedLong(result) % 65535) + 1;
    }

    /** From PostgreSQL 15's pageinspect: page_checksum(patternPage(), block) for {@link #PATTERN_BLOCKS}. */
    static final int[] PATTERN_CHECKSUMS = {2674, 2675, 2672, 2671, 30096};
}
