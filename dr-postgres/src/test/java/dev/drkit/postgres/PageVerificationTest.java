package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.spi.support.TarWriter;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** How a base backup judges a page whose checksum fails as it reads it. */
class PageVerificationTest {
    private static final String NAME = "base/5/16384";
    private static final long START = 0x1_0000_0000L;

    @TempDir
    Path dir;

    @Test
    void aPageThatStillFailsWhenReadAgainIsReportedWithItsBlockAndLsn() throws IOException {
        byte[] damaged = damagedPage();
        PageVerification pages = new PageVerification(true, START);
        check(pages, Files.write(file(), damaged), damaged);
        assertThat(pages.failures()).isOne();
        assertThat(pages.named()).singleElement().asString().startsWith(NAME + " block 0 (relation block 0, LSN 0/64");
    }

    @Test
    void aPageTornByAWriteIsNotReportedOnceTheWriteEnded() throws IOException {
        byte[] damaged = damagedPage();
        byte[] written = damaged.clone();
        int checksum = PageChecksum.compute(written, 0, 0);
        written[8] = (byte) checksum;
        written[9] = (byte) (checksum >>> 8);
        PageVerification pages = new PageVerification(true, START);
        check(pages, Files.write(file(), written), damaged);
        assertThat(pages.failures()).isZero();
    }

    /**
     * A relation truncated or dropped after its page was read (VACUUM cutting empty pages off,
     * DROP TABLE): the truncation happened after the backup started, so WAL replay makes it
     * again, and the page read is not in the restored cluster. PostgreSQL's base backup stops
     * checking such a file too. Before, the page read first was reported as damaged.
     */
    @Test
    void aPageWhoseFileWasTruncatedOrRemovedBeforeItWasReadAgainIsNotReported() throws IOException {
        byte[] damaged = damagedPage();
        PageVerification pages = new PageVerification(true, START);
        Path file = Files.write(file(), damaged);
        TarWriter.Item item = TarWriter.Item.of(file, NAME);
        Files.write(file, new byte[0]);
        pages.forFile(item).check(damaged, 0, 0);
        Files.delete(file);
        pages.forFile(item).check(damaged, 0, 0);
        assertThat(pages.failures()).isZero();
        assertThat(pages.named()).isEmpty();
    }

    /**
     * A cluster built with relation segments of another size than 1 GiB ({@code configure
     * --with-segsize}) numbers the blocks of {@code 16384.1} from its own segment size, and one
     * with pages of another size than 8 KiB is not checked at all (the checksum is computed over
     * the whole page). Before, drkit assumed both and reported every page of such files as damaged.
     */
    @Test
    void pagesAreNumberedByTheClustersSegmentSizeAndPagesOfAnotherSizeAreNotChecked() throws IOException {
        long segmentBlocks = 2 * PageChecksum.PAGES_PER_SEGMENT; // 2 GiB segments
        byte[] page = damagedPage();
        int checksum = PageChecksum.compute(page, 0, segmentBlocks); // block 0 of the second segment
        page[8] = (byte) checksum;
        page[9] = (byte) (checksum >>> 8);
        Path file = Files.write(Files.createDirectories(dir.resolve("base/5")).resolve("16384.1"), page);
        TarWriter.Item item = TarWriter.Item.of(file, NAME + ".1");

        PageVerification ofTheCluster = PageVerification.forCluster(true, PageChecksum.PAGE_SIZE, segmentBlocks, START);
        ofTheCluster.forFile(item).check(page, 0, 0);
        assertThat(ofTheCluster.failures()).isZero();
        PageVerification assumingOneGib = new PageVerification(true, START);
        assumingOneGib.forFile(item).check(page, 0, 0);
        assertThat(assumingOneGib.failures())
                .as("the page checked as block 131072")
                .isOne();

        PageVerification largerPages = PageVerification.forCluster(true, 16384, segmentBlocks / 2, START);
        largerPages
                .forFile(TarWriter.Item.of(Files.write(file(), damagedPage()), NAME))
                .check(damagedPage(), 0, 0);
        assertThat(largerPages.failures()).isZero();
    }

    /**
     * A damaged page whose LSN field is damaged too, to a position past the backup's end, which
     * no page on disk can have: reported once the end is known. Before, any failing page with an
     * LSN at or after the backup's start was taken for one written since and passed over. A
     * failing page with an LSN inside the backup (a torn one) still is.
     */
    @Test
    void aFailingPageWithAnLsnPastTheBackupsEndIsReportedOnceTheEndIsKnown() throws IOException {
        byte[] farOut = damagedPage();
        farOut[3] = 0x70; // xlogid 0x70000000
        byte[] torn = damagedPage();
        torn[0] = 0x01; // LSN 1/64: after the start, before the end
        PageVerification pages = new PageVerification(true, START);
        Path file = Files.write(file(), farOut);
        check(pages, file, farOut);
        check(pages, file, torn);
        assertThat(pages.failures()).as("before the end is known").isZero();

        pages.afterStop(START + 0x2000_0000L);
        assertThat(pages.failures()).isOne();
        assertThat(pages.named())
                .singleElement()
                .asString()
                .startsWith(NAME + " block 0 (relation block 0, LSN 70000000/64")
                .contains("after the backup's end 1/20000000");
    }

    private Path file() throws IOException {
        return Files.createDirectories(dir.resolve("base/5")).resolve("16384");
    }

    private static void check(PageVerification pages, Path file, byte[] read) throws IOException {
        pages.forFile(TarWriter.Item.of(file, NAME)).check(read, 0, 0);
    }

    /** A page of LSN 0/64, before the backup's start, whose stored checksum is wrong. */
    private static byte[] damagedPage() {
        byte[] page = PageChecksumTest.patternPage();
        for (int i = 0; i < 8; i++) {
            page[i] = 0;
        }
        page[4] = 0x64; // xrecoff, little-endian
        page[8] = 0; // pd_checksum 0: never a computed one
        page[9] = 0;
        assertThat(PageChecksum.verify(page, 0, 0)).isFalse();
        return page;
    }
}
