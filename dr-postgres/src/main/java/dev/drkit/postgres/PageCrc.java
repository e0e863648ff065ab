package dev.drkit.postgres;

import java.util.zip.CRC32C;

/**
 * CRC-32C of a file put together from the CRC-32C of each of its pages, so that a file rebuilt
 * out of order (newest pages first) is checked without reading it back. Combining uses
 * arithmetic modulo the CRC's polynomial: appending {@code n} bytes to a message multiplies its
 * CRC register by {@code x^(8n)}, so {@code crc(A||B) = crc(A) * x^(8|B|) xor crc(B)} for the
 * finalized (pre- and post-inverted) CRC as well.
 */
final class PageCrc {
    /** CRC-32C's polynomial, bit-reversed (bit 31 is the coefficient of x^0). */
    private static final int POLY = 0x82F63B78;

    private static final int PAGE = PageMaps.PAGE;
    /** Multiplication by x^(8 * PAGE), one table per byte of the register. */
    private static final int[][] SHIFT_PAGE = tables(powerOfX(8L * PAGE));

    private static final int ZERO_PAGE = crc(new byte[PAGE], 0);

    private PageCrc() {}

    /** The CRC-32C of one page of {@code buffer} from {@code offset}. */
    static int crc(byte[] buffer, int offset) {
        CRC32C c = new CRC32C();
        c.update(buffer, offset, PAGE);
        return (int) c.getValue();
    }

    /** The CRC-32C of a page of zeros. */
    static int zeroPage() {
        return ZERO_PAGE;
    }

    /** The CRC-32C of a file whose first part has CRC {@code crc} followed by one page with CRC {@code page}. */
    static int append(int crc, int page) {
        return (SHIFT_PAGE[0][crc & 0xff]
                        ^ SHIFT_PAGE[1][(crc >>> 8) & 0xff]
                        ^ SHIFT_PAGE[2][(crc >>> 16) & 0xff]
                        ^ SHIFT_PAGE[3][crc >>> 24])
                ^ page;
    }

    /**
     * The CRC-32C of a file whose first part has CRC {@code crc} followed by {@code pages} pages
     * of zeros: appending a zero byte multiplies the CRC register (the CRC with its final
     * inversion undone) by x^8.
     */
    static int appendZeroPages(int crc, long pages) {
        if (pages <= 8) { // a short run: page by page is cheaper than the power of x
            for (long p = 0; p < pages; p++) {
                crc = append(crc, ZERO_PAGE);
            }
            return crc;
        }
        return multiply(crc ^ 0xFFFFFFFF, powerOfX(8L * PAGE * pages)) ^ 0xFFFFFFFF;
    }

    /** The CRC-32C of the empty message (the start of a fold with {@link #append}). */
    static int empty() {
        return 0;
    }

    /** a * b modulo the polynomial, both bit-reversed. */
    static int multiply(int a, int b) {
        int product = 0;
        for (int m = 1 << 31; m != 0; m >>>= 1) {
            if ((a & m) != 0) {
                product ^= b;
            }
            b = (b & 1) != 0 ? (b >>> 1) ^ POLY : b >>> 1;
        }
        return product;
    }

    /** x^n modulo the polynomial, bit-reversed. */
    static int powerOfX(long n) {
        int result = 1 << 31; // x^0
        int square = 1 << 30; // x^1, then x^2, x^4, ...
        for (long k = n; k != 0; k >>>= 1) {
            if ((k & 1) != 0) {
                result = multiply(result, square);
            }
            square = multiply(square, square);
        }
        return result;
    }

    private static int[][] tables(int factor) {
        int[][] t = new int[4][256];
        for (int j = 0; j < 4; j++) {
            for (int v = 0; v < 256; v++) {
                t[j][v] = multiply(factor, v << (8 * j));
            }
        }
        return t;
    }
}
