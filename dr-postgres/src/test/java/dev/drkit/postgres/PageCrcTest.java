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
    void runsOfZeroPagesFoldAtOnceAsPageByPage() {
        byte[] file = new byte[9 * PAGE];
        new Random(3).nextBytes(file);
        Arrays.fill(file, PAGE, 5 * PAGE, (byte) 0);
        Arrays.fill(file, 6 * PAGE, 9 * PAGE, (byte) 0);
        int folded = PageCrc.appendZeroPages(PageCrc.empty(), 0);
        folded = PageCrc.append(folded, PageCrc.crc(file, 0));
        folded = PageCrc.appendZeroPages(folded, 4);
        folded = PageCrc.append(folded, PageCrc.crc(file, 5 * PAGE));
        folded = PageCrc.appendZeroPages(folded, 3);
        CRC32C whole = new CRC32C();
        whole.update(file);
        assertThat(Integer.toUnsignedLong(folded)).isEqualTo(whole.getValue());
        for (int run : new int[] {3, 8, 9, 40}) { // page by page, and at once
            CRC32C zeros = new CRC32C();
            zeros.update(file, 0, PAGE);
            zeros.update(new byte[run * PAGE]);
            int fold = PageCrc.appendZeroPages(PageCrc.append(PageCrc.empty(), PageCrc.crc(file, 0)), run);
            assertThat(Integer.toUnsignedLong(fold))
                    .as("%d pages of zeros", run)
                    .isEqualTo(zeros.getValue());
        }
    }

    @Test
    void multiplyingByXToTheZeroChangesNothingAndPowersAdd() {
        int a = 0x1234_5678;
        assertThat(PageCrc.multiply(a, PageCrc.powerOfX(0))).isEqualTo(a);
        assertThat(PageCrc.multiply(PageCrc.powerOfX(40), PageCrc.powerOfX(60))).isEqualTo(PageCrc.powerOfX(100));
    }
}
