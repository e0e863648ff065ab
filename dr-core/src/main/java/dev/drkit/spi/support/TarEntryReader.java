package dev.drkit.spi.support;

import dev.drkit.CorruptDataException;
import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import dev.drkit.UnsafeArchiveException;
import java.io.File;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveInputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;

/**
 * Reads a tar stream strictly, entry by entry, for both a restore and a decode-level verify:
 * every entry comes out with a safe relative name and a known kind, or the archive is refused.
 * The stream is walked to its very end: it must close with the end-of-archive blocks and
 * nothing but zero padding after them, so a truncated archive or one with bytes appended
 * fails here rather than restoring part of a tree.
 *
 * <p>Damaged structure throws {@link CorruptDataException}; names or entries that could reach
 * outside a destination throw {@link UnsafeArchiveException}; a failure of the underlying
 * stream (storage, checksum) is passed on as it was thrown. Not thread-safe.
 */
public final class TarEntryReader {
    /** Longest name a Linux path can have, in bytes. */
    static final int MAX_NAME_BYTES = 4095;
    /** Longest single path component, in bytes. */
    static final int MAX_COMPONENT_BYTES = 255;
    /**
     * The most header bytes (PAX records, GNU long names) one entry may take: commons-compress
     * holds them in memory, so a forged header must not be able to claim gigabytes.
     */
    static final long MAX_HEADER_BYTES = 1 << 20;

    private static final int RECORD = 512;

    /** What an entry is. */
    public enum Kind {
        FILE,
        DIRECTORY,
        SYMLINK,
        HARDLINK,
        DEVICE,
        FIFO;

        /** Whether a restore creates something for it (devices and FIFOs are skipped). */
        public boolean restored() {
            return this != DEVICE && this != FIFO;
        }
    }

    /**
     * One checked entry.
     *
     * @param name safe name relative to the destination, never empty
     * @param rawName the name as stored, for messages
     * @param mode permission bits with setuid and setgid removed
     * @param setIdStripped whether the archive asked for setuid or setgid
     * @param link for a symbolic link its target as stored; for a hard link the safe name of the file it joins
     */
    public record Entry(
            String name,
            String rawName,
            Kind kind,
            long size,
            int mode,
            boolean setIdStripped,
            FileTime mtime,
            int uid,
            int gid,
            String link) {}

    private final Source source;
    private final TarArchiveInputStream tar;
    private final String archive;
    private boolean started;
    private boolean ended;

    /**
     * @param in the raw tar stream; read to its end by the time {@link #next()} returns null
     * @param archive what the stream is, for messages (e.g. {@code files.tar of backup X})
     */
    public TarEntryReader(InputStream in, String archive) {
        this.source = new Source(in);
        this.tar = new TarArchiveInputStream(source, StandardCharsets.UTF_8.name());
        this.archive = archive;
    }

    /**
     * The next entry, checked, or null once the end-of-archive marker and the padding after it
     * have been read to the end of the stream. Data of the previous entry not read yet is skipped.
     */
    public Entry next() throws IOException {
        while (true) {
            if (ended) {
                return null;
            }
            if (started) {
                skipData();
            }
            started = true;
            // entry data ends unpadded; headers start on the next record
            source.watchFrom(roundUp(source.position));
            TarArchiveEntry e = parsing(tar::getNextEntry);
            if (e == null) {
                checkEnd();
                ended = true;
                return null;
            }
            source.watchFrom(Long.MAX_VALUE); // what follows is entry data
            Entry entry = check(e);
            if (entry != null) {
                return entry;
            }
        }
    }

    /** Reads the current entry's data; -1 at its end. */
    public int read(byte[] buffer) throws IOException {
        return read(buffer, 0, buffer.length);
    }

    /** Reads up to {@code length} bytes of the current entry's data into {@code buffer} at {@code offset}; -1 at its end. */
    public int read(byte[] buffer, int offset, int length) throws IOException {
        return parsing(() -> tar.read(buffer, offset, length));
    }

    private void skipData() throws IOException {
        byte[] buffer = new byte[64 * 1024];
        while (read(buffer) >= 0) {
            // the data is not wanted, but it must be read through to know where the next header starts
        }
    }

