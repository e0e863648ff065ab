package dev.drkit.spi.support;

import dev.drkit.UnsafeArchiveException;
import dev.drkit.spi.support.TarEntryReader.Entry;
import dev.drkit.spi.support.TarEntryReader.Kind;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.HashSet;
import java.util.Objects;
import java.util.Set;

/**
 * A directory tree written only beneath its root, in the spirit of {@code openat2(RESOLVE_BENEATH)}
 * and Go's {@code os.Root}, which Java lacks: every component of a name is checked to be a real
 * directory (not a link) before the name is used, and attributes are set without following
 * links. Directories once seen stay directories (the extractor never removes or replaces one),
 * which lets the checks of one tree remember them. Without {@code openat} a check and the use
 * that follows are two system calls; the tree is a private (0700) staging directory, so only the
 * restoring user could race them. Not thread-safe.
 */
final class ContainedTree {
    private final Path root;
    private final Set<String> directories = new HashSet<>();

    ContainedTree(Path root) {
        this.root = root;
    }

    /** The directory the tree is written beneath. */
    Path root() {
        return root;
    }

    /** What stands at {@code name}, without following a link there: see {@link TarPlacement.Existing}. */
    Kind kind(String name) throws IOException {
        if (directories.contains(name)) {
            return Kind.DIRECTORY;
        }
        Kind k = lstat(name);
        if (k == Kind.DIRECTORY) {
            directories.add(name);
        }
        return k;
    }

    private Kind lstat(String name) throws IOException {
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(root.resolve(name), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return null;
        }
        return a.isSymbolicLink()
                ? Kind.SYMLINK
                : a.isDirectory() ? Kind.DIRECTORY : a.isRegularFile() ? Kind.FILE : Kind.DEVICE;
    }

    /**
     * The path of {@code name} once every directory above it is known to be a real directory
     * of this tree, making the missing ones.
     */
    Path parentsOf(String name) throws IOException {
        for (int i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
            requireDirectory(name.substring(0, i), name);
        }
        return root.resolve(name);
    }

    /** Makes the directory {@code name} unless it is there; returns its file key, to recognise it later. */
    Object directory(String name) throws IOException {
        parentsOf(name);
        requireDirectory(name, name);
        return Files.readAttributes(root.resolve(name), BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS)
                .fileKey();
    }

    private void requireDirectory(String dir, String entry) throws IOException {
        Kind k = kind(dir);
        if (k == null) {
            try {
                Files.createDirectory(root.resolve(dir));
            } catch (FileAlreadyExistsException raced) {
                // made meanwhile by another extractor into the same tree: checked below like any other
            }
            directories.remove(dir);
            k = kind(dir);
        }
        if (k != Kind.DIRECTORY) {
            throw new UnsafeArchiveException("archive entry '" + TarEntryReader.printable(entry) + "' would be "
                    + "written through '" + TarEntryReader.printable(dir) + "', which is not a directory; refusing "
                    + "to write outside the destination");
        }
    }

    /**
     * Applies a directory entry's deferred attributes, only if {@code name} is still, component by
     * component, the very directory made for it: a directory swapped for a link since is refused.
     */
    void applyToDirectory(String name, Object fileKey, Entry e, boolean owner) throws IOException {
        for (int i = name.indexOf('/'); i >= 0; i = name.indexOf('/', i + 1)) {
            if (lstat(name.substring(0, i)) != Kind.DIRECTORY) {
                throw replaced(e);
            }
        }
        Path p = root.resolve(name);
        BasicFileAttributes a;
        try {
            a = Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException gone) {
            throw replaced(e);
        }
        if (!a.isDirectory() || a.isSymbolicLink() || !Objects.equals(a.fileKey(), fileKey)) {
            throw replaced(e);
        }
        apply(p, e, owner, true);
    }

    private static UnsafeArchiveException replaced(Entry e) {
        return new UnsafeArchiveException("directory '" + TarEntryReader.printable(e.rawName()) + "' is no longer "
                + "the directory the restore made; refusing to apply its attributes to what replaced it");
    }

    /**
     * Sets owner (when {@code owner}), modification time and mode without following a link;
     * the mode last, so that a mode without read access cannot block the other two.
     */
    static void apply(Path p, Entry e, boolean owner, boolean mode) throws IOException {
        if (owner) {
            applyOwner(p, e);
        }
        // the access time given (now, as tar gives it): the JVM need not read the file's first
        Files.getFileAttributeView(p, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                .setTimes(e.mtime(), FileTime.from(Instant.now()), null);
        if (mode) {
            Files.setAttribute(p, "unix:mode", e.mode(), LinkOption.NOFOLLOW_LINKS);
        }
    }

    /** Sets the owner of {@code p} itself, a link included (lchown). */
    static void applyOwner(Path p, Entry e) throws IOException {
        Files.setAttribute(p, "unix:uid", e.uid(), LinkOption.NOFOLLOW_LINKS);
        Files.setAttribute(p, "unix:gid", e.gid(), LinkOption.NOFOLLOW_LINKS);
    }
}
