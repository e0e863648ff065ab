package dev.drkit.spi.support;

import java.io.BufferedOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.channels.SeekableByteChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.NotDirectoryException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.zip.CRC32C;
import org.apache.commons.compress.archivers.tar.TarArchiveEntry;
import org.apache.commons.compress.archivers.tar.TarArchiveOutputStream;
import org.apache.commons.compress.archivers.tar.TarConstants;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** Writes scanned items as a PAX tar stream. */
public final class TarWriter {
    private static final Logger LOG = LoggerFactory.getLogger(TarWriter.class);
    private static final int BUFFER = 256 * 1024;

    private TarWriter() {}

    /** A file system entry as scanned: its attributes are fixed at scan time. */
    public record Item(
            Path path,
            Kind kind,
            long size,
            int mode,
            FileTime mtime,
            int uid,
            int gid,
            Path linkTarget,
            String name,
            Object fileKey) {
        /** An item whose identity (device and inode) is not known: it is not checked when copied. */
        public Item(
                Path path,
                Kind kind,
                long size,
                int mode,
                FileTime mtime,
                int uid,
                int gid,
                Path linkTarget,
                String name) {
            this(path, kind, size, mode, mtime, uid, gid, linkTarget, name, null);
        }

        /** What an item is. */
        public enum Kind {
            DIRECTORY,
            FILE,
            SYMLINK
        }

        /** Scans {@code p}; its entry name is its absolute path without the leading slash. */
        public static Item of(Path p) throws IOException {
            return of(p, null);
        }

        /** Scans {@code p} under an entry name of its own (relative, e.g. {@code base/1/1259}). */
        public static Item of(Path p, String name) throws IOException {
            Map<String, Object> a = Files.readAttributes(
                    p,
                    "unix:mode,uid,gid,size,lastModifiedTime,isDirectory,isSymbolicLink,fileKey",
                    LinkOption.NOFOLLOW_LINKS);
            Kind kind = (Boolean) a.get("isSymbolicLink")
                    ? Kind.SYMLINK
                    : (Boolean) a.get("isDirectory") ? Kind.DIRECTORY : Kind.FILE;
            return new Item(
                    p,
                    kind,
                    kind == Kind.FILE ? (Long) a.get("size") : 0,
                    (Integer) a.get("mode") & 07777,
                    (FileTime) a.get("lastModifiedTime"),
                    (Integer) a.get("uid"),
                    (Integer) a.get("gid"),
                    kind == Kind.SYMLINK ? Files.readSymbolicLink(p) : null,
                    name,
                    a.get("fileKey")); // device and inode
        }

        String entryName() {
            String n = name != null ? name : path.toString().substring(1);
            return kind == Kind.DIRECTORY ? n + "/" : n;
        }
    }

    /**
     * What was written.
     *
     * @param incompleteCount how many files changed or vanished while they were copied
     * @param incomplete the first {@link #MAX_NAMED_INCOMPLETE} of them, in the order written
     */
    public record Stats(
            long files,
            long directories,
            long symlinks,
            long bytes,
            long incompleteCount,
            List<Incomplete> incomplete) {}

    /**
     * A file whose stored bytes are not a consistent copy: it vanished (and is left out), shrank
     * (its stored bytes end in zeros up to the scanned size, as the tar header already declared
     * it), grew (only its first scanned-size bytes are stored), or changed while it was copied.
     *
     * @param path the file, as scanned
     * @param reason what happened, in words
     */
    public record Incomplete(Path path, String reason) {}

    /** At most this many incomplete files are named in {@link Stats}; the count covers them all. */
    public static final int MAX_NAMED_INCOMPLETE = 100;

    /** How a caller takes part in writing; every method has a default. */
    public interface Hooks {
        /** Hooks that change nothing. */
        Hooks NONE = new Hooks() {};

        /**
         * Runs just before a file is opened to be copied, after its type was checked again.
         * Tests change the file here to make a change during the backup deterministic.
         */
        default void beforeOpen(Item item) throws IOException {}

        /**
         * Runs just after a file was opened, before its identity is checked. Tests undo a change
         * made in {@link #beforeOpen} here, to show that what was opened is what is checked.
         */
        default void afterOpen(Item item) throws IOException {}

        /**
         * Sees the bytes stored for a file, in order, as they are copied (the zeros that stand
         * for the end of a file that shrank too), then {@link ContentObserver#end}; null (the
         * default) sees nothing. Called on the writing thread, once per file.
         */
        default ContentObserver observe(Item item) throws IOException {
            return null;
        }