    private Entry check(TarArchiveEntry e) {
        String raw = e.getName();
        checkKeptHeaders(e, raw);
        String name = safeName(raw);
        Kind kind = kind(e, raw);
        if (name.isEmpty()) {
            if (kind == Kind.DIRECTORY) {
                return null; // "./": the destination itself
            }
            throw new UnsafeArchiveException(
                    "archive entry '" + printable(raw) + "' in " + archive + " has no name; refusing the archive");
        }
        if (kind != Kind.FILE && e.getSize() != 0) {
            throw new UnsafeArchiveException("archive entry '" + printable(raw) + "' in " + archive + " declares "
                    + e.getSize() + " bytes of data but is not a regular file; refusing the archive");
        }
        String link = null;
        if (kind == Kind.SYMLINK) {
            link = e.getLinkName();
            if (link == null || link.isEmpty() || link.indexOf('\0') >= 0) {
                throw new UnsafeArchiveException("symbolic link '" + printable(raw) + "' in " + archive
                        + " has an empty or malformed target; refusing the archive");
            }
            if (link.getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
                // no file system takes it: the restore would fail only after the rest was written
                throw new UnsafeArchiveException("symbolic link '" + printable(raw) + "' in " + archive
                        + " has a target longer than " + MAX_NAME_BYTES + " bytes; refusing the archive");
            }
        } else if (kind == Kind.HARDLINK) {
            link = safeName(e.getLinkName());
            if (link.isEmpty() || link.equals(name)) {
                throw new UnsafeArchiveException(
                        "hard link '" + printable(raw) + "' in " + archive + " names no file; refusing the archive");
            }
        }
        long uid = e.getLongUserId();
        long gid = e.getLongGroupId();
        if (uid < 0 || uid > Integer.MAX_VALUE || gid < 0 || gid > Integer.MAX_VALUE) {
            throw new UnsafeArchiveException("archive entry '" + printable(raw) + "' in " + archive
                    + " has an owner id out of range; refusing the archive");
        }
        int mode = e.getMode() & 07777;
        return new Entry(
                name,
                raw,
                kind,
                e.getSize(),
                mode & ~06000,
                (mode & 06000) != 0,
                e.getLastModifiedTime(),
                (int) uid,
                (int) gid,
                link);
    }

    /**
     * The parser keeps the records of global PAX headers for every later entry and adds each new
     * one to them, so headers each within {@link #MAX_HEADER_BYTES} could pile up without end:
     * the records an entry carries that are not its known fields are bounded as one header is.
     */
    private void checkKeptHeaders(TarArchiveEntry e, String raw) {
        long kept = 0;
        for (Map.Entry<String, String> h : e.getExtraPaxHeaders().entrySet()) {
            kept += h.getKey().length() + h.getValue().length();
        }
        if (kept > MAX_HEADER_BYTES) {
            throw new UnsafeArchiveException("archive entry '" + printable(raw) + "' in " + archive + " carries "
                    + "PAX header records of more than " + MAX_HEADER_BYTES + " bytes; refusing the archive");
        }
    }

    private Kind kind(TarArchiveEntry e, String raw) {
        if (e.isSparse()) {
            throw new UnsafeArchiveException("archive entry '" + printable(raw) + "' in " + archive
                    + " is a sparse file, which a restore does not handle; refusing the archive");
        }
        if (e.isDirectory()) {
            return Kind.DIRECTORY;
        }
        byte flag = e.getLinkFlag();
        switch (flag) {
            case TarConstants.LF_NORMAL, TarConstants.LF_OLDNORM, TarConstants.LF_CONTIG:
                return Kind.FILE;
            case TarConstants.LF_SYMLINK:
                return Kind.SYMLINK;
            case TarConstants.LF_LINK:
                return Kind.HARDLINK;
            case TarConstants.LF_CHR, TarConstants.LF_BLK:
                return Kind.DEVICE;
            case TarConstants.LF_FIFO:
                return Kind.FIFO;
            default:
                throw new UnsafeArchiveException("archive entry '" + printable(raw) + "' in " + archive
                        + " has the entry type '" + printable(String.valueOf((char) flag)) + "', which a restore "
                        + "does not handle; refusing the archive");
        }
    }

    /** After the last entry: one or two zero records, then only zeros up to the end of the stream. */
    private void checkEnd() throws IOException {
        long headerStart = source.watchedFrom;
        source.unlimited = true;
        parsing(() -> source.transferTo(OutputStream.nullOutputStream()));
        if (source.lastNonZero >= headerStart) {
            throw new CorruptDataException(archive + " has a damaged header or data after its end-of-archive "
                    + "marker (at byte " + headerStart + "); the backup is damaged or was tampered with, "
                    + "restore another backup");
        }
        if (source.position - headerStart < 2 * RECORD) {
            throw new CorruptDataException(archive + " ends without its end-of-archive marker after " + headerStart
                    + " bytes: it is truncated; restore another backup");
        }
    }

