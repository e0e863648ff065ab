package dev.drkit.postgres;

import static org.assertj.core.api.Assertions.assertThat;

import dev.drkit.postgres.PgDumpRowCounter.Table;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.util.Arrays;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PgDumpRowCounterTest {
    private static final String END = "\\.\n\n\n";

    /** Feeds the archive in writes of {@code step} bytes and returns the counter. */
    private static PgDumpRowCounter feed(byte[] archive, int step) throws IOException {
        ByteArrayOutputStream copy = new ByteArrayOutputStream();
        PgDumpRowCounter counter = new PgDumpRowCounter(copy);
        for (int i = 0; i < archive.length; i += step) {
            counter.write(archive, i, Math.min(step, archive.length - i));
        }
        counter.close();
        assertThat(copy.toByteArray()).as("what passes through").isEqualTo(archive);
        return counter;
    }

    private static SyntheticPgDump threeTables(int minor) {
        return new SyntheticPgDump(minor)
                .entry(1, "ENCODING", null, "ENCODING", false)
                .entry(2, "TABLE", "public", "t", false)
                .entry(3, "TABLE DATA", "public", "t", true)
                .entry(4, "TABLE DATA", "Weird Schema", "Mixed Case", true)
                .entry(5, "TABLE DATA", "public", "empty", true)
                .entry(6, "BLOBS", null, "BLOBS", true)
                .data(3, "1\tone\n", "2\ttwo\\nlines\\\\ and \\ttab\n", "\\N\t\\N\n", END)
                .data(4, "a\n\n", "\\\\.\n", END) // an empty string row, and a row holding "\."
                .data(5, END)
                .blobs(6, "\n\n\n".getBytes(), "x\ny\n".getBytes());
    }

    @ParameterizedTest
    @ValueSource(ints = {14, 15, 16})
    void countsTheRowsOfEachTableDataEntryInEveryVersionPgDump15To18Writes(int minor) throws IOException {
        byte[] archive = threeTables(minor).bytes();
        for (int step : new int[] {1, 2, 3, 5, 7, 8, 9, 64, archive.length}) {
            PgDumpRowCounter counter = feed(archive, step);
            assertThat(counter.failure()).as("step %d", step).isNull();
            assertThat(counter.rows())
                    .as("step %d", step)
                    .contains(Map.of(
                            new Table("public", "t"), 3L,
                            new Table("Weird Schema", "Mixed Case"), 3L,
                            new Table("public", "empty"), 0L));
        }
    }

    @Test
    void linesAfterTheEndOfDataMarkerAreNoRowsAndAnArchiveWithoutMarkerCountsEveryLine() throws IOException {
        byte[] marker = new SyntheticPgDump(16)
                .entry(1, "TABLE DATA", "s", "a", true)
                .entry(2, "TABLE DATA", "s", "b", true)
                .entry(3, "TABLE DATA", "s", "c", true)
                .entry(4, "TABLE DATA", "s", "d", true)
                .entry(5, "TABLE DATA", "s", "e", true)
                .data(1, "x\n", "\\", ".", "\n", "\n")
                .data(2, "\\.\n")
                .data(3, "x\ny\n\n")
                .data(4, "row\nrow\n\\.\n") // rows and the marker in one chunk
                .data(5, "row\n\\\\.\n", "\\.\n\n\n") // the second row holds "\."
                .bytes();
        Map<Table, Long> expected = Map.of(
                new Table("s", "a"), 1L,
                new Table("s", "b"), 0L,
                new Table("s", "c"), 3L,
                new Table("s", "d"), 2L,
                new Table("s", "e"), 2L);
        for (int step : new int[] {1, 2, 5, marker.length}) {
            assertThat(feed(marker, step).rows()).as("step %d", step).contains(expected);
        }
    }

    @Test
    void longRowsAcrossWritesAreCountedOnce() throws IOException {
        char[] wide = new char[100_000];
        Arrays.fill(wide, 'w');
        String row = new String(wide) + "\n";
        byte[] archive = new SyntheticPgDump(15)
                .entry(1, "TABLE DATA", "public", "wide", true)
                .data(1, row + row, row, END)
                .bytes();
        assertThat(feed(archive, 8191).rows()).contains(Map.of(new Table("public", "wide"), 3L));
    }

    @Test
    void aCompressedArchiveIsNotCounted() throws IOException {
        PgDumpRowCounter gzip = feed(threeTables(16).compression(1).bytes(), 100);
        assertThat(gzip.rows()).isEmpty();
        assertThat(gzip.failure()).contains("compressed");

        PgDumpRowCounter level = feed(threeTables(14).compression(6).bytes(), 100);
        assertThat(level.rows()).isEmpty();
        assertThat(level.failure()).contains("compressed");
    }

    @Test
    void anUnknownArchiveVersionIsNotCounted() throws IOException {
        PgDumpRowCounter newer = feed(threeTables(17).bytes(), 100);
        assertThat(newer.rows()).isEmpty();
        assertThat(newer.failure()).contains("version 1.17");

        PgDumpRowCounter older = feed(threeTables(11).bytes(), 100);
        assertThat(older.rows()).isEmpty();
        assertThat(older.failure()).contains("version 1.11");
    }

    @Test
    void aCorruptedHeaderIsNotCountedAndStillPassesThrough() throws IOException {
        byte[] archive = threeTables(16).bytes();
        archive[2] = 'X';
        PgDumpRowCounter counter = feed(archive, 10);
        assertThat(counter.rows()).isEmpty();
        assertThat(counter.failure()).contains("no pg_dump custom-format archive");

        byte[] plain = "--\n-- PostgreSQL database dump\n--\n".getBytes();
        assertThat(feed(plain, 4).rows()).isEmpty();
    }

    @Test
    void aTruncatedArchiveIsNotCounted() throws IOException {
        byte[] archive = threeTables(16).bytes();
        for (int cut : new int[] {0, 3, 20, archive.length / 2, archive.length - 40, archive.length - 1}) {
            PgDumpRowCounter counter = feed(Arrays.copyOf(archive, cut), 7);
            assertThat(counter.rows()).as("cut at %d", cut).isEmpty();
            assertThat(counter.failure()).as("cut at %d", cut).isNotNull();
        }
    }

    @Test
    void garbledBlocksAreNotCounted() throws IOException {
        byte[] good = threeTables(16).bytes();
        // the first data block's type byte: right after the table of contents
        int firstBlock = indexOf(good, new byte[] {1, 0, 3, 0, 0, 0});
        byte[] badType = good.clone();
        badType[firstBlock] = 9;
        assertThat(feed(badType, 13).failure()).contains("block type 9");

        byte[] negativeLength = good.clone();
        negativeLength[firstBlock + 6] = 1; // the sign byte of the first chunk's length
        assertThat(feed(negativeLength, 13).rows()).isEmpty();

        byte[] endsInsideALine = new SyntheticPgDump(16)
                .entry(1, "TABLE DATA", "s", "a", true)
                .data(1, "x\ny")
                .bytes();
        assertThat(feed(endsInsideALine, 3).failure()).contains("ends inside a line");

        byte[] missingBlock = new SyntheticPgDump(16)
                .entry(1, "TABLE DATA", "s", "a", true)
                .entry(2, "TABLE DATA", "s", "b", true)
                .data(1, "x\n")
                .bytes();
        assertThat(feed(missingBlock, 3).failure()).contains("no data block");

        byte[] twice = new SyntheticPgDump(16)
                .entry(1, "TABLE DATA", "s", "a", true)
                .data(1, "x\n")
                .data(1, "x\n")
                .bytes();
        assertThat(feed(twice, 3).failure()).contains("two data blocks");
    }

    @Test
    void eightByteIntegersAreRead() throws IOException {
        byte[] archive = new SyntheticPgDump(16, 8)
                .entry(1, "TABLE DATA", "public", "t", true)
                .data(1, "1\n2\n", END)
                .bytes();
        assertThat(feed(archive, 5).rows()).contains(Map.of(new Table("public", "t"), 2L));
    }

    private static int indexOf(byte[] haystack, byte[] needle) {
        outer:
        for (int i = 0; i + needle.length <= haystack.length; i++) {
            for (int j = 0; j < needle.length; j++) {
                if (haystack[i + j] != needle[j]) {
                    continue outer;
                }
            }
            return i;
        }
        throw new AssertionError("not found");
    }
}
