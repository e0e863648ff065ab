package dev.drkit.postgres;

import java.io.IOException;
import java.io.OutputStream;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Passes a pg_dump custom-format archive through to the backup and counts the rows of every
 * {@code TABLE DATA} entry on the way, so that exact row counts need no second scan of the
 * database. Memory is bounded: only table names are kept, never data.
 *
 * <p>The archive must be uncompressed ({@code --compress=0}): its data blocks are then COPY text,
 * one line per row, where a newline inside a value is written as the two characters {@code \n},
 * and an end-of-data line {@code \.} (followed by blank lines) that is no row. Layout, from
 * pg_dump's pg_backup_archiver.c (WriteHead, WriteToc, WriteInt, WriteStr, WriteOffset) and
 * pg_backup_custom.c (_WriteExtraToc, _StartData, _EndData, _StartLOs, _StartLO, _EndLO,
 * _EndLOs) for archive versions 1.12 to 1.16 (pg_dump 15 writes 1.14, 16 writes 1.15, 17 and 18
 * write 1.16).
 *
 * <p>Anything this class does not understand (another version, a compressed archive, a
 * malformed or truncated stream) never fails the write: counting stops, {@link #rows()} is empty
 * and {@link #failure()} says why, so that the caller counts another way. Not thread-safe.
 */
final class PgDumpRowCounter extends OutputStream {
    /** A table as the archive names it: schema and table name, unquoted. */
    record Table(String schema, String name) {
        // written out: a record's generated equals and hashCode are linked on first use, about
        // 10 ms in a fresh JVM, while the first table's rows stream past
        @Override
        public boolean equals(Object o) {
            return o instanceof Table t && Objects.equals(schema, t.schema) && Objects.equals(name, t.name);
        }

        @Override
        public int hashCode() {
            return 31 * Objects.hashCode(schema) + Objects.hashCode(name);
        }

        @Override
        public String toString() {
            return schema + "." + name;
        }
    }

    static final int OLDEST_VERSION = version(1, 12, 0);
    static final int NEWEST_VERSION = version(1, 16, 255);
    private static final int V_1_14 = version(1, 14, 0);
    private static final int V_1_15 = version(1, 15, 0);
    private static final int V_1_16 = version(1, 16, 0);
    private static final int FORMAT_CUSTOM = 1;
    private static final int BLK_DATA = 1;
    private static final int BLK_BLOBS = 3;
    private static final int MAX_KEPT_STRING = 256;
    private static final int NONE = -1;
    private static final VarHandle LONGS = MethodHandles.byteArrayViewVarHandle(long[].class, ByteOrder.LITTLE_ENDIAN);
    private static final long NEWLINES = 0x0A0A0A0A0A0A0A0AL;
    private static final long LOW7 = 0x7F7F7F7F7F7F7F7FL;

    private enum Step {
        MAGIC,
        VERSION,
        INT_SIZE,
        OFF_SIZE,
        FORMAT,
        COMPRESSION,
        CREATED,
        DATABASE,
        REMOTE_VERSION,
        DUMP_VERSION,
        TOC_COUNT,
        DUMP_ID,
        HAD_DUMPER,
        TABLE_OID,
        OID,
        TAG,
        DESC,
        SECTION,
        DEFN,
        DROP_STMT,
        COPY_STMT,
        NAMESPACE,
        TABLESPACE,
        TABLE_AM,
        RELKIND,
        OWNER,
        WITH_OIDS,
        DEPENDENCY,
        DATA_OFFSET,
        BLOCK_TYPE,
        BLOCK_ID,
        CHUNK_LENGTH,
        CHUNK,
        LO_OID,
        LO_CHUNK_LENGTH,
        LO_CHUNK
    }

    private enum Mode {
        FIXED,
        STRING_BODY,
        PAYLOAD
    }

    /** Thrown inside the parser only; caught in {@link #write(byte[], int, int)}. */
    private static final class Malformed extends RuntimeException {
        Malformed(String message) {
            super(message, null, false, false);
        }
    }

    private final OutputStream out;
    private String failure;

    // the token being read
    private Step step = Step.MAGIC;
    private Mode mode = Mode.FIXED;
    private final byte[] fixed = new byte[16];
    private int fixedLength;
    private int fixedNeed = 5;
    private boolean readingStringLength;
    private boolean keepString;
    private final byte[] string = new byte[MAX_KEPT_STRING];
    private int stringLength;
    private boolean stringTooLong;
    private long remaining;
    private int repeat;

    // archive header
    private int version;
    private int intSize;
    private int offSize;

    // table of contents
    private long tocLeft;
    private int entryId;
    private String entryTag;
    private String entryDesc;
    private final Map<Integer, Table> tableData = new HashMap<>();

    // data blocks
    private Table current;
    private int currentId;
    private long newlines;
    private long trailingNewlines;
    private long dataLength;
    /** The last three bytes of the block's data before its trailing newlines; NONE before the first. */
    private final int[] beforeTrailing = {NONE, NONE, NONE};
    /** The last three bytes of the block's data; NONE before the first. */
    private final int[] last = {NONE, NONE, NONE};

    private final Map<Integer, Long> counted = new HashMap<>();

    PgDumpRowCounter(OutputStream out) {
        this.out = out;
    }

    @Override
    public void write(int b) throws IOException {
        write(new byte[] {(byte) b}, 0, 1);
    }

    @Override
    public void write(byte[] b, int off, int len) throws IOException {
        out.write(b, off, len);
        if (failure == null && len > 0) {
            try {
                feed(b, off, len);
            } catch (Malformed e) {
                failure = e.getMessage();
            } catch (RuntimeException e) {
                failure = "the archive could not be read at its " + step.name().toLowerCase(Locale.ROOT);
            }
        }
    }

    @Override
    public void flush() throws IOException {
        out.flush();
    }

    @Override
    public void close() throws IOException {
        out.close();
    }

    /**
     * The number of rows of each table in the archive, once it has been written completely; empty
     * if the archive was not understood or is incomplete.
     */
    Optional<Map<Table, Long>> rows() {
        if (failure() != null) {
            return Optional.empty();
        }
        Map<Table, Long> rows = new LinkedHashMap<>();
        tableData.forEach((id, table) -> {
            if (table.name() != null && table.schema() != null) {
                rows.put(table, counted.get(id));
            }
        });
        return Optional.of(rows);
    }

    /** Why {@link #rows()} is empty, or null. */
    String failure() {
        if (failure != null) {
            return failure;
        }
        if (step != Step.BLOCK_TYPE || fixedLength != 0) {
            return "the archive ended in the middle (at " + step.name().toLowerCase(Locale.ROOT) + ")";
        }
        for (Map.Entry<Integer, Table> e : tableData.entrySet()) {
            if (!counted.containsKey(e.getKey())) {
                return "the archive holds no data block for table " + e.getValue();
            }
        }
        return null;
    }

    static int version(int major, int minor, int rev) {
        return (major * 256 + minor) * 256 + rev;
    }

    private void feed(byte[] b, int off, int len) {
        int end = off + len;
        int pos = off;
        while (pos < end) {
            if (step == Step.CHUNK_LENGTH && fixedLength == 0 && current != null) {
                int after = wholeChunks(b, pos, end);
                if (after != pos) {
                    pos = after;
                    continue;
                }
            }
            int n;
            switch (mode) {
                case FIXED -> {
                    n = Math.min(end - pos, fixedNeed - fixedLength);
                    System.arraycopy(b, pos, fixed, fixedLength, n);
                    fixedLength += n;
                    pos += n;
                    if (fixedLength == fixedNeed) {
                        fixedLength = 0;
                        onFixed();
                    }
                }
                case STRING_BODY -> {
                    n = (int) Math.min(end - pos, remaining);
                    if (keepString && !stringTooLong) {
                        if (stringLength + n > string.length) {
                            stringTooLong = true;
                        } else {
                            System.arraycopy(b, pos, string, stringLength, n);
                            stringLength += n;
                        }
                    }
                    pos += n;
                    remaining -= n;
                    if (remaining == 0) {
                        onString(keptString(), false);
                    }
                }
                case PAYLOAD -> {
                    n = (int) Math.min(end - pos, remaining);
                    if (current != null) {
                        countLines(b, pos, n);
                    }
                    pos += n;
                    remaining -= n;
                    if (remaining == 0) {
                        next(step == Step.CHUNK ? Step.CHUNK_LENGTH : Step.LO_CHUNK_LENGTH);
                        expectInt();
                    }
                }
                default -> throw new IllegalStateException();
            }
        }
    }

    private void expectBytes(int n) {
        mode = Mode.FIXED;
        fixedNeed = n;
        readingStringLength = false;
    }

    private void expectInt() {
        expectBytes(1 + intSize);
    }

    private void expectString(boolean keep) {
        expectInt();
        readingStringLength = true;
        keepString = keep;
    }

    private void next(Step s) {
        step = s;
    }

    private long intValue() {
        long v = 0;
        for (int i = intSize; i >= 1; i--) {
            v = (v << 8) | (fixed[i] & 0xFF);
        }
        if (intSize == 8 && v < 0) {
            throw new Malformed("an integer in the archive is out of range");
        }
        return fixed[0] != 0 ? -v : v;
    }

    private void onFixed() {
        if (readingStringLength) {
            long length = intValue();
            if (length == -1) {
                onString(null, true);
            } else if (length < 0) {
                throw new Malformed("a string in the archive has length " + length);
            } else if (length == 0) {
                stringLength = 0;
                stringTooLong = false;
                onString(keepString ? "" : null, false);
            } else {
                mode = Mode.STRING_BODY;
                remaining = length;
                stringLength = 0;
                stringTooLong = false;
            }
            return;
        }
        switch (step) {
            case MAGIC -> {
                if (fixed[0] != 'P' || fixed[1] != 'G' || fixed[2] != 'D' || fixed[3] != 'M' || fixed[4] != 'P') {
                    throw new Malformed("the stream is no pg_dump custom-format archive");
                }
                next(Step.VERSION);
                expectBytes(3);
            }
            case VERSION -> {
                version = version(fixed[0] & 0xFF, fixed[1] & 0xFF, fixed[2] & 0xFF);
                if (version < OLDEST_VERSION || version > NEWEST_VERSION) {
                    throw new Malformed("archive version " + (fixed[0] & 0xFF) + "." + (fixed[1] & 0xFF)
                            + " is not one this drkit reads");
                }
                next(Step.INT_SIZE);
                expectBytes(1);
            }
            case INT_SIZE -> {
                intSize = fixed[0] & 0xFF;
                if (intSize < 1 || intSize > 8) {
                    throw new Malformed("the archive's integer size " + intSize + " is not supported");
                }
                next(Step.OFF_SIZE);
                expectBytes(1);
            }
            case OFF_SIZE -> {
                offSize = fixed[0] & 0xFF;
                if (offSize < 1 || offSize > 8) {
                    throw new Malformed("the archive's offset size " + offSize + " is not supported");
                }
                next(Step.FORMAT);
                expectBytes(1);
            }
            case FORMAT -> {
                if (fixed[0] != FORMAT_CUSTOM) {
                    throw new Malformed("the archive is not in the custom format (format " + fixed[0] + ")");
                }
                next(Step.COMPRESSION);
                if (version >= V_1_15) {
                    expectBytes(1); // the compression algorithm
                } else {
                    expectInt(); // the compression level
                }
            }
            case COMPRESSION -> {
                long compression = version >= V_1_15 ? fixed[0] : intValue();
                if (compression != 0) {
                    throw new Malformed("the archive is compressed (" + compression + ")");
                }
                next(Step.CREATED);
                repeat = 7;
                expectInt();
            }
            case CREATED -> {
                if (--repeat == 0) {
                    next(Step.DATABASE);
                    expectString(false);
                } else {
                    expectInt();
                }
            }
            case TOC_COUNT -> {
                tocLeft = intValue();
                if (tocLeft < 0) {
                    throw new Malformed("the archive's table of contents has " + tocLeft + " entries");
                }
                startEntry();
            }
            case DUMP_ID -> {
                long id = intValue();
                if (id <= 0 || id > Integer.MAX_VALUE) {
                    throw new Malformed("entry id " + id + " is out of range");
                }
                entryId = (int) id;
                next(Step.HAD_DUMPER);
                expectInt();
            }
            case HAD_DUMPER -> {
                next(Step.TABLE_OID);
                expectString(false);
            }
            case SECTION -> {
                next(Step.DEFN);
                expectString(false);
            }
            case RELKIND -> {
                next(Step.OWNER);
                expectString(false);
            }
            case DATA_OFFSET -> {
                int state = fixed[0];
                if (state < 1 || state > 3) {
                    throw new Malformed("entry " + entryId + " has data state " + state);
                }
                tocLeft--;
                startEntry();
            }
            case BLOCK_TYPE -> {
                int type = fixed[0];
                if (type != BLK_DATA && type != BLK_BLOBS) {
                    throw new Malformed("unknown data block type " + type);
                }
                next(type == BLK_DATA ? Step.BLOCK_ID : Step.LO_OID);
                currentId = NONE;
                expectInt();
            }
            case BLOCK_ID -> startDataBlock(intValue());
            case CHUNK_LENGTH -> {
                long length = intValue();
                if (length < 0) {
                    throw new Malformed("a data chunk has length " + length);
                }
                if (length == 0) {
                    endDataBlock();
                } else {
                    next(Step.CHUNK);
                    mode = Mode.PAYLOAD;
                    remaining = length;
                }
            }
            case LO_OID -> {
                if (currentId == NONE) {
                    // the first int after a BLOBS block's type is its entry id, then each object's oid
                    currentId = (int) intValue();
                    if (counted.containsKey(currentId)) {
                        throw new Malformed("entry " + currentId + " has two data blocks");
                    }
                    counted.put(currentId, 0L);
                    expectInt();
                } else if (intValue() == 0) {
                    next(Step.BLOCK_TYPE);
                    expectBytes(1);
                } else {
                    next(Step.LO_CHUNK_LENGTH);
                    expectInt();
                }
            }
            case LO_CHUNK_LENGTH -> {
                long length = intValue();
                if (length < 0) {
                    throw new Malformed("a large object chunk has length " + length);
                }
                if (length == 0) {
                    next(Step.LO_OID);
                    expectInt();
                } else {
                    next(Step.LO_CHUNK);
                    mode = Mode.PAYLOAD;
                    remaining = length;
                }
            }
            default -> throw new IllegalStateException(step.name());
        }
    }

    /** A string token is complete: its value if kept, and whether it was null (which ends a list). */
    private void onString(String value, boolean isNull) {
        mode = Mode.FIXED;
        switch (step) {
            case DATABASE -> nextString(Step.REMOTE_VERSION, false);
            case REMOTE_VERSION -> nextString(Step.DUMP_VERSION, false);
            case DUMP_VERSION -> {
                next(Step.TOC_COUNT);
                expectInt();
            }
            case TABLE_OID -> nextString(Step.OID, false);
            case OID -> nextString(Step.TAG, true);
            case TAG -> {
                entryTag = value;
                nextString(Step.DESC, true);
            }
            case DESC -> {
                entryDesc = value;
                next(Step.SECTION);
                expectInt();
            }
            case DEFN -> nextString(Step.DROP_STMT, false);
            case DROP_STMT -> nextString(Step.COPY_STMT, false);
            case COPY_STMT -> nextString(Step.NAMESPACE, true);
            case NAMESPACE -> {
                if ("TABLE DATA".equals(entryDesc)) {
                    if (tableData.put(entryId, new Table(value, entryTag)) != null) {
                        throw new Malformed("entry id " + entryId + " appears twice");
                    }
                }
                nextString(Step.TABLESPACE, false);
            }
            case TABLESPACE -> {
                if (version >= V_1_14) {
                    nextString(Step.TABLE_AM, false);
                } else {
                    nextString(Step.OWNER, false);
                }
            }
            case TABLE_AM -> {
                if (version >= V_1_16) {
                    next(Step.RELKIND);
                    expectInt();
                } else {
                    nextString(Step.OWNER, false);
                }
            }
            case OWNER -> nextString(Step.WITH_OIDS, false);
            case WITH_OIDS -> nextString(Step.DEPENDENCY, false);
            case DEPENDENCY -> {
                if (isNull) {
                    next(Step.DATA_OFFSET);
                    expectBytes(1 + offSize);
                } else {
                    expectString(false);
                }
            }
            default -> throw new IllegalStateException(step.name());
        }
    }

    private void nextString(Step s, boolean keep) {
        next(s);
        expectString(keep);
    }

    private String keptString() {
        if (!keepString || stringTooLong) {
            return null;
        }
        try {
            return StandardCharsets.UTF_8
                    .newDecoder()
                    .onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT)
                    .decode(ByteBuffer.wrap(string, 0, stringLength))
                    .toString();
        } catch (CharacterCodingException e) {
            return null; // a name that is no UTF-8 matches no table, which is then counted another way
        }
    }

    private void startEntry() {
        if (tocLeft == 0) {
            next(Step.BLOCK_TYPE);
            expectBytes(1);
            return;
        }
        entryTag = null;
        entryDesc = null;
        next(Step.DUMP_ID);
        expectInt();
    }

    private void startDataBlock(long id) {
        if (id <= 0 || id > Integer.MAX_VALUE) {
            throw new Malformed("a data block names entry " + id);
        }
        currentId = (int) id;
        if (counted.containsKey(currentId)) {
            throw new Malformed("entry " + currentId + " has two data blocks");
        }
        current = tableData.get(currentId);
        newlines = 0;
        trailingNewlines = 0;
        dataLength = 0;
        Arrays.fill(beforeTrailing, NONE);
        Arrays.fill(last, NONE);
        next(Step.CHUNK_LENGTH);
        expectInt();
    }

    private void endDataBlock() {
        long rows = 0;
        if (current != null) {
            boolean endMarker = trailingNewlines > 0
                    && beforeTrailing[1] == '\\'
                    && beforeTrailing[2] == '.'
                    && (beforeTrailing[0] == '\n' || beforeTrailing[0] == NONE);
            if (!endMarker && trailingNewlines == 0 && dataLength > 0) {
                throw new Malformed("the data of table " + current + " ends inside a line");
            }
            rows = endMarker ? newlines - trailingNewlines : newlines;
        }
        counted.put(currentId, rows);
        current = null;
        next(Step.BLOCK_TYPE);
        expectBytes(1);
    }

    /**
     * The common case in one tight loop: pg_dump writes a chunk per row, so a table's data is
     * millions of small chunks, each of which would otherwise pass through the token machinery.
     * Counts the chunks that lie wholly in {@code b} and returns where the first other one starts.
     */
    private int wholeChunks(byte[] b, int pos, int end) {
        int header = 1 + intSize;
        while (end - pos >= header) {
            long length = 0;
            for (int i = intSize; i >= 1; i--) {
                length = (length << 8) | (b[pos + i] & 0xFF);
            }
            if (b[pos] != 0 || length <= 0 || length > end - pos - header) {
                break; // the end of the block, a malformed length, or a chunk that goes on in the next write
            }
            countLines(b, pos + header, (int) length);
            pos += header + (int) length;
        }
        return pos;
    }

    /** Counts newlines fast and keeps just enough of the tail to recognise the end-of-data line. */
    private void countLines(byte[] b, int off, int len) {
        int end = off + len;
        int i = off;
        long n = 0;
        for (; i + 8 <= end; i += 8) {
            long v = (long) LONGS.get(b, i) ^ NEWLINES;
            long t = ~(((v & LOW7) + LOW7) | v | LOW7);
            n += Long.bitCount(t);
        }
        for (; i < end; i++) {
            if (b[i] == '\n') {
                n++;
            }
        }
        newlines += n;
        dataLength += len;
        if (len >= 4 && b[end - 1] == '\n' && b[end - 2] != '\n') {
            // a row: one newline at its end, and no need to reach back into earlier data
            trailingNewlines = 1;
            beforeTrailing[0] = b[end - 4] & 0xFF;
            beforeTrailing[1] = b[end - 3] & 0xFF;
            beforeTrailing[2] = b[end - 2] & 0xFF;
            last[0] = beforeTrailing[1];
            last[1] = beforeTrailing[2];
            last[2] = '\n';
            return;
        }
        int j = end - 1;
        while (j >= off && b[j] == '\n') {
            j--;
        }
        if (j < off) {
            trailingNewlines += len;
        } else {
            trailingNewlines = end - 1 - j;
            // the three bytes ending at j, reaching back into earlier data if this write is short
            for (int k = 0; k < 3; k++) {
                int at = j - 2 + k;
                beforeTrailing[k] = at >= off ? b[at] & 0xFF : last[3 + (at - off)];
            }
        }
        for (int k = 0; k < 3; k++) {
            int at = end - 3 + k;
            last[k] = at >= off ? b[at] & 0xFF : last[3 + (at - off)];
        }
    }
}
