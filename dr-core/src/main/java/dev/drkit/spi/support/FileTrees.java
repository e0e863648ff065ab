package dev.drkit.spi.support;

import dev.drkit.DrException;
import dev.drkit.DrException.ErrorCode;
import java.io.IOException;
import java.nio.file.DirectoryStream;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SecureDirectoryStream;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributeView;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFileAttributeView;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Predicate;

/** Directory tree helpers. */
public final class FileTrees {
    private FileTrees() {}

    /**
     * Every path under {@code root} (itself included), sorted, so that a directory comes before
     * what it holds; symbolic links are listed, not followed. Unlike {@link Files#walk}, which
     * ends with an exception (or, caught, a listing cut short) at the first entry removed while
     * it runs, an entry that vanishes while it is listed is simply left out: trees that others
     * change (a running database's data directory, a repository that another process prunes)
     * are listed whole.
     *
     * @param descend whether to list what a directory below {@code root} holds (the directory
     *     itself is listed either way)
     * @throws NoSuchFileException if {@code root} itself does not exist
     * @throws IOException if a directory cannot be read for another reason
     */
    public static List<Path> list(Path root, Predicate<Path> descend) throws IOException {
        List<Path> paths = new ArrayList<>();
        Files.walkFileTree(root, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                paths.add(dir);
                return dir.equals(root) || descend.test(dir) ? FileVisitResult.CONTINUE : FileVisitResult.SKIP_SUBTREE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                paths.add(file);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException && !file.equals(root)) {
                    return FileVisitResult.CONTINUE; // removed while listed
                }
                throw e;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException e) throws IOException {
                if (e != null && !(e instanceof NoSuchFileException && !dir.equals(root))) {
                    throw e;
                }
                return FileVisitResult.CONTINUE;
            }
        });
        paths.sort(null);
        return paths;
    }

    /**
     * Deletes a file or directory tree without following symbolic links, including
     * directories whose permissions forbid writing. A missing path is not an error. Below
     * {@code root} each step is taken relative to a directory opened without following links
     * (see {@link #delete(SecureDirectoryStream, Path)}): a tree other users may write into (a
     * directory a restore replaces, a staging directory planted for the next restore to remove)
     * cannot have a directory swapped for a link and the delete sent through it.
     */
    public static void delete(Path root) {
        try {
            BasicFileAttributes a;
            try {
                a = Files.readAttributes(root, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS);
            } catch (NoSuchFileException gone) {
                return;
            }
            if (a.isDirectory()) {
                if (!"root".equals(System.getProperty("user.name"))) {
                    Files.getFileAttributeView(root, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                            .setPermissions(TarExtractor.permissions(0700));
                }
                // opened by its path, which needs no right to read its parent, then known by its
                // file key for the very directory just looked at, not one a link swapped in leads to
                try (SecureDirectoryStream<Path> in = secure(root)) {
                    Object key = in.getFileAttributeView(BasicFileAttributeView.class)
                            .readAttributes()
                            .fileKey();
                    if (!Objects.equals(key, a.fileKey())) {
                        throw new DrException(
                                ErrorCode.TARGET,
                                "could not remove " + root + ": it was replaced while it was being removed; check "
                                        + "who else writes there");
                    }
                    for (Path child : in) {
                        delete(in, child.getFileName());
                    }
                }
            }
            Files.deleteIfExists(root);
        } catch (IOException e) {
            throw new DrException(ErrorCode.TARGET, "could not remove " + root + ": " + StorageFailures.describe(e), e);
        }
    }

    /**
     * The directory {@code dir}, opened from its parent without following a link at its name,
     * for steps taken relative to it ({@code openat}, {@code renameat}, {@code unlinkat}).
     *
     * @throws IOException if it cannot be opened, or is not a directory
     */
    public static SecureDirectoryStream<Path> openSecure(Path dir) throws IOException {
        Path parent = dir.toAbsolutePath().getParent();
        if (parent == null) {
            return secure(dir); // the root: no link can stand for it
        }
        try (SecureDirectoryStream<Path> in = secure(parent)) {
            return in.newDirectoryStream(dir.getFileName(), LinkOption.NOFOLLOW_LINKS);
        }
    }

    /** {@code dir} opened by its path, for steps taken relative to it. */
    private static SecureDirectoryStream<Path> secure(Path dir) throws IOException {
        DirectoryStream<Path> opened = Files.newDirectoryStream(dir);
        if (opened instanceof SecureDirectoryStream<Path> secure) {
            return secure;
        }
        opened.close();
        throw new DrException(
                ErrorCode.TARGET,
                "cannot work in " + dir + " safely: this platform cannot open a directory without following links");
    }

    /** The attributes of {@code name} in {@code dir}, not following a link there; null when nothing is there. */
    public static BasicFileAttributes attributes(SecureDirectoryStream<Path> dir, Path name) throws IOException {
        try {
            return dir.getFileAttributeView(name, BasicFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .readAttributes();
        } catch (NoSuchFileException e) {
            return null;
        }
    }

    /**
     * Deletes {@code name} in {@code dir} and all it holds, each step relative to a directory
     * opened without following links: a link swapped in for one of its directories meanwhile is
     * deleted as a link, never followed. A missing name is not an error.
     */
    public static void delete(SecureDirectoryStream<Path> dir, Path name) throws IOException {
        BasicFileAttributes a = attributes(dir, name);
        if (a == null) {
            return;
        }
        if (!a.isDirectory()) {
            dir.deleteFile(name);
            return;
        }
        if (!"root".equals(System.getProperty("user.name"))) {
            // a read-only directory would block the delete
            dir.getFileAttributeView(name, PosixFileAttributeView.class, LinkOption.NOFOLLOW_LINKS)
                    .setPermissions(TarExtractor.permissions(0700));
        }
        try (SecureDirectoryStream<Path> sub = dir.newDirectoryStream(name, LinkOption.NOFOLLOW_LINKS)) {
            for (Path child : sub) {
                delete(sub, child.getFileName());
            }
        }
        dir.deleteDirectory(name);
    }
}
