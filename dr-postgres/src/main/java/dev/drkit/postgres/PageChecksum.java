package dev.drkit.postgres;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteOrder;
import java.util.Arrays;
import java.util.Objects;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * PostgreSQL's data page checksum (the one {@code initdb --data-checksums} turns on), and the
 * few page header fields a base backup reads, for pages of the default size of 8 KiB.
 *
 * <p>The algorithm is the one of PostgreSQL's {@code storage/checksum_impl.h}: the page is seen
 * as 64 rows of 32 little-endian 32-bit words, with the page's own {@code pd_checksum} (bytes
 * 8-9) read as zero. Each of the 32 columns is hashed on its own, starting from its own base
 * offset, with the FNV-1a-like step {@code t = sum ^ word; sum = t * 16777619 ^ (t >>> 17)};
 * two more steps with a zero word mix the last words in, the 32 sums are XOR-ed together, the
 * block number is XOR-ed in (so that a page written to the wrong place fails), and the result
 * is reduced to 16 bits as {@code (sum mod 65535) + 1}, never zero. The block number is the one
 * within the whole relation: block {@code k} of segment file {@code 16384.N} is block
 * {@code N * 131072 + k} (see {@link #firstBlockNumber(String)}).
 *
 * <p>A page whose {@code pd_upper} is zero is new (PostgreSQL's {@code PageIsNew}: an extended
 * but never initialised page, usually all zeros) and carries no checksum; {@link #verify}
 * accepts it, as {@code pg_checksums} and {@code pg_basebackup} do (the server itself also
 * expects such a page to be all zeros when it reads it).
 *
 * <p>The words are read in place (no copy, no allocation), so checking every page of a backup
 * costs a fraction of the time its SHA-256 does. Stateless and thread-safe. Pages are on-disk
 * images of an x86/ARM (little-endian) server; a big-endian server's pages would not verify.
 */
final class PageChecksum {
    /** The page size this class handles: PostgreSQL's default {@code BLCKSZ}. */
    static final int PAGE_SIZE = 8192;
    /** Pages in one relation segment file of the default 1 GiB ({@code RELSEG_SIZE}). */
    static final long PAGES_PER_SEGMENT = (1L << 30) / PAGE_SIZE;
    /** The largest valid block number ({@code InvalidBlockNumber} is 2^32 - 1). */
    static final long MAX_BLOCK_NUMBER = 0xFFFF_FFFEL;
    /** The last segment whose pages have valid block numbers. */
    static final int MAX_SEGMENT = (int) (MAX_BLOCK_NUMBER / PAGES_PER_SEGMENT);

    private static final int LANES = 32;
    private static final int ROWS = PAGE_SIZE / (4 * LANES);
    private static final int ROW_BYTES = 4 * LANES;
    private static final int FNV_PRIME = 16777619;
    /** Lanes hashed at once: enough independent multiplications to hide their latency. */
    private static final int GROUP = 8;

    /** Each lane's starting value (random numbers fixed by PostgreSQL). */
    private static final int[] BASE = {
        0x5B1F36E9, 0xB8525960, 0x02AB50AA, 0x1DE66D2A, 0x79FF467A, 0x9BB9F8A3, 0x217E7CD2, 0x83E13D2C,
        0xF8D4474F, 0xE39EB970, 0x42C6AE16, 0x993216FA, 0x7B093B5D, 0x98DAFF3C, 0xF718902A, 0x0B1C9CDB,
        0xE58F764B, 0x187636BC, 0x5D7B3BB1, 0xE73DE7DE, 0x92BEC979, 0xCCA6C0B2, 0x304A0979, 0x85AA43D4,
        0x783125BB, 0x6CA8EAA2, 0xE407EAC6, 0x4B5CFC3E, 0x9FBF8C76, 0x15CA20BE, 0xF2CA9FD3, 0x959BD756
    };

    /**
     * Masks for the first row's words: word 2 holds pd_checksum in its low (little-endian first)
     * half and pd_flags in its high half; the checksum is computed as if pd_checksum were zero.
     */
    private static final int[] FIRST_ROW_MASK = new int[LANES];

    static {
        Arrays.fill(FIRST_ROW_MASK, -1);
        FIRST_ROW_MASK[2] = 0xFFFF_0000;
    }

    private static final VarHandle INT_LE = MethodHandles.byteArrayViewVarHandle(int[].class, ByteOrder.LITTLE_ENDIAN);
    private static final VarHandle SHORT_LE =
            MethodHandles.byteArrayViewVarHandle(short[].class, ByteOrder.LITTLE_ENDIAN);

    private static final int OFF_CHECKSUM = 8;
    private static final int OFF_UPPER = 14;

    /** {@code 16384}, {@code 16384.3}, {@code 16384_vm}, {@code 16384_fsm.2}, {@code 16384_init}. */
    private static final Pattern RELATION_FILE =
            Pattern.compile("([1-9][0-9]{0,9})(?:_(?:fsm|vm|init))?(?:\\.([1-9][0-9]{0,4}))?");

    private PageChecksum() {}

    /**
     * The checksum PostgreSQL stores in the page at {@code offset} of {@code buf} when it is
     * block {@code blockNumber} of its relation, whatever the page's {@code pd_checksum} holds.
     * Meaningless for a new page ({@link #isNew}), which PostgreSQL never checksums.
     *
     * @return a value in 1..65535
     * @throws IndexOutOfBoundsException if the buffer holds no whole page at {@code offset}
     * @throws IllegalArgumentException if the block number is outside 0..2^32-2
     */
    static int compute(byte[] buf, int offset, long blockNumber) {
        Objects.checkFromIndexSize(offset, PAGE_SIZE, buf.length);
        if (blockNumber < 0 || blockNumber > MAX_BLOCK_NUMBER) {
            throw new IllegalArgumentException("block number " + blockNumber + " is outside 0.." + MAX_BLOCK_NUMBER);
        }
        int sum = blockSum(buf, offset) ^ (int) blockNumber;
        return Integer.remainderUnsigned(sum, 65535) + 1;
    }

    /**
     * Whether the page at {@code offset} is intact for block {@code blockNumber} of its
     * relation: new (nothing to check), or its {@code pd_checksum} equals {@link #compute}. Only
     * meaningful for a cluster with data checksums on. A page read while the server writes it
     * may fail and still be fine: WAL replay rewrites it. {@code pg_basebackup} therefore rereads
     * a failing page once and skips pages whose {@link #pageLsn} is at or after the backup's
     * start LSN.
     *
     * @throws IndexOutOfBoundsException if the buffer holds no whole page at {@code offset}
     * @throws IllegalArgumentException if the block number is outside 0..2^32-2
     */
    static boolean verify(byte[] buf, int offset, long blockNumber) {
        return isNew(buf, offset) || compute(buf, offset, blockNumber) == storedChecksum(buf, offset);
    }

    /** The page's {@code pd_checksum}: 0..65535, zero when the cluster has no data checksums. */
    static int storedChecksum(byte[] buf, int offset) {
        Objects.checkFromIndexSize(offset, PAGE_SIZE, buf.length);
        return Short.toUnsignedInt((short) SHORT_LE.get(buf, offset + OFF_CHECKSUM));
    }

    /**
     * Whether the page is new ({@code pd_upper == 0}: extended, never initialised, no checksum);
     * an all-zero page is new.
     */
    static boolean isNew(byte[] buf, int offset) {
        Objects.checkFromIndexSize(offset, PAGE_SIZE, buf.length);
        return (short) SHORT_LE.get(buf, offset + OFF_UPPER) == 0;
    }

    /**
     * The page's {@code pd_lsn}: the WAL position just past the record of its last change, as
     * an unsigned 64-bit value ({@code xlogid << 32 | xrecoff}); 0 for a new page.
     */
    static long pageLsn(byte[] buf, int offset) {
        Objects.checkFromIndexSize(offset, PAGE_SIZE, buf.length);
        long xlogid = Integer.toUnsignedLong((int) INT_LE.get(buf, offset));
        long xrecoff = Integer.toUnsignedLong((int) INT_LE.get(buf, offset + 4));
        return xlogid << 32 | xrecoff;
    }

    /** Whether {@code fileName} names a relation data file (any fork, any segment) of a non-temporary relation. */
    static boolean isRelationFile(String fileName) {
        Matcher m = RELATION_FILE.matcher(fileName);
        return m.matches()
                && Long.parseLong(m.group(1)) <= 0xFFFF_FFFFL
                && (m.group(2) == null || Integer.parseInt(m.group(2)) <= MAX_SEGMENT);
    }

    /**
     * The segment number of a relation file: 0 for {@code 16384} or {@code 16384_vm}, 3 for
     * {@code 16384.3}, 2 for {@code 16384_fsm.2}.
     *
     * @throws IllegalArgumentException if the name is not a relation file's (see {@link #isRelationFile})
     */
    static int segmentNumber(String fileName) {
        if (!isRelationFile(fileName)) {
            throw new IllegalArgumentException("'" + fileName + "' is not a relation file name: expected a"
                    + " relfilenode, an optional _fsm, _vm or _init fork and an optional .segment up to "
                    + MAX_SEGMENT);
        }
        int dot = fileName.indexOf('.');
        return dot < 0 ? 0 : Integer.parseInt(fileName.substring(dot + 1));
    }

    /**
     * The relation block number of the first page of a relation file: {@code segmentNumber *
     * 131072} for the default 1 GiB segments of 8 KiB pages.
     *
     * @throws IllegalArgumentException as {@link #segmentNumber} does
     */
    static long firstBlockNumber(String fileName) {
        return segmentNumber(fileName) * PAGES_PER_SEGMENT;
    }

    /**
     * pg_checksum_block: the 32 column sums, XOR-folded. Lanes are independent, so they are
     * hashed {@value #GROUP} at a time down the whole page (which stays in L1): the eight
     * multiplications of a row overlap instead of waiting on each other, without an array.
     */
    private static int blockSum(byte[] buf, int offset) {
        int result = 0;
        for (int lane = 0; lane < LANES; lane += GROUP) {
            int p = offset + 4 * lane;
            int s0 = mix(BASE[lane], word(buf, p) & FIRST_ROW_MASK[lane]);
            int s1 = mix(BASE[lane + 1], word(buf, p + 4) & FIRST_ROW_MASK[lane + 1]);
            int s2 = mix(BASE[lane + 2], word(buf, p + 8) & FIRST_ROW_MASK[lane + 2]);
            int s3 = mix(BASE[lane + 3], word(buf, p + 12) & FIRST_ROW_MASK[lane + 3]);
            int s4 = mix(BASE[lane + 4], word(buf, p + 16) & FIRST_ROW_MASK[lane + 4]);
            int s5 = mix(BASE[lane + 5], word(buf, p + 20) & FIRST_ROW_MASK[lane + 5]);
            int s6 = mix(BASE[lane + 6], word(buf, p + 24) & FIRST_ROW_MASK[lane + 6]);
            int s7 = mix(BASE[lane + 7], word(buf, p + 28) & FIRST_ROW_MASK[lane + 7]);
            for (int row = 1; row < ROWS; row++) {
                p += ROW_BYTES;
                s0 = mix(s0, word(buf, p));
                s1 = mix(s1, word(buf, p + 4));
                s2 = mix(s2, word(buf, p + 8));
                s3 = mix(s3, word(buf, p + 12));
                s4 = mix(s4, word(buf, p + 16));
                s5 = mix(s5, word(buf, p + 20));
                s6 = mix(s6, word(buf, p + 24));
                s7 = mix(s7, word(buf, p + 28));
            }
            result ^= finish(s0)
                    ^ finish(s1)
                    ^ finish(s2)
                    ^ finish(s3)
                    ^ finish(s4)
                    ^ finish(s5)
                    ^ finish(s6)
                    ^ finish(s7);
        }
        return result;
    }

    private static int word(byte[] buf, int at) {
        return (int) INT_LE.get(buf, at);
    }

    /** One step of the hash (CHECKSUM_COMP). */
    private static int mix(int sum, int value) {
        int t = sum ^ value;
        return t * FNV_PRIME ^ (t >>> 17);
    }

    /** The two closing steps with a zero word. */
    private static int finish(int sum) {
        return mix(mix(sum, 0), 0);
    }
}