        /** The error for a file that exists but cannot be read. */
        default RuntimeException unreadable(Item item, IOException e) {
            return SourceErrors.unreadable(item.path(), e, "check that the user running the backup may read it");
        }
    }

    /** Sees a file's stored bytes as {@link #write} copies them; see {@link Hooks#observe}. */
    public interface ContentObserver {
        /** The next {@code length} bytes of the file. */
        void update(byte[] bytes, int offset, int length) throws IOException;

        /** The file's bytes are all seen. */
        void end() throws IOException;
    }

    /** Writes the items in order as one tar stream (the stream stays open). */
    public static Stats write(List<Item> items, OutputStream out) throws IOException {
        return write(items, out, null, Hooks.NONE);
    }

    /**
     * Writes the items as one tar stream and tells {@code checksums} each file's CRC32C (hex,
     * of the bytes stored for it), as it is written.
     */
    public static Stats write(List<Item> items, OutputStream out, BiConsumer<Item, String> checksums)
            throws IOException {
        return write(items, out, checksums, Hooks.NONE);
    }

    /**
     * Writes the items as one tar stream (the stream stays open). A file that vanished since
     * the scan is left out; one that changed is stored as far as the scanned size allows; both
     * are reported in {@link Stats#incomplete()}, never failed on, since a live tree changes.
     *
     * @param checksums told each stored file's CRC32C (hex, of the bytes stored), or null
     * @throws RuntimeException from {@link Hooks#unreadable} when a file cannot be read
     * @throws IOException when writing to {@code out} fails
     */
    public static Stats write(List<Item> items, OutputStream out, BiConsumer<Item, String> checksums, Hooks hooks)
            throws IOException {
        try (Directories directories = new Directories()) {
            return write(items, out, checksums, hooks, directories);
        }
    }

    private static Stats write(
            List<Item> items,
            OutputStream out,
            BiConsumer<Item, String> checksums,
            Hooks hooks,
            Directories directories)
            throws IOException {
        IncompleteFiles incomplete = new IncompleteFiles();
        byte[] buffer = new byte[BUFFER];
        long files = 0;
        long dirs = 0;
        long links = 0;
        long bytes = 0;
        // tar emits 10 KiB records; coalescing them into large writes cuts the per-call cost of
        // hashing and of the compressor's native calls on the hot path
        BufferedOutputStream coalesced = new BufferedOutputStream(out, 1 << 20);
        TarArchiveOutputStream tar = new TarArchiveOutputStream(coalesced, StandardCharsets.UTF_8.name());
        tar.setLongFileMode(TarArchiveOutputStream.LONGFILE_POSIX);
        tar.setBigNumberMode(TarArchiveOutputStream.BIGNUMBER_POSIX);
        tar.setAddPaxHeadersForNonAsciiNames(true);
        for (Item item : items) {
            switch (item.kind()) {
                case DIRECTORY:
                    tar.putArchiveEntry(entry(item, TarConstants.LF_DIR));
                    directories.scanned(item);
                    dirs++;
                    break;
                case SYMLINK:
                    TarArchiveEntry link = entry(item, TarConstants.LF_SYMLINK);
                    link.setLinkName(item.linkTarget().toString());
                    tar.putArchiveEntry(link);
                    links++;
                    break;
                default:
                    InputStream in = open(item, hooks, incomplete, directories);
                    if (in == null) {
                        continue;
                    }
                    try (in) {
                        TarArchiveEntry e = entry(item, TarConstants.LF_NORMAL);
                        e.setSize(item.size());
                        tar.putArchiveEntry(e);
                        CRC32C crc = checksums == null ? null : new CRC32C();
                        ContentObserver observer = hooks.observe(item);
                        copy(item, in, tar, buffer, crc, observer, hooks, incomplete);
                        if (crc != null) {
                            checksums.accept(item, String.format("%08x", crc.getValue()));
                        }
                        if (observer != null) {
                            observer.end();
                        }
                    }
                    checkUnchanged(item, hooks, incomplete);
                    files++;
                    bytes += item.size();
            }
            tar.closeArchiveEntry();
        }
        tar.finish();
        coalesced.flush();
        return new Stats(files, dirs, links, bytes, incomplete.count, List.copyOf(incomplete.named));
    }

    private static TarArchiveEntry entry(Item item, byte type) {
        TarArchiveEntry e = new TarArchiveEntry(item.entryName(), type);
        e.setMode(item.mode());
        e.setLastModifiedTime(item.mtime());
        e.setUserId(item.uid());
        e.setGroupId(item.gid());
        return e;
    }