    /** The entry name relative to the destination, or an error when it would escape it. */
    static String safeName(String raw) {
        if (raw == null || raw.indexOf('\0') >= 0) {
            throw new UnsafeArchiveException("archive entry '" + printable(raw) + "' has a NUL character in its "
                    + "name; refusing the archive");
        }
        // a backslash is a character of a name where it is not the platform's separator (a Linux file
        // name may hold one), and a separator where it is, which '..' and absolute names are checked in
        String name = File.separatorChar == '\\' ? raw.replace('\\', '/') : raw;
        if (name.startsWith("/") || name.matches("^[A-Za-z]:.*")) {
            throw new UnsafeArchiveException("archive entry '" + printable(raw)
                    + "' has an absolute path; refusing to write outside the " + "destination");
        }
        List<String> parts = new ArrayList<>();
        for (String part : name.split("/")) {
            if (part.isEmpty() || part.equals(".")) {
                continue;
            }
            if (part.equals("..")) {
                throw new UnsafeArchiveException("archive entry '" + printable(raw)
                        + "' leaves its directory with '..'; " + "refusing to write outside the destination");
            }
            if (part.getBytes(StandardCharsets.UTF_8).length > MAX_COMPONENT_BYTES) {
                throw new UnsafeArchiveException("archive entry '" + printable(raw) + "' has a name component "
                        + "longer than " + MAX_COMPONENT_BYTES + " bytes; refusing the archive");
            }
            parts.add(part);
        }
        String safe = String.join("/", parts);
        if (!FileNames.canWrite(safe)) {
            throw new DrException(
                    ErrorCode.TARGET,
                    "archive entry '" + printable(raw) + "' cannot be written as a file name here: "
                            + FileNames.advice());
        }
        if (safe.getBytes(StandardCharsets.UTF_8).length > MAX_NAME_BYTES) {
            String start = printable(raw);
            throw new UnsafeArchiveException("archive entry '" + start.substring(0, Math.min(64, start.length()))
                    + "...' has a name "
                    + "longer than " + MAX_NAME_BYTES + " bytes; refusing the archive");
        }
        return safe;
    }

    /**
     * A name as it can go into a message: control characters (line breaks, terminal escapes),
     * Unicode's line and paragraph separators and format characters (bidirectional overrides)
     * shown as {@code ?}, at most 300 characters.
     */
    public static String printable(String raw) {
        if (raw == null) {
            return "";
        }
        StringBuilder b = new StringBuilder(Math.min(raw.length(), 300));
        raw.codePoints().limit(300).forEach(c -> b.appendCodePoint(unprintable(c) ? '?' : c));
        return b.toString();
    }

    private static boolean unprintable(int c) {
        int type = Character.getType(c);
        return Character.isISOControl(c)
                || type == Character.FORMAT
                || type == Character.LINE_SEPARATOR
                || type == Character.PARAGRAPH_SEPARATOR;
    }

    private static long roundUp(long n) {
        return (n + RECORD - 1) / RECORD * RECORD;
    }

    private interface IoCall<T> {
        T call() throws IOException;
    }

    /** Runs a tar-reading call: what the parser rejects is corrupt data; what the source threw stays itself. */
    private <T> T parsing(IoCall<T> call) throws IOException {
        try {
            return call.call();
        } catch (IOException e) {
            for (Throwable t = e; t != null; t = t.getCause()) {
                if (t == source.failure) {
                    throw e;
                }
            }
            throw new CorruptDataException(
                    archive + " is not a readable tar archive (" + e.getMessage()
                            + "); the backup is damaged or was tampered with, restore another backup",
                    e);
        }
    }

    /**
     * Counts what the parser takes from the stream. From {@link #watchFrom} on (the next header)
     * it remembers the last non-zero byte, to tell end-of-archive padding from anything else, and
     * it caps how much one header may take.
     */
    private final class Source extends FilterInputStream {
        long position;
        long watchedFrom;
        long lastNonZero = -1;
        boolean unlimited;
        IOException failure;

        Source(InputStream in) {
            super(in);
        }

        void watchFrom(long start) {
            watchedFrom = start;
            lastNonZero = -1;
        }

        @Override
        public int read() throws IOException {
            byte[] one = new byte[1];
            return read(one, 0, 1) < 0 ? -1 : one[0] & 0xff;
        }

        @Override
        public int read(byte[] b, int off, int len) throws IOException {
            int n;
            try {
                n = in.read(b, off, len);
            } catch (IOException e) {
                failure = e;
                throw e;
            }
            if (n > 0) {
                long end = position + n;
                if (end > watchedFrom) {
                    for (int i = n - 1; i >= 0 && position + i >= watchedFrom; i--) {
                        if (b[off + i] != 0) {
                            lastNonZero = Math.max(lastNonZero, position + i);
                            break;
                        }
                    }
                    if (!unlimited && end - watchedFrom > MAX_HEADER_BYTES) {
                        throw new UnsafeArchiveException(archive + " has an entry header of more than "
                                + MAX_HEADER_BYTES + " bytes (after byte " + watchedFrom + "); refusing the archive");
                    }
                }
                position = end;
            }
            return n;
        }

        @Override
        public long skip(long n) throws IOException {
            // read rather than skip so that every byte is counted and seen
            byte[] buffer = new byte[(int) Math.min(n, 8192)];
            long done = 0;
            while (done < n) {
                int r = read(buffer, 0, (int) Math.min(buffer.length, n - done));
                if (r < 0) {
                    break;
                }
                done += r;
            }
            return done;
        }

        @Override
        public boolean markSupported() {
            return false;
        }

        @Override
        public int available() {
            return 0;
        }
    }
}
