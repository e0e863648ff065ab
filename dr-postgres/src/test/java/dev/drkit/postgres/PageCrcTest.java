package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Arrays;
import java.util.Random;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

/** A file's CRC-32C folded from its pages' equals the CRC-32C of its bytes. */
class PageCrcTest {
    private static final int PAGE = PageMaps.PAGE;

    @Test
    void foldingPageChecksumsGivesTheChecksumOfTheWholeFile() {
        Random random = new Random(17);
        for (int pages : new int[] {0, 1, 2, 7, 33}) {
            byte[] file = new byte[pages * PAGE];
            random.nextBytes(file);
            if (pages > 3) {
                Arrays.fill(file, 2 * PAGE, 3 * PAGE, (byte) 0); // a page of zeros among them
            }
            int folded = PageCrc.empty();
            for (int p = 0; p < pages; p++) {
                folded = PageCrc.append(folded, p == 2 && pages > 3 ? PageCrc.zeroPage() : PageCrc.crc(file, p * PAGE));
            }
            CRC32C whole = new CRC32C();
            whole.update(file);
            assertThat(Integer.toUnsignedLong(folded)).as("%d pages", pages).isEqualTo(whole.getValue());
        }
    }

    @Test
    void multiplyingByXToTheZeroChangesNothingAndPowersAdd() {
        int a = 0x1234_5678;
        assertThat(PageCrc.multiply(a, PageCrc.powerOfX(0))).isEqualTo(a);
        assertThat(PageCrc.multiply(PageCrc.powerOfX(40), PageCrc.powerOfX(60))).isEqualTo(PageCrc.powerOfX(100));
    }
}