    /**
     * Opens a scanned file, or returns null when it vanished or is no longer a regular file.
     * The type is checked first because opening a FIFO put in its place would block for good.
     */
    private static InputStream open(Item item, Hooks hooks, IncompleteFiles incomplete, Directories directories) {
        try {
            BasicFileAttributes now;
            try {
                now = Files.readAttributes(item.path(), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException e) {
                incomplete.add(item, "vanished before it was copied; left out");
                return null;
            }
            if (!now.isRegularFile()) {
                incomplete.add(item, "is no longer a regular file; left out");
                return null;
            }
            hooks.beforeOpen(item);
            Parent parent = directories.parentOf(item);
            if (parent.replaced()) {
                incomplete.add(item, "was replaced, or a directory above it, after the scan; left out");
                return null;
            }
            SeekableByteChannel channel = openReleasingFifo(item.path(), parent.handle());
            hooks.afterOpen(item);
            try {
                channel.position(0); // a FIFO put in the file's place cannot seek: never read one
            } catch (IOException notAFile) {
                channel.close();
                incomplete.add(item, "is no longer a regular file; left out");
                return null;
            }
            if (!sameFile(item, parent.handle())) {
                channel.close();
                incomplete.add(item, "was replaced, or a directory above it, after the scan; left out");
                return null;
            }
            return Channels.newInputStream(channel);
        } catch (NoSuchFileException e) {
            incomplete.add(item, "vanished before it was copied; left out");
            return null;
        } catch (IOException e) {
            throw hooks.unreadable(item, e);
        }
    }

    /** Releases opens that a FIFO swapped in for a file holds: a read-write open of a FIFO never blocks on Linux. */
    private static final ScheduledExecutorService FIFO_RELEASE = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "drkit-fifo-release");
        t.setDaemon(true);
        return t;
    });

    /**
     * Opens {@code path} for reading without following a link there. Open blocks on a FIFO until
     * a writer comes; one swapped in after the type check would hold the backup for good, so a
     * FIFO still found there a moment later is opened for writing too, which lets the open end.
     */
    private static SeekableByteChannel openReleasingFifo(Path path, SecureDirectoryStream<Path> parent)
            throws IOException {
        ScheduledFuture<?> release = FIFO_RELEASE.scheduleWithFixedDelay(
                () -> {
                    try {
                        if (Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                                .isOther()) {
                            FileChannel.open(
                                            path,
                                            StandardOpenOption.READ,
                                            StandardOpenOption.WRITE,
                                            LinkOption.NOFOLLOW_LINKS)
                                    .close();
                        }
                    } catch (IOException | RuntimeException ignored) {
                        // gone or not ours to open: the open it was to release ends on its own
                    }
                },
                200,
                200,
                TimeUnit.MILLISECONDS);
        try {
            return parent != null
                    ? parent.newByteChannel(
                            path.getFileName(), Set.of(StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS))
                    : FileChannel.open(path, StandardOpenOption.READ, LinkOption.NOFOLLOW_LINKS);
        } finally {
            release.cancel(false);
        }
    }

    /**
     * Whether {@code item}'s name still names the very file scanned (device and inode). Opened
     * in its verified directory ({@code parent}), the file was that directory's own entry, not a
     * link, and is checked there: another file renamed into its place is told apart. Without
     * one (a file named on its own), a directory above it swapped for a link leads the open
     * elsewhere, with O_NOFOLLOW or not, and this check by path narrows that race to the moments
     * between the open and the check rather than closing it.
     */
    private static boolean sameFile(Item item, SecureDirectoryStream<Path> parent) throws IOException {
        if (item.fileKey() == null) {
            return true;
        }
        BasicFileAttributes now = parent != null
                ? parent.getFileAttributeView(
                                item.path().getFileName(), BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                        .readAttributes()
                : Files.readAttributes(item.path(), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        return item.fileKey().equals(now.fileKey());
    }

    /**
     * The directories of one write: each scanned directory's identity (device and inode), and an
     * open handle on the directory whose files are being copied, verified to be the one scanned.
     * Files are opened relative to that handle without following a link (openat with
     * O_NOFOLLOW), so a directory swapped for a link after the scan, at any moment, cannot lead
     * a read out of the tree: the handle was taken on the directory itself, or its identity
     * differs and its files are left out. One handle is open at a time.
     */
    private static final class Directories implements AutoCloseable {
        private final Map<Path, Object> scanned = new HashMap<>();
        private Path current;
        private Parent parent = Parent.NONE;

        void scanned(Item dir) {
            if (dir.fileKey() != null) {
                scanned.put(dir.path(), dir.fileKey());
            }
        }

        /**
         * {@code file}'s directory: a verified handle on it; {@link Parent#NONE} when that
         * directory was not scanned with its identity (a file named on its own) or the platform
         * has no such handles; {@link Parent#REPLACED} when it is not the directory scanned.
         */
        Parent parentOf(Item file) throws IOException {
            Path dir = file.path().getParent();
            Object key = dir == null ? null : scanned.get(dir);
            if (key == null) {
                return Parent.NONE;
            }
            if (!dir.equals(current)) {
                close();
                parent = open(dir, key);
                current = dir;
            }
            return parent;
        }

        private static Parent open(Path dir, Object key) throws IOException {
            DirectoryStream<Path> opened;
            try {
                opened = Files.newDirectoryStream(dir);
            } catch (NoSuchFileException | NotDirectoryException e) {
                return Parent.REPLACED;
            }
            if (!(opened instanceof SecureDirectoryStream<Path> secure)) {
                opened.close();
                return Parent.NONE;
            }
            boolean same = false;
            try {
                same = key.equals(secure.getFileAttributeView(BasicFileAttributeView.class)
                        .readAttributes()
                        .fileKey());
            } finally {
                if (!same) {
                    secure.close();
                }
            }
            return same ? new Parent(secure, false) : Parent.REPLACED;
        }

        @Override
        public void close() throws IOException {
            Parent p = parent;
            parent = Parent.NONE;
            current = null;
            if (p.handle() != null) {
                p.handle().close();
            }
        }
    }

    /** A file's directory as {@link Directories} found it: a handle, none, or replaced since the scan. */
    private record Parent(SecureDirectoryStream<Path> handle, boolean replaced) {
        static final Parent NONE = new Parent(null, false);
        static final Parent REPLACED = new Parent(null, true);
    }

    /**
     * Copies exactly the size recorded at scan time, since the header already declared it: a
     * file that grew is cut there, one that shrank is padded with zeros; either is reported.
     */
    private static void copy(
            Item item,
            InputStream in,
            OutputStream out,
            byte[] buffer,
            CRC32C crc,
            ContentObserver observer,
            Hooks hooks,
            IncompleteFiles incomplete)
            throws IOException {
        long left = item.size();
        while (left > 0) {
            int n = read(item, in, buffer, (int) Math.min(buffer.length, left), hooks);
            if (n < 0) {
                break;
            }
            out.write(buffer, 0, n);
            if (crc != null) {
                crc.update(buffer, 0, n);
            }
            if (observer != null) {
                observer.update(buffer, 0, n);
            }
            left -= n;
        }
        if (left > 0) {
            incomplete.add(
                    item,
                    "shrank while it was copied; its last " + left + " of " + item.size()
                            + " bytes are stored as zeros");
            Arrays.fill(buffer, (byte) 0);
            while (left > 0) {
                int n = (int) Math.min(buffer.length, left);
                out.write(buffer, 0, n);
                if (crc != null) {
                    crc.update(buffer, 0, n);
                }
                if (observer != null) {
                    observer.update(buffer, 0, n);
                }
                left -= n;
            }
        } else if (read(item, in, buffer, 1, hooks) > 0) {
            incomplete.add(item, "grew while it was copied; only its first " + item.size() + " bytes are stored");
        }
    }

    private static int read(Item item, InputStream in, byte[] buffer, int length, Hooks hooks) {
        try {
            return in.read(buffer, 0, length);
        } catch (IOException e) {
            throw hooks.unreadable(item, e);
        }
    }

    /** A file rewritten in place at the same size still shows in its modification time. */
    private static void checkUnchanged(Item item, Hooks hooks, IncompleteFiles incomplete) {
        if (incomplete.last == item) {
            return;
        }
        try {
            BasicFileAttributes now =
                    Files.readAttributes(item.path(), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            if (now.size() != item.size()
                    || !now.lastModifiedTime().equals(item.mtime())
                    || (item.fileKey() != null && !item.fileKey().equals(now.fileKey()))) {
                incomplete.add(item, "changed while it was copied (size or modification time)");
            }
        } catch (NoSuchFileException e) {
            incomplete.add(item, "vanished while it was copied");
        } catch (IOException e) {
            throw hooks.unreadable(item, e);
        }
    }

    /** Counts every incomplete file and names the first few, so that memory stays bounded. */
    private static final class IncompleteFiles {
        private final List<Incomplete> named = new ArrayList<>();
        private long count;
        private Item last;

        void add(Item item, String reason) {
            LOG.debug("{} {}", item.path(), reason);
            last = item;
            count++;
            if (named.size() < MAX_NAMED_INCOMPLETE) {
                named.add(new Incomplete(item.path(), reason));
            }
        }
    }
}
