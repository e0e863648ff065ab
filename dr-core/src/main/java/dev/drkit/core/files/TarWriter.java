package dev.drkit.core.files;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.List;
import java.util.Map;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Writes scanned items as a PAX tar stream. */
public final class TarWriter {
    private static final Logger LOG = LoggerFactory.getLogger(TarWriter.class);
    private static final int BUFFER = 256 * 1024;

    private TarWriter() {
    }

    /** A file system entry as scanned: its attributes are fixed at scan time. */
    public record Item(Path path, Kind kind, long size, int mode, FileTime mtime, int uid, int gid, Path linkTarget,
                       String name) {
        /** What an item is. */
        public enum Kind { DIRECTORY, FILE, SYMLINK }

        /** Scans {@code p}; its entry name is its absolute path without the leading slash. */
        public static Item of(Path p) throws IOException {
            return of(p, null);
        }

        /** Scans {@code p} under an entry name of its own (relative, e.g. {@code base/1/1259}). */
        public static Item of(Path p, String name) throws IOException {
            Map<String, Object> a = Files.readAttributes(p, "unix:mode,uid,gid,size,lastModifiedTime,isDirectory,"
                    + "isSymbolicLink", LinkOption.NOFOLLOW_LINKS);
            Kind kind = (Boolean) a.get("isSymbolicLink") ? Kind.SYMLINK
                    : (Boolean) a.get("isDirectory") ? Kind.DIRECTORY : Kind.FILE;
            return new Item(p, kind, kind == Kind.FILE ? (Long) a.get("size") : 0, (Integer) a.get("mode") & 07777,
                    (FileTime) a.get("lastModifiedTime"), (Integer) a.get("uid"), (Integer) a.get("gid"),
                    kind == Kind.SYMLINK ? Files.readSymbolicLink(p) : null, name);
        }

        String entryName() {
            String n = name != null ? name : path.toString().substring(1);
            return kind == Kind.DIRECTORY ? n + "/" : n;
        }
    }

    /** What was written. */
    public record Stats(long files, long directories, long symlinks, long bytes, long changed) {
    }

    /** Writes the items in order as one tar stream (the stream stays open). */
    public static Stats write(List<Item> items, OutputStream out) throws IOException {
        return write(items, out, null);
    }

    /**
     * Writes the items as one tar stream and tells {@code checksums} each file's CRC32C (hex,
     * of the bytes stored for it), as it is written.
     */
    public static Stats write(List<Item> items, OutputStream out, java.util.function.BiConsumer<Item, String> checksums)
            throws IOException {
        long files = 0;
        long dirs = 0;
        long links = 0;
        long bytes = 0;
        long changed = 0;
        byte[] buffer = new byte[BUFFER];
        // tar emits 10 KiB records; coalescing them into large writes cuts the per-call cost of
        // hashing and of the compressor's native calls on the hot path
        java.io.BufferedOutputStream coalesced = new java.io.BufferedOutputStream(out, 1 << 20);
        TarArchiveOutputStream tar = new TarArchiveOutputStream(coalesced);
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        tar.setAddPaxHeadersForNonAsciiNames(true);
        for (Item item : items) {
            TarArchiveEntry e;
            switch (item.kind()) {
                case DIRECTORY:
                    e = new TarArchiveEntry(item.entryName(), TarConstants.LF_DIR);
                    dirs++;
                    break;
                case SYMLINK:
                    e = new TarArchiveEntry(item.entryName(), TarConstants.LF_SYMLINK);
                    e.setLinkName(item.linkTarget().toString());
                    links++;
                    break;
                default:
                    e = new TarArchiveEntry(item.entryName(), TarConstants.LF_NORMAL);
                    e.setSize(item.size());
                    files++;
            }
            e.setMode(item.mode());
            e.setLastModifiedTime(item.mtime());
            e.setUserId(item.uid());
            e.setGroupId(item.gid());
            tar.putArchiveEntry(e);
            if (item.kind() == Item.Kind.FILE) {
                java.util.zip.CRC32C crc = checksums == null ? null : new java.util.zip.CRC32C();
                if (copyExactly(item, tar, buffer, crc)) {
                    changed++;
                }
                if (crc != null) {
                    checksums.accept(item, String.format("%08x", crc.getValue()));
                }
                bytes += item.size();
            }
            tar.closeArchiveEntry();
        }
        tar.finish();
        coalesced.flush();
        return new Stats(files, dirs, links, bytes, changed);
    }

    /**
     * Copies exactly the size recorded at scan time: a file that grew is cut there, one that
     * shrank or vanished is padded with zeros, so the archive stays well-formed.
     *
     * @return whether the file changed size during the backup
     */
    private static boolean copyExactly(Item item, OutputStream out, byte[] buffer, java.util.zip.CRC32C crc)
            throws IOException {
        long left = item.size();
        try (InputStream in = Files.newInputStream(item.path(), LinkOption.NOFOLLOW_LINKS)) {
            while (left > 0) {
                int n = in.read(buffer, 0, (int) Math.min(buffer.length, left));
                if (n < 0) {
                    break;
                }
                out.write(buffer, 0, n);
                if (crc != null) {
                    crc.update(buffer, 0, n);
                }
                left -= n;
            }
        } catch (NoSuchFileException e) {
            LOG.warn("{} vanished during the backup; stored as zeros", item.path());
        }
        if (left > 0) {
            LOG.warn("{} shrank during the backup; padded with {} zero bytes", item.path(), left);
            java.util.Arrays.fill(buffer, (byte) 0);
            while (left > 0) {
                int n = (int) Math.min(buffer.length, left);
                out.write(buffer, 0, n);
                if (crc != null) {
                    crc.update(buffer, 0, n);
                }
                left -= n;
            }
            return true;
        }
        try {
            return Files.size(item.path()) != item.size();
        } catch (NoSuchFileException e) {
            return true;
        }
    }
}
