package dev.drkit.postgres;

import java.io.ByteArrayOutputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;

/**
 * Writes small custom-format archives by the layout of pg_dump's pg_backup_archiver.c (WriteHead,
 * WriteToc) and pg_backup_custom.c, for the archive versions no installed pg_dump writes.
 */
final class SyntheticPgDump {
    record Entry(int id, String desc, String namespace, String tag, boolean hasData, String definition) {}

    private final int minor;
    private final int intSize;
    private int compression;
    private final List<Entry> entries = new ArrayList<>();
    private final ByteArrayOutputStream blocks = new ByteArrayOutputStream();

    SyntheticPgDump(int minor) {
        this(minor, 4);
    }

    SyntheticPgDump(int minor, int intSize) {
        this.minor = minor;
        this.intSize = intSize;
    }

    SyntheticPgDump compression(int compression) {
        this.compression = compression;
        return this;
    }

    SyntheticPgDump entry(int id, String desc, String namespace, String tag, boolean hasData) {
        entries.add(new Entry(id, desc, namespace, tag, hasData, null));
        return this;
    }

    /** An entry without data whose definition, the SQL pg_restore runs or writes for it, is {@code sql}. */
    SyntheticPgDump statement(int id, String desc, String tag, String sql) {
        entries.add(new Entry(id, desc, "public", tag, false, sql));
        return this;
    }

    /** A data block whose data is written in the given chunks. */
    SyntheticPgDump data(int id, String... chunks) {
        blocks.write(1);
        writeInt(blocks, id);
        for (String c : chunks) {
            byte[] b = c.getBytes(StandardCharsets.UTF_8);
            writeInt(blocks, b.length);
            blocks.writeBytes(b);
        }
        writeInt(blocks, 0);
        return this;
    }

    /** A large objects block: each object one chunk. */
    SyntheticPgDump blobs(int id, byte[]... objects) {
        blocks.write(3);
        writeInt(blocks, id);
        int oid = 16000;
        for (byte[] o : objects) {
            writeInt(blocks, oid++);
            writeInt(blocks, o.length);
            blocks.writeBytes(o);
            writeInt(blocks, 0);
        }
        writeInt(blocks, 0);
        return this;
    }

    byte[] bytes() {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes("PGDMP".getBytes(StandardCharsets.US_ASCII));
        out.write(1);
        out.write(minor);
        out.write(0);
        out.write(intSize);
        out.write(8); // offSize
        out.write(1); // custom format
        if (minor >= 15) {
            out.write(compression); // algorithm
        } else {
            writeInt(out, compression); // level
        }
        for (int i = 0; i < 7; i++) {
            writeInt(out, i);
        }
        writeStr(out, "db");
        writeStr(out, "16.4");
        writeStr(out, "16.4");
        writeInt(out, entries.size());
        for (Entry e : entries) {
            writeInt(out, e.id());
            writeInt(out, e.hasData() ? 1 : 0);
            writeStr(out, "1259");
            writeStr(out, "16384");
            writeStr(out, e.tag());
            writeStr(out, e.desc());
            writeInt(out, e.hasData() ? 3 : 2); // section
            writeStr(out, e.hasData() ? "" : e.definition() != null ? e.definition() : "CREATE TABLE x ();\n");
            writeStr(out, "");
            writeStr(out, e.hasData() ? "COPY x FROM stdin;\n" : null);
            writeStr(out, e.namespace());
            writeStr(out, "");
            if (minor >= 14) {
                writeStr(out, e.hasData() ? null : "heap");
            }
            if (minor >= 16) {
                writeInt(out, 'r');
            }
            writeStr(out, "postgres");
            writeStr(out, "false");
            writeStr(out, "7");
            writeStr(out, ""); // an empty dependency does not end the list
            writeStr(out, null);
            out.write(e.hasData() ? 1 : 3); // data state: position not set (a pipe), or no data
            for (int i = 0; i < 8; i++) {
                out.write(0);
            }
        }
        out.writeBytes(blocks.toByteArray());
        return out.toByteArray();
    }

    private void writeInt(ByteArrayOutputStream out, long v) {
        out.write(v < 0 ? 1 : 0);
        long a = Math.abs(v);
        for (int i = 0; i < intSize; i++) {
            out.write((int) (a & 0xFF));
            a >>= 8;
        }
    }

    private void writeStr(ByteArrayOutputStream out, String s) {
        if (s == null) {
            writeInt(out, -1);
            return;
        }
        byte[] b = s.getBytes(StandardCharsets.UTF_8);
        writeInt(out, b.length);
        out.writeBytes(b);
    }
}
